"""The box's eyes: phones' camera frames while their button is held → directions and "seen".

The hub hands each held phone's newest video frame to its :class:`Watch` (:meth:`Watch.offer`,
from the event loop; it only swaps a reference — stale frames are dropped, never queued). One
thread of its own analyses each watched phone at a steady ``FPS`` at most, as soon as a frame is
due (no waiting for a tick): the newest frame not yet analysed is scaled down (at most
``WIDTH`` pixels wide), sent to the face-reading worker
(:class:`~appliance.vision.landmarks.FaceWorker`; a frame it cannot answer in time is
skipped; while the worker is restarting, the phone is told so in plain words, and again once
faces are read again), the largest face is read (:mod:`features`) and the phone's
:class:`~appliance.vision.face_reader.FaceReader` decides. Its decisions go to the conductor
as ``Direct`` commands from that phone; what it sees goes to that phone as ``Seen`` (at most
``SEEN_EVERY`` apart, and at once when it changes). When a frame starts a change (an expression
over its threshold, not yet confirmed: :attr:`FaceReader.pending`), the camera's next frame is
analysed at once instead of at the steady rate, so that a confirmed gesture costs one camera
frame, not one analysis period, while a one-frame flicker still changes nothing. Nothing waits
on this thread: the music never does.

Each analysed face is kept as numbers only (blendshapes and pose, never an image) in
:attr:`Eyes.readings`, a bounded log the memory takes from. :meth:`Eyes.like_this` gives the
face's mixture for "play it like this" said while the button was held.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from appliance.events import Direct, Event, Seen
from appliance.vision.face_reader import ALLEGRO_EFFECT, Decision, FaceReader
from appliance.vision.features import Reading, largest, reading
from appliance.vision.landmarks import FaceWorker

log = logging.getLogger(__name__)

FPS = 15.0
# A frame is read when it came at least this share of the period after the last one read: with
# a 30-fps camera every other frame (15 a second), each as soon as it arrives.
STEADY = 0.8
WIDTH = 320
SEEN_EVERY = 0.25  # seconds between "seen" events to a phone, unless what it says changes
LIKE_THIS_FOR = 6.0  # seconds after the face last showed an expression, "like this" takes it
# what the phone's "what the box sees" panel says while the face reader is restarting, and after
PAUSED = "faces are not read for a moment: the face reader is starting again"
RESUMED = "faces are read again"
RESUMED_FOR = 1.0  # seconds the panel says so before it shows the readings again
KEEP_READINGS = 10_000  # analysed faces kept in memory (11 minutes of holding at 15 fps; ~5 MB)
MAX_PHONES = 16  # per-phone calibrations kept

Act = Callable[[Event, str, str | None], str | None]  # the conductor's submit
Tell = Callable[[Event], None]


MAX_INPUT_PIXELS = 1920 * 1080  # larger frames are not read (a phone sends 640 × 480)


def as_rgb(frame: Any, width: int = WIDTH) -> np.ndarray:
    """An RGB uint8 array of ``frame`` (an ``av.VideoFrame`` or an H×W×3 array), at most
    ``width`` pixels wide (even sizes)."""
    if isinstance(frame, np.ndarray):
        h, w = frame.shape[:2]
        if w > width:
            step = int(np.ceil(w / width))
            frame = frame[::step, ::step]
        return np.ascontiguousarray(frame[..., :3], np.uint8)
    w, h = int(frame.width), int(frame.height)
    scale = min(1.0, width / max(w, 1))
    size = (max(2, int(w * scale) // 2 * 2), max(2, int(h * scale) // 2 * 2))
    rgb: np.ndarray = frame.reformat(width=size[0], height=size[1], format="rgb24").to_ndarray()
    return rgb


@dataclass
class Watch:
    """One phone's hold: the newest frame waiting, and whom to tell."""

    who: str
    source: str
    tell: Tell
    person: str = ""  # whose calibration
    mirrored: bool = False
    wake: threading.Event = field(default_factory=threading.Event, repr=False)
    frame: Any = None
    last_analysed: float = -1e9  # the arrival time of the last frame read
    arrived: float = 0.0
    frames: int = 0  # offered
    analysed: int = 0
    closed: bool = False
    paused: bool = False  # told that faces are not read (the worker is restarting)
    resumed_at: float = -1e9  # when faces were read again after a pause
    _last_seen: tuple[Seen, float] | None = field(default=None, repr=False)

    def offer(self, frame: Any) -> None:
        """The newest frame (any thread); the one before, if not analysed yet, is dropped."""
        self.frame, self.arrived = frame, time.monotonic()
        self.frames += 1
        self.wake.set()

    def release(self) -> None:
        self.closed = True
        self.wake.set()


