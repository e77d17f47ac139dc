"""A simulated phone's camera: an aiortc video track that shows a loop of frames (a real face,
:mod:`export.face_samples`) at a steady rate, and switches to another loop on request — the
moment of a gesture. For the tests and benchmarks of the face path (only ever sent to a box on
loopback)."""

from __future__ import annotations

import asyncio
import fractions
import time

import av
import numpy as np
from aiortc.mediastreams import MediaStreamTrack

CLOCK = 90_000  # RTP video clock


class SimCamera(MediaStreamTrack):
    kind = "video"

    def __init__(self, frames: list[np.ndarray], fps: float = 30.0) -> None:
        super().__init__()
        self.fps = fps
        self._frames = frames
        self._index = 0
        self._start: float | None = None
        self._sent = 0
        self.shown_at = 0.0  # perf_counter time the current loop's first frame was sent
        self._switched = True

    def show(self, frames: list[np.ndarray]) -> None:
        """Show ``frames`` (RGB, looped) from the next frame on."""
        self._frames, self._index, self._switched = frames, 0, True

    async def recv(self) -> av.VideoFrame:
        if self._start is None:
            self._start = time.perf_counter()
        due = self._start + self._sent / self.fps
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        rgb = self._frames[self._index % len(self._frames)]
        self._index += 1
        if self._switched:
            self.shown_at, self._switched = time.perf_counter(), False
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = int(self._sent * CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, CLOCK)
        self._sent += 1
        return frame
