"""Test speech: sentences spoken by espeak-ng as 16 kHz mono float32 (and as a phone's
microphone would deliver them), and scoring of transcripts.

Why: the speech recogniser is tested and benchmarked offline, without recordings of people;
espeak-ng (a Debian package) speaks every language the box understands, in several voices and
at any speed. Word error rate compares what was said with what was heard, ignoring case and
punctuation.
"""

from __future__ import annotations

import shutil
import subprocess
import unicodedata
import wave
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly

from appliance.errors import ApplianceError

SPEECH_RATE = 16_000


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """A 16-bit PCM WAV file as mono float32 in −1…1 (channels averaged) and its rate."""
    with wave.open(str(path), "rb") as wav:
        if wav.getsampwidth() != 2:
            raise ApplianceError(f"{path}: only 16-bit WAV files are supported")
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
        channels, rate = wav.getnchannels(), wav.getframerate()
    audio = pcm.astype(np.float32).reshape(-1, channels).mean(axis=1) / 32768.0
    return audio.astype(np.float32), rate


def resampled(audio: np.ndarray, rate: int, to: int) -> np.ndarray:
    """``audio`` at rate ``to`` (polyphase, exact ratio), float32."""
    if rate == to:
        return audio.astype(np.float32)
    divisor = np.gcd(rate, to)
    return np.asarray(resample_poly(audio, to // divisor, rate // divisor), dtype=np.float32)


def to_speech_rate(audio: np.ndarray, rate: int) -> np.ndarray:
    """``audio`` resampled to 16 kHz."""
    return resampled(audio, rate, SPEECH_RATE)


def as_phone_frames(
    audio: np.ndarray,
    rate: int = SPEECH_RATE,
    silence_before: float = 0.5,
    silence_after: float = 1.5,
) -> list[np.ndarray]:
    """``audio`` (float32) as a phone's microphone reaches the box: 20-ms frames of interleaved
    stereo int16 at 48 kHz, with quiet (a little noise) around it."""
    speech = resampled(audio, rate, 48_000) * 32768.0
    rng = np.random.default_rng(0)
    before = rng.normal(0, 30, int(48_000 * silence_before))
    after = rng.normal(0, 30, int(48_000 * silence_after))
    mono = np.clip(np.concatenate([before, speech, after]), -32768, 32767).astype(np.int16)
    stereo = np.repeat(mono, 2)
    return [stereo[i : i + 1920] for i in range(0, len(stereo) - 1919, 1920)]


def espeak(text: str, voice: str, speed: int, path: Path) -> np.ndarray:
    """``text`` spoken by espeak-ng with ``voice`` (e.g. "en-gb+f3") at ``speed`` words a
    minute, written to ``path`` and returned as 16 kHz float32."""
    program = shutil.which("espeak-ng")
    if program is None:
        raise ApplianceError("espeak-ng is not installed: `apt-get install espeak-ng`")
    subprocess.run(
        [program, "-v", voice, "-s", str(speed), "-w", str(path), text],
        check=True,
        capture_output=True,
        timeout=60,
    )
    audio, rate = read_wav(path)
    return to_speech_rate(audio, rate)


def words(text: str) -> list[str]:
    """``text``'s words, case-folded, punctuation dropped (letters, digits, inner apostrophes
    and hyphens kept)."""
    kept = [
        ch if unicodedata.category(ch)[0] in "LN" or ch in "'-" else " "
        for ch in unicodedata.normalize("NFC", text.casefold())
    ]
    return [w.strip("'-") for w in "".join(kept).split() if w.strip("'-")]


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Word-level Levenshtein distance (substitutions, insertions and deletions)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref in enumerate(reference, 1):
        current = [i]
        for j, hyp in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref != hyp)))
        previous = current
    return previous[-1]


def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(word errors, reference words) of a transcript: WER is their ratio summed over a set."""
    ref = words(reference)
    return edit_distance(ref, words(hypothesis)), len(ref)
