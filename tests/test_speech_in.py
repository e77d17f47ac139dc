"""The microphone side of the voice path: downsampling, voice activity, utterance ends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from appliance.speech.downsample import SPEECH_RATE, Downsampler
from appliance.speech.segmenter import PIECE, Mark, Segmenter, Settings
from appliance.speech.vad import CHUNK, VoiceActivity
from export.spoken import as_phone_frames, espeak


def _tone(freq: float, seconds: float, rate: int = 48_000) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (10_000 * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def _through(down: Downsampler, pcm: np.ndarray, frame: int = 960) -> np.ndarray:
    return np.concatenate([down(pcm[i : i + frame]) for i in range(0, len(pcm), frame)])


def test_downsampling_keeps_speech_and_removes_what_16_khz_cannot_hold() -> None:
    speech_band = _through(Downsampler(48_000), _tone(1000, 1.0))
    assert len(speech_band) == SPEECH_RATE
    level = np.sqrt(np.mean(speech_band[200:] ** 2)) * np.sqrt(2)
    assert level == pytest.approx(10_000 / 32768, rel=0.05)
    alias = _through(Downsampler(48_000), _tone(12_000, 1.0))
    assert np.sqrt(np.mean(alias[200:] ** 2)) < 0.01 * level


def test_downsampling_has_no_seams_between_frames() -> None:
    whole = Downsampler(48_000)(_tone(440, 0.5))
    framed = _through(Downsampler(48_000), _tone(440, 0.5), frame=960)
    assert np.allclose(whole, framed, atol=1e-6)


def test_downsampling_mixes_stereo_to_mono_and_refuses_odd_rates() -> None:
    stereo = np.repeat(_tone(500, 0.1), 2)
    assert len(Downsampler(48_000)(stereo, channels=2)) == 1600
    with pytest.raises(ValueError):
        Downsampler(44_100)


def _pieces(frames: list[np.ndarray]) -> list[np.ndarray]:
    down = Downsampler(48_000)
    audio = np.concatenate([down(f, channels=2) for f in frames])
    return [audio[i : i + CHUNK] for i in range(0, len(audio) - CHUNK + 1, CHUNK)]


@pytest.fixture(scope="module")
def vad() -> VoiceActivity:
    return VoiceActivity()


def test_voice_activity_hears_speech_and_not_silence(vad: VoiceActivity, tmp_path: Path) -> None:
    audio = espeak("play it a little softer please", "en", 160, tmp_path / "s.wav")
    pieces = _pieces(as_phone_frames(audio, silence_before=1.0, silence_after=1.0))
    vad.reset()
    p = np.array([vad(x) for x in pieces])
    before = int(0.9 / PIECE)
    assert p[:before].max() < 0.3, "silence taken for speech"
    assert (p > 0.5).mean() > 0.3, "speech not heard"
    with pytest.raises(ValueError):
        vad(np.zeros(100, np.float32))


def test_an_utterance_is_found_trimmed_and_ended_after_quiet(
    vad: VoiceActivity, tmp_path: Path
) -> None:
    audio = espeak("go back to the beginning", "en", 160, tmp_path / "s.wav")
    spoken = len(audio) / SPEECH_RATE
    pieces = _pieces(as_phone_frames(audio, silence_before=1.0, silence_after=2.0))
    vad.reset()
    seg = Segmenter()
    marks: list[tuple[float, Mark]] = []
    for i, piece in enumerate(pieces):
        marks += [(i * PIECE, m) for m in seg.feed(piece, vad(piece))]
    kinds = [m for _, m in marks]
    assert kinds[0] is Mark.STARTED and kinds[-1] is Mark.ENDED
    assert Mark.PAUSED in kinds
    started = marks[0][0]
    assert 0.85 <= started <= 1.3, f"speech heard at {started:.2f} s (it starts at 1.0 s)"
    ended = marks[-1][0]
    assert ended < 1.0 + spoken + 1.2, "the end of the utterance came too late"
    speech = seg.speech()
    assert 0.6 * spoken < len(speech) / SPEECH_RATE < spoken + 0.8


def test_segmenter_rules_without_a_model() -> None:
    s = Settings(end_silence=0.32, pause=0.1, max_seconds=1.0)
    seg = Segmenter(s)
    piece = np.ones(CHUNK, np.float32)
    assert seg.feed(piece, 0.1) == [] and seg.feed(piece, 0.9) == [Mark.STARTED]
    assert seg.feed(piece, 0.4) == []  # above the offset: still speech (hysteresis)
    quiet = [seg.feed(piece, 0.2) for _ in range(10)]
    assert quiet[:3] == [[], [], []] and quiet[3] == [Mark.PAUSED]  # 4 x 32 ms ≥ 0.1 s
    assert quiet[9] == [Mark.ENDED] and seg.ended  # 10 x 32 ms ≥ 0.32 s
    assert seg.feed(piece, 0.9) == []  # over: a new utterance needs a new segmenter
    resumed = Segmenter(s)
    resumed.feed(piece, 0.9)
    marks = [resumed.feed(piece, p) for p in (0.2, 0.2, 0.2, 0.2, 0.4, 0.6)]
    assert marks[3] == [Mark.PAUSED] and marks[4] == [] and marks[5] == [Mark.RESUMED]
    fresh = Segmenter(s)
    fresh.feed(piece, 0.9)
    out: list[Mark] = []
    for _ in range(40):
        out += fresh.feed(piece, 0.9)
    assert out[-1] is Mark.ENDED and fresh.seconds <= 1.05  # the longest utterance
    assert Segmenter().speech().size == 0


def test_the_voice_activity_model_loads_without_torch() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from appliance.speech.vad import VoiceActivity; VoiceActivity(); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # the silero_vad package itself imports torch


class _Desk:
    """Understands nothing: the test looks at what reaches recognition."""

    def submit(
        self,
        text: str,
        language: str | None,
        who: str,
        source: str | None,
        tell: object,
        via: str = "text",
    ) -> str | None:
        return None


def test_letting_go_mid_word_still_hears_the_words_on_their_way(tmp_path: Path) -> None:
    """The release reaches the box before the last audio frames do: listening goes on until
    the speaker is heard to be quiet (or the grace runs out), so the utterance is whole."""
    from appliance.events import Event, Reply
    from appliance.speech.listening import FINAL, Voice

    told: list[Event] = []
    ducks: list[int] = []
    voice = Voice(None, _Desk(), lambda: ducks.append(1))
    audio = espeak("go back to the beginning", "en", 160, tmp_path / "s.wav")
    frames = as_phone_frames(audio, silence_before=0.5, silence_after=1.0)
    listening = voice.listen("tester", None, "en", told.append)
    speech_end = int((0.5 + len(audio) / SPEECH_RATE) / 0.02)
    for frame in frames[: speech_end - 10]:  # 0.2 s of the speech still on its way
        listening.feed(frame, 2, 48_000)
    listening.release()
    assert not listening.closed and ducks == [1]
    for frame in frames[speech_end - 10 :]:
        listening.feed(frame, 2, 48_000)
        if listening.closed:
            break
    assert listening.closed
    jobs = [voice._jobs.get_nowait() for _ in range(voice._jobs.qsize())]
    final = [j for j in jobs if j.priority == FINAL]
    assert len(final) == 1
    assert len(final[0].audio) / SPEECH_RATE >= len(audio) / SPEECH_RATE

    quiet = voice.listen("tester", None, "de", told.append)
    for frame in frames[:10]:  # silence only
        quiet.feed(frame, 2, 48_000)
    quiet.release()
    assert quiet.closed and isinstance(told[-1], Reply) and "nichts gehört" in told[-1].text
