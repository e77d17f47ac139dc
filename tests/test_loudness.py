"""The box's output level: loudness measured as BS.1770 does, a calibrated synthesiser with a
soft limiter, and the volume setting."""

import numpy as np

from appliance.audio.loudness import integrated_lufs, peak_dbfs, volume_gain
from appliance.audio.offline import synthesize
from appliance.audio.synth import CEILING, TARGET_LUFS, Synth, soft_limit
from appliance.library import open_library
from appliance.render.base import Style, render_all
from appliance.render.registry import get_renderer

RATE = 48_000


def sine(amplitude: float, seconds: float = 5.0, hz: float = 997.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * hz * t))[:, None]


def test_a_full_scale_sine_in_one_channel_is_minus_3_lufs():
    assert abs(integrated_lufs(sine(1.0)) - (-3.01)) < 0.1
    assert abs(integrated_lufs(sine(0.1)) - (-23.01)) < 0.1  # 20 dB down
    both = np.hstack([sine(0.1), sine(0.1)])
    assert abs(integrated_lufs(both) - (-20.0)) < 0.1  # two channels add their power


def test_silence_and_quiet_passages_are_gated_out():
    assert integrated_lufs(np.zeros((RATE * 3, 2))) == float("-inf")
    quiet_then_loud = np.vstack([sine(0.0001, 5.0), sine(0.1, 5.0)])
    assert abs(integrated_lufs(quiet_then_loud) - (-23.0)) < 0.2
    assert peak_dbfs(sine(0.5)) > -6.1


def test_the_limiter_bends_only_above_the_knee_and_never_reaches_the_ceiling():
    x = np.linspace(-3, 3, 10_001, dtype=np.float32)[:, None]
    y = soft_limit(x)
    assert np.all(np.abs(y) < CEILING)
    small = np.abs(x) <= 0.5
    assert np.array_equal(y[small], x[small])
    assert np.all(np.diff(y[:, 0]) >= 0)  # still monotonic


def test_a_rendered_piece_is_at_a_sensible_level_with_headroom(tmp_path):
    library = open_library(tmp_path)
    piece = library.pieces["mozart-k545-1"]
    perf = render_all(get_renderer("neural"), library.load(piece), Style(seed=1))
    audio = synthesize(perf.notes, perf.performed, Synth())
    loudness = integrated_lufs(audio)
    assert TARGET_LUFS - 8 < loudness < TARGET_LUFS + 6  # was about −34 dBFS before
    assert peak_dbfs(audio) < -0.9


def test_volume_is_a_square_law_taper():
    assert volume_gain(100) == 1.0 and volume_gain(0) == 0.0
    assert abs(20 * np.log10(volume_gain(50)) - (-12.04)) < 0.01
    assert volume_gain(150) == 1.0 and volume_gain(-5) == 0.0
