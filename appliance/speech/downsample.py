"""A phone's microphone (48 kHz, interleaved int16, stereo or mono) → 16 kHz mono float32.

Speech recognition and voice activity both want 16 kHz. The frames arrive 20 ms at a time, so
the low-pass filter keeps its state from one frame to the next (no clicks at frame edges) and
the decimation keeps its phase.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import firwin, lfilter

SPEECH_RATE = 16_000
TAPS = 63


class Downsampler:
    def __init__(self, rate: int) -> None:
        if rate % SPEECH_RATE:
            raise ValueError(f"cannot take {rate} Hz audio to {SPEECH_RATE} Hz (not a multiple)")
        self.rate = rate
        self.step = rate // SPEECH_RATE
        self._taps = firwin(TAPS, 0.9 * SPEECH_RATE / 2, fs=rate) if self.step > 1 else np.ones(1)
        self._state = np.zeros(len(self._taps) - 1)
        self._phase = 0  # samples to skip before the next kept one

    def __call__(self, samples: np.ndarray, channels: int = 1) -> np.ndarray:
        """16 kHz mono float32 in [-1, 1] from ``samples`` (int16, interleaved ``channels``)."""
        pcm = np.asarray(samples).reshape(-1)
        if channels > 1:
            pcm = pcm[: len(pcm) - len(pcm) % channels].reshape(-1, channels).mean(axis=1)
        x = pcm.astype(np.float64) / 32768.0
        if self.step == 1:
            return x.astype(np.float32)
        y, self._state = lfilter(self._taps, 1.0, x, zi=self._state)
        kept = y[self._phase :: self.step]
        self._phase = (self._phase - len(x)) % self.step
        return kept.astype(np.float32)