@dataclass(frozen=True)
class Kept:
    """One analysed face, for the memory: who, and the reading (numbers only;
    ``reading.record()`` gives them as plain JSON)."""

    who: str
    reading: Reading


class Eyes:
    def __init__(
        self,
        worker: FaceWorker,
        act: Act,
        tempo: Callable[[], float],
        fps: float = FPS,
        allegro_effect: float = ALLEGRO_EFFECT,
        on_decision: Callable[[str, Decision, float], None] | None = None,
    ) -> None:
        self.worker = worker
        self.act = act
        self.tempo = tempo  # the music's tempo now (Position.tempo_bpm; 0 unknown)
        self.allegro_effect = allegro_effect  # the steering vectors' measured figure
        self.period = 1.0 / fps
        self.on_decision = on_decision  # (who, decision, frame arrival time): for benchmarks
        self.readings: deque[Kept] = deque(maxlen=KEEP_READINGS)
        # told each face as it is read (who, reading): the box's memory; must not wait
        self.on_reading: Callable[[str, Reading], None] | None = None
        self._watches: list[Watch] = []
        self._readers: dict[str, FaceReader] = {}
        # per phone: the face's last mixture, when it was last shown, whether it was applied
        self._expressed: dict[str, tuple[tuple[tuple[str, float], ...], float, bool]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()  # a frame arrived, or a hold ended
        self._thread: threading.Thread | None = None
        self.skipped = 0  # frames the worker could not answer in time
        self.timings: deque[float] = deque(maxlen=1000)  # s from a frame's arrival to its decision

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="eyes", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def watch(
        self, who: str, source: str, tell: Tell, person: str = "", mirrored: bool = False
    ) -> Watch:
        """A phone pressed its button: read its face until :meth:`Watch.release`. ``person``:
        whose neutral face the calibration keeps (the phone's pairing, so that it survives a
        reconnection; default: ``source``)."""
        watch = Watch(who, source, tell, person or source, mirrored, self._wake)
        with self._lock:
            self._watches = [w for w in self._watches if w.source != source] + [watch]
            reader = self._readers.pop(watch.person, None) or FaceReader(self.allegro_effect)
            self._readers[watch.person] = reader  # the most recent last
            while len(self._readers) > MAX_PHONES:
                self._readers.pop(next(iter(self._readers)))
        reader.begin(time.monotonic())
        return watch

    def like_this(self, source: str | None) -> tuple[tuple[tuple[str, float], ...], bool] | None:
        """The directions the face of ``source``'s user showed last, if lately, and whether the
        face has applied them itself already; else None."""
        if source is None:
            return None
        with self._lock:
            got = self._expressed.get(source)
        if got is None or time.monotonic() - got[1] > LIKE_THIS_FOR:
            return None
        return got[0], got[2]

    # -- the thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            with self._lock:
                watches = list(self._watches)
            soonest = 0.5  # seconds to sleep when nothing is due
            for watch in watches:
                if self._stop.is_set():
                    break
                due = self._due(watch)
                if due > 0:
                    soonest = min(soonest, due)
                    continue
                try:
                    self._look(watch)
                except Exception:  # one bad frame or phone never stops the others
                    log.exception("reading %s's face failed", watch.who)
                if watch.frame is not None:
                    soonest = min(soonest, self._due(watch))
            if soonest > 0:
                self._wake.wait(soonest)

    def _due(self, watch: Watch) -> float:
        """Seconds until ``watch`` should be looked at (0: now)."""
        if watch.closed:
            return 0.0
        if watch.frame is None:
            return 1.0
        reader = self._readers.get(watch.person)
        if reader is not None and reader.pending:
            return 0.0  # confirm a change on the very next frame
        if watch.arrived - watch.last_analysed >= STEADY * self.period:
            return 0.0  # a frame that has just come: read it now, not after it has aged
        return 1.0  # wait for the next frame (its arrival wakes the thread)

    def _look(self, watch: Watch) -> None:
        reader = self._readers.get(watch.person)
        if watch.closed or reader is None:
            self._finish(watch, reader)
            return
        frame, arrived = watch.frame, watch.arrived
        if frame is None:
            return
        watch.frame = None
        watch.last_analysed = arrived
        if _pixels(frame) > MAX_INPUT_PIXELS:
            self.skipped += 1  # not worth the box's time to scale down
            return
        rgb = as_rgb(frame)
        faces = self.worker.faces(watch.source, rgb, int(arrived * 1000))
        if faces is None:
            self.skipped += 1
            if not self.worker.ready:  # the worker died or hangs: say so, not nothing
                watch.paused = True
                self._show(watch, Seen(expression="paused", words=PAUSED))
            return
        if watch.paused:
            watch.paused, watch.resumed_at = False, time.monotonic()
        watch.analysed += 1
        chosen = largest(faces)
        face = reading(chosen, arrived, watch.mirrored) if chosen is not None else None
        if face is not None:
            self.readings.append(Kept(watch.who, face))
            if self.on_reading is not None:
                self.on_reading(watch.who, face)
        seen, decisions = reader.add(arrived, face, self.tempo())
        self.timings.append(time.monotonic() - arrived)
        applied = False
        for decision in decisions:
            if self.on_decision is not None:
                self.on_decision(watch.who, decision, arrived)
            for directions in _one_per_undo(decision.directions):
                refusal = self.act(Direct(decision.words, "", directions), watch.who, watch.source)
                if refusal is not None:
                    log.info("%s's face: %s", watch.who, refusal)
                    reader.refused()
                applied = applied or (refusal is None and decision.mixture)
        if reader.active:
            with self._lock:
                now = time.monotonic()
                for key in [k for k, v in self._expressed.items() if now - v[1] > LIKE_THIS_FOR]:
                    del self._expressed[key]  # (one entry per connection: keep only recent ones)
                before = self._expressed.get(watch.source)
                kept = before is not None and before[0] == reader.last_mixture and before[2]
                self._expressed[watch.source] = (
                    reader.last_mixture,
                    time.monotonic(),
                    bool(applied or kept),
                )
        if time.monotonic() - watch.resumed_at < RESUMED_FOR:  # said for a second, read twice
            seen = Seen(expression="resumed", levels=seen.levels, words=RESUMED)
        self._show(watch, seen)

    def _show(self, watch: Watch, seen: Seen) -> None:
        now = time.monotonic()
        last = watch._last_seen
        changed = last is None or (last[0].words, last[0].gesture) != (seen.words, seen.gesture)
        if changed or now - last[1] >= SEEN_EVERY:  # type: ignore[index]
            watch._last_seen = (seen, now)
            watch.tell(seen)

    def _finish(self, watch: Watch, reader: FaceReader | None) -> None:
        with self._lock:
            if watch in self._watches:
                self._watches.remove(watch)
            # a newer hold of the same person or connection (pressed again, reconnected) goes on
            same_person = any(w.person == watch.person for w in self._watches)
            same_source = any(w.source == watch.source for w in self._watches)
        if reader is not None and not same_person:
            reader.end()
        if not same_source:
            with contextlib.suppress(Exception):
                self.worker.forget(watch.source)


def _pixels(frame: Any) -> int:
    if isinstance(frame, np.ndarray):
        return int(frame.shape[0] * frame.shape[1])
    return int(getattr(frame, "width", 0)) * int(getattr(frame, "height", 0))


def _one_per_undo(directions: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Undo ends one direction per command: several undos are several commands."""
    if directions and all(d == "undo" for d in directions):
        return [("undo",)] * len(directions)
    return [directions]
