"""A hard ceiling on the output level: no sample leaves the producer above it (pure).

The room's facilitator sets it (:mod:`appliance.web.facilitator`); the engine's volume is held
under the same ceiling, so this only acts while a volume change fades down or a chord is louder
than the level it stands for. The gain drops at once when a block would go over and comes back
over ``release`` seconds; each block gets one gain, so no sample of it is over the ceiling.
"""

from __future__ import annotations

import numpy as np

from appliance.audio.loudness import volume_gain

SYNTH_PEAK = 0.891  # the synthesiser's limiter keeps peaks under −1 dBFS at 100 %


def ceiling_amplitude(percent: int) -> float | None:
    """The highest sample a volume ceiling of ``percent`` allows (None at 100 %: no ceiling)."""
    percent = max(0, min(int(percent), 100))
    return None if percent >= 100 else volume_gain(percent) * SYNTH_PEAK


class PeakCeiling:
    def __init__(self, rate: int, release: float = 0.3) -> None:
        self.rate = rate
        self.release = release
        self.level: float | None = None  # the highest sample allowed (None: no ceiling)
        self.gain = 1.0  # the gain applied to the last block
        self.peak = 0.0  # the loudest sample let through so far

    def set(self, level: float | None) -> None:
        self.level = None if level is None else max(0.0, float(level))

    def apply(self, audio: np.ndarray) -> np.ndarray:
        """``audio`` (frames × channels, float32) scaled in place so that no sample is above
        the ceiling."""
        if self.level is None and self.gain >= 1.0:
            return audio
        peak = float(np.abs(audio).max()) if audio.size else 0.0
        allowed = 1.0
        if self.level is not None and peak > self.level:
            allowed = self.level / peak
        step = len(audio) / max(self.release * self.rate, 1.0)
        self.gain = min(allowed, self.gain + step, 1.0)
        if self.gain < 1.0:
            audio *= np.float32(self.gain)
        self.peak = max(self.peak, peak * self.gain)
        return audio
