"""Changing the model while the music plays: the box follows ``appliance model use``.

``appliance model use VERSION`` (or ``rollback``, or a fine-tune that finishes) only writes
which version should play (:mod:`appliance.render.versions`). The running box looks at that
choice every couple of seconds on a thread of its own; when it changes, the new version is
checked and loaded there — off the audio path, while the old model plays on — and then handed
to the engine, which plays on with it from the next notes without a gap
(:meth:`~appliance.perform.engine.Engine.use_renderer`). A version that cannot be used is
reported once and the music goes on with the model it had.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from appliance.directions.steer import SteeringVectors
from appliance.errors import ApplianceError
from appliance.events import Event, Notice, Problem
from appliance.perform.engine import Engine
from appliance.render.base import Renderer
from appliance.render.registry import neural_renderer, steering_file
from appliance.render.versions import ModelVersion, ModelVersions

log = logging.getLogger(__name__)

EVERY = 2.0  # seconds between looks at the chosen version


class ModelWatch:
    def __init__(
        self,
        engine: Engine,
        versions: ModelVersions,
        playing: str,
        publish: Callable[[Event], None] | None = None,
        load: Callable[[ModelVersion], Renderer] = neural_renderer,
        on_switch: Callable[[str], None] | None = None,
    ) -> None:
        self.engine = engine
        self.versions = versions
        self.playing = playing  # the version the engine plays now
        self.publish = publish or (lambda event: None)
        self.load = load
        self.on_switch = on_switch  # told the version now playing (the box's memory)
        self._refused = ""  # a version that could not be used (said once)
        self._refused_on: tuple[str, str] | None = None  # (version, piece) it could not play
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="model-watch", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def _run(self) -> None:
        while not self._stop.wait(EVERY):
            try:
                self.check()
            except Exception:  # never the end of the box: the next look tries again
                log.exception("looking for another model version failed")

    def _piece(self) -> str:
        current = self.engine.current
        return current.piece.id if current is not None else ""

    def check(self) -> bool:
        """Switch to the chosen version if it is not the one playing; True if it switched."""
        chosen = self.versions.active_name()
        if chosen in (self.playing, self._refused) or (chosen, self._piece()) == self._refused_on:
            return False  # (a version that could not play one piece is tried on the next)
        try:
            version = self.versions.get(chosen)
            self.versions.verify(version)
            renderer = self.load(version)
            vectors = None
            if renderer.steerable:
                vectors = SteeringVectors.load(steering_file(version))
        except ApplianceError as exc:
            self._refused = chosen
            self.publish(Problem(f"model version {chosen} cannot be used: {exc}"))
            return False
        try:
            self.engine.use_renderer(renderer, vectors)
        except Exception as exc:  # it cannot play this music: the old model plays on
            log.exception("model version %s failed on the music playing", chosen)
            self._refused_on = (chosen, self._piece())
            self.publish(Problem(f"model version {chosen} cannot play this music: {exc}"))
            return False
        self.playing, self._refused, self._refused_on = version.version, "", None
        if self.on_switch is not None:
            self.on_switch(version.version)
        self.publish(Notice(f"now playing with model version {version.version}", kind="model"))
        return True
