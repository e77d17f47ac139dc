"""How loud a recording is: integrated loudness (ITU-R BS.1770 / EBU R128, in LUFS) and peak.

Pure numpy/scipy over (frames, channels) float arrays at 48 kHz: K-weighting (a high shelf and
a high-pass), mean square per 400 ms block (75 % overlap), the absolute gate at −70 LUFS and the
relative gate 10 LU below the ungated mean. Used to set the synthesiser's output level
(:mod:`appliance.audio.synth`) and, in the tests and benchmarks, to check it.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from appliance.audio.format import RATE

# BS.1770's two K-weighting stages, as specified for 48 kHz.
_SHELF_B = (1.53512485958697, -2.69169618940638, 1.19839281085285)
_SHELF_A = (1.0, -1.69065929318241, 0.73248077421585)
_HIGHPASS_B = (1.0, -2.0, 1.0)
_HIGHPASS_A = (1.0, -1.99004745483398, 0.99007225036621)
BLOCK = 0.4  # seconds
STEP = 0.1  # seconds (75 % overlap)
ABSOLUTE_GATE = -70.0
RELATIVE_GATE = -10.0


def _block_loudness(mean_square: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return -0.691 + 10.0 * np.log10(np.maximum(mean_square, 1e-20))


def integrated_lufs(audio: np.ndarray, rate: int = RATE) -> float:
    """Integrated loudness of (frames, channels) audio in LUFS (−inf for silence)."""
    if rate != RATE:
        raise ValueError("loudness is measured at 48 kHz")
    x = np.asarray(audio, np.float64)
    if x.ndim == 1:
        x = x[:, None]
    weighted = lfilter(_HIGHPASS_B, _HIGHPASS_A, lfilter(_SHELF_B, _SHELF_A, x, axis=0), axis=0)
    size, step = int(BLOCK * rate), int(STEP * rate)
    if len(weighted) < size:
        return float("-inf")
    squares = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(weighted**2, axis=0)])
    starts = np.arange(0, len(weighted) - size + 1, step)
    per_channel = (squares[starts + size] - squares[starts]) / size  # (blocks, channels)
    power = per_channel.sum(axis=1)
    loud = power[_block_loudness(power) > ABSOLUTE_GATE]
    if len(loud) == 0:
        return float("-inf")
    relative = _block_loudness(np.array([loud.mean()]))[0] + RELATIVE_GATE
    gated = loud[_block_loudness(loud) > relative]
    return float(_block_loudness(np.array([gated.mean()]))[0])


def amplitude_dbfs(amplitude: float) -> float:
    """A sample amplitude in dB relative to full scale (−inf for 0)."""
    return 20.0 * float(np.log10(amplitude)) if amplitude > 0 else float("-inf")


def peak_dbfs(audio: np.ndarray) -> float:
    return amplitude_dbfs(float(np.max(np.abs(audio))) if len(audio) else 0.0)


def volume_gain(percent: int) -> float:
    """Gain of a volume setting: 100 % is 1 (the synthesiser's calibrated level), 0 % silent;
    a square-law taper (80 % is about −4 dB, 50 % −12 dB, 10 % −40 dB), closer to how a
    listener hears a volume knob turn than a straight line."""
    share = max(0, min(int(percent), 100)) / 100.0
    return share * share
