"""A simulated phone's microphone: an aiortc audio track that sends silence (a little noise)
until it is given speech to say, then the speech — 48 kHz mono, 20 ms a frame, in real time.
For the tests and benchmarks of the voice path (only ever sent to a box on loopback)."""

from __future__ import annotations

import asyncio
import fractions
import time
from collections import deque

import av
import numpy as np
from aiortc.mediastreams import MediaStreamTrack

RATE = 48_000
FRAME = 960  # samples per 20-ms frame


class SimMicrophone(MediaStreamTrack):
    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._queued: deque[tuple[np.ndarray, bool]] = deque()  # (frame, first of a speech)
        self._start: float | None = None
        self._sent = 0
        self._rng = np.random.default_rng(1)
        self.said_until = 0.0  # perf_counter time the last queued speech will have been sent
        self.speech_sent: list[float] = []  # perf_counter times each queued speech began

    def say(self, audio: np.ndarray, rate: int) -> float:
        """Queue ``audio`` (float32 mono in −1…1 at ``rate``) to be sent after what is queued;
        returns how many seconds from now its last sample will be sent."""
        from export.spoken import resampled

        speech = np.clip(resampled(audio, rate, RATE) * 32768.0, -32768, 32767).astype(np.int16)
        pad = (-len(speech)) % FRAME
        speech = np.concatenate([speech, np.zeros(pad, np.int16)])
        for i in range(0, len(speech), FRAME):
            self._queued.append((speech[i : i + FRAME], i == 0))
        seconds = len(self._queued) * FRAME / RATE
        self.said_until = time.perf_counter() + seconds
        return seconds

    @property
    def speaking(self) -> bool:
        return bool(self._queued)

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.perf_counter()
        due = self._start + self._sent / RATE
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        if self._queued:
            samples, first = self._queued.popleft()
            if first:
                self.speech_sent.append(time.perf_counter())
        else:
            samples = self._rng.normal(0, 20, FRAME).astype(np.int16)
        frame = av.AudioFrame(format="s16", layout="mono", samples=FRAME)
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate = RATE
        frame.pts = self._sent
        frame.time_base = fractions.Fraction(1, RATE)
        self._sent += FRAME
        return frame
