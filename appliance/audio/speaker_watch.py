"""Getting the speakers back: when the producer lets a stalled speaker go, say so, and try to
open the sound device again every few seconds until it plays; then give it back to the producer.
A box that found no speakers when it started looks for them the same way (:meth:`look_for`):
speakers plugged in later play without a restart.

The producer tells us from its own thread (``Producer.on_stall``), so nothing here may block it:
the dead stream is closed, and the device reopened, on threads of their own.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from appliance.audio.producer import STALL, START_GRACE, TARGET_BUFFER, Producer
from appliance.audio.sinks import AudioSink
from appliance.events import Event, Notice, Problem

log = logging.getLogger(__name__)

RETRY = 3.0  # seconds between the first tries to open the sound device again
RETRY_MOST = 15.0  # ... then ever less often, down to this (a device that is simply not there)

LOST = "the speakers stopped responding; the music goes on to the phones; trying to reopen them"
MISSING = "no speakers yet: the music goes to the phones; the box plays on them once plugged in"
BACK = "the speakers are playing again"


class SpeakerWatch:
    def __init__(
        self,
        producer: Producer,
        reopen: Callable[[], AudioSink],
        publish: Callable[[Event], None] | None = None,
        retry: float = RETRY,
        on_back: Callable[[AudioSink], None] | None = None,
    ) -> None:
        self.producer = producer
        self.reopen = reopen
        self.publish = publish
        self.retry = retry
        self.on_back = on_back
        self.lost = 0  # times the speakers were let go
        self.back = 0  # times they were opened again
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        producer.on_stall = self._stalled

    @property
    def reopening(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _say(self, event: Event) -> None:
        if self.publish is not None:
            try:
                self.publish(event)
            except Exception:
                log.exception("could not publish %s", event)

    def _stalled(self, sink: AudioSink) -> None:
        self.lost += 1
        log.warning(LOST)
        self._say(Problem(LOST))
        # closing a dead stream can hang in the sound library: never on anyone's thread
        threading.Thread(target=_close, args=(sink,), name="speaker-close", daemon=True).start()
        self._keep_trying()

    def look_for(self) -> None:
        """The speakers could not be opened when the box started: say so, and keep trying."""
        log.warning(MISSING)
        self._say(Notice(MISSING))
        self._keep_trying()

    def _keep_trying(self) -> None:
        if not self.reopening and not self._stop.is_set():
            self._thread = threading.Thread(target=self._reopen, name="speaker-reopen", daemon=True)
            self._thread.start()

    def _reopen(self) -> None:
        wait, tries = self.retry, 0
        while not self._stop.wait(wait):
            wait = min(wait * 1.5, max(self.retry, RETRY_MOST))
            tries += 1
            try:
                sink = self.reopen()
            except Exception as exc:  # ApplianceError mostly: not there yet
                if tries == 1:
                    log.info("the speakers cannot be opened yet: %s", exc)
                continue
            if self._stop.is_set() or not _plays(sink):  # opened, but takes no sound
                threading.Thread(target=_close, args=(sink,), daemon=True).start()
                if self._stop.is_set():
                    return
                continue
            self.back += 1
            self.producer.attach(sink)
            if self.on_back is not None:
                self.on_back(sink)
            log.warning(BACK)
            self._say(Notice(BACK))
            return

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)


def _plays(sink: AudioSink, within: float = START_GRACE, steady: float = 0.5) -> bool:
    """Whether a sink just opened takes sound steadily (a device can open and be dead, and a
    stream just started may pause before it plays): kept topped up with silence until it has
    drained for ``steady`` seconds without a stall, for at most ``within`` seconds."""
    silence = np.zeros((TARGET_BUFFER // 4, 2), np.float32)
    start = time.monotonic()
    steady_since: float | None = None
    moved = start
    last = sink.buffered()
    while (now := time.monotonic()) - start < within:
        if (queued := sink.buffered()) < TARGET_BUFFER:
            sink.write(silence)
        if queued < last:
            moved = now
            steady_since = steady_since if steady_since is not None else now
        elif now - moved > STALL / 4:
            steady_since = None
        if steady_since is not None and now - steady_since >= steady:
            return True
        last = sink.buffered()
        time.sleep(0.001)
    return False


def _close(sink: AudioSink) -> None:
    with contextlib.suppress(Exception):  # gone with the device
        sink.close()
