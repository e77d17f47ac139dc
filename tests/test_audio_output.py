"""Real sound out: sounddevice → PortAudio → a private PulseAudio null sink, recorded back."""

import time

import numpy as np
import pytest

from appliance.audio.nullsink import NullSink, loudness
from appliance.audio.speaker import Speaker
from appliance.errors import ApplianceError
from appliance.perform.session import PlayOptions, Session


@pytest.fixture(scope="module")
def pulse():
    with NullSink() as sink:
        yield sink


def runs(flags: np.ndarray) -> list[tuple[bool, int]]:
    """(value, length) of consecutive equal flags."""
    out: list[tuple[bool, int]] = []
    for f in flags:
        if out and out[-1][0] == f:
            out[-1] = (f, out[-1][1] + 1)
        else:
            out.append((bool(f), 1))
    return out


def test_sound_starts_pauses_and_resumes_at_the_speaker(pulse, tmp_path):
    session = Session(
        PlayOptions(piece="bach-bwv846", seed=1, device="pulse", library=tmp_path / "lib")
    )
    assert session.speaker is not None, session.problems
    recording = pulse.record()
    try:
        session.start()
        time.sleep(1.5)
        session.engine.pause()
        time.sleep(1.0)
        session.engine.play()
        time.sleep(1.5)
    finally:
        session.close()
        audio = recording.stop()
    level = loudness(audio, pulse.rate, 0.05)
    pattern = runs(level > 1e-4)
    sounding = [n for on, n in pattern if on]
    silent_inside = [n for i, (on, n) in enumerate(pattern) if not on and 0 < i < len(pattern) - 1]
    assert len(sounding) >= 2 and max(sounding) >= 10, pattern  # ≥ 0.5 s of music, twice
    assert silent_inside and max(silent_inside) >= 14, pattern  # the pause: ≥ 0.7 s of silence


def test_a_missing_sound_device_is_a_message_and_the_rest_plays(tmp_path):
    with pytest.raises(ApplianceError, match="cannot open the audio output"):
        Speaker(device="no such device")
    wav = tmp_path / "out.wav"
    session = Session(
        PlayOptions(
            piece="bach-bwv846", seed=1, device="no such device", wav=wav, library=tmp_path / "l"
        )
    )
    assert session.speaker is None
    assert any("cannot open the audio output" in p for p in session.problems)
    session.start()
    time.sleep(1.0)
    watch = session.speaker_watch
    assert watch is not None and watch.reopening  # looking for speakers plugged in later
    session.close()
    assert not watch.reopening
    import wave

    with wave.open(str(wav)) as w:
        frames = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    assert len(frames) > 48_000 and np.abs(frames).max() > 100
