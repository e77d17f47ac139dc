"""The render-ahead thread: keeps the engine's music rendered a little ahead of the clock.

A failing renderer never stops the music already scheduled: the failure is logged and reported
less and less often (:class:`~appliance.backoff.Quieter`) and retried with back-off.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from appliance.backoff import Quieter, retry_delay
from appliance.events import Event, Problem

log = logging.getLogger(__name__)

IDLE = 0.01  # seconds between looks when nothing needed rendering


class RenderAhead:
    def __init__(self, step: Callable[[], bool], publish: Callable[[Event], None]) -> None:
        self.step = step  # renders one chunk if one is needed; True if it did
        self.publish = publish
        self._running = False
        self._thread: threading.Thread | None = None
        self._quieter = Quieter()

    def start(self) -> None:
        if self._running:
            return
        self._running = True
        self._thread = threading.Thread(target=self._loop, name="render-ahead", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def _loop(self) -> None:
        failures = 0
        while self._running:
            try:
                busy = self.step()
            except Exception:  # keep the music going; report (less and less often) and retry
                failures += 1
                if self._quieter.should_say("render"):
                    log.exception("render-ahead failed (%d times in a row)", failures)
                    self.publish(Problem("the renderer failed; retrying"))
                time.sleep(retry_delay(failures))
                continue
            if failures:
                failures = 0
                self._quieter.over("render")
            if not busy:
                time.sleep(IDLE)
