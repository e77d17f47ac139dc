"""A ring buffer of stereo float32 frames between the producer and one consumer (thread-safe,
short critical sections: safe to read from an audio callback)."""

from __future__ import annotations

import threading

import numpy as np


class Ring:
    def __init__(self, capacity: int, channels: int = 2) -> None:
        self._buf = np.zeros((capacity, channels), np.float32)
        self._read = 0
        self._count = 0
        self._lock = threading.Lock()
        self.underruns = 0  # reads that found too little sound
        self.dropped = 0  # frames dropped because the consumer fell behind

    @property
    def capacity(self) -> int:
        return len(self._buf)

    @property
    def buffered(self) -> int:
        return self._count

    def write(self, frames: np.ndarray) -> None:
        n = len(frames)
        with self._lock:
            cap = len(self._buf)
            if n > cap:  # more than the ring holds: only the newest frames can stay
                self.dropped += n - cap
                frames, n = frames[-cap:], cap
            over = self._count + n - cap
            if over > 0:  # drop the oldest: the consumer is late
                self._read = (self._read + over) % cap
                self._count -= over
                self.dropped += over
            start = (self._read + self._count) % cap
            first = min(n, cap - start)
            self._buf[start : start + first] = frames[:first]
            self._buf[: n - first] = frames[first:]
            self._count += n

    def read_into(self, out: np.ndarray) -> int:
        """Fill ``out`` (frames × channels); missing frames become silence. Returns frames read."""
        n = len(out)
        with self._lock:
            cap = len(self._buf)
            got = min(n, self._count)
            first = min(got, cap - self._read)
            out[:first] = self._buf[self._read : self._read + first]
            out[first:got] = self._buf[: got - first]
            self._read = (self._read + got) % cap
            self._count -= got
            if got < n:
                self.underruns += 1
        out[got:] = 0.0
        return got

    def read(self, frames: int) -> np.ndarray:
        out = np.empty((frames, self._buf.shape[1]), np.float32)
        self.read_into(out)
        return out
