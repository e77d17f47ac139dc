"""The music as a WebRTC audio track: 20 ms stereo frames at 48 kHz from a broadcast queue."""

from __future__ import annotations

import asyncio
import fractions
import time

import av
import numpy as np
from aiortc.mediastreams import MediaStreamTrack

from appliance.audio.format import RATE
from appliance.audio.ring import Ring
from appliance.audio.sinks import Broadcast

FRAME = 960  # 20 ms
MAX_WAIT = 0.03  # seconds a frame may wait for the producer (a block up to 20 ms late is no gap)
MAX_QUEUED = 2 * FRAME  # more than this waiting (a late consumer) is dropped: latency stays low


class MusicTrack(MediaStreamTrack):
    kind = "audio"

    def __init__(self, broadcast: Broadcast) -> None:
        super().__init__()
        self.broadcast = broadcast
        self._ring: Ring | None = None  # listening starts with the first frame sent
        self._start: float | None = None
        self._pts = 0
        self.frames = 0

    async def recv(self) -> av.AudioFrame:
        if self.readyState != "live":
            raise ConnectionError("track ended")
        if self._start is None:
            self._start = time.monotonic()
            self._ring = self.broadcast.listen()
        else:
            wait = self._start + self._pts / RATE - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        ring = self._ring
        assert ring is not None
        waited = 0.0
        while ring.buffered < FRAME and waited < MAX_WAIT:  # the next block is due
            await asyncio.sleep(0.002)
            waited += 0.002
        excess = ring.buffered - MAX_QUEUED
        if excess > 0:
            ring.read(excess)
        block = ring.read(FRAME)
        pcm = (np.clip(block, -1.0, 1.0) * 32767.0).astype("<i2").reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout="stereo")
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, RATE)
        self._pts += FRAME
        self.frames += 1
        return frame

    @property
    def ring(self) -> Ring:
        """This phone's queue of the music (a phone that never connects never gets one, so
        the producer writes nothing for it)."""
        return self._ring if self._ring is not None else Ring(FRAME)

    @property
    def listening(self) -> bool:
        return self._ring is not None

    def stop(self) -> None:
        super().stop()
        if self._ring is not None:
            self.broadcast.leave(self._ring)
