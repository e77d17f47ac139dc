"""Test speech for the tests and benchmarks: espeak-ng saying a sentence, as a phone's microphone
would deliver it."""

from __future__ import annotations

import subprocess
import wave
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly


def espeak(text: str, path: Path, voice: str = "en", speed: int = 160) -> Path:
    """A WAV of espeak-ng saying ``text`` (its own rate, 22 050 Hz mono)."""
    subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(path), text],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return path


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono int16 samples and the rate of a 16-bit WAV."""
    with wave.open(str(path), "rb") as w:
        rate, channels = w.getframerate(), w.getnchannels()
        pcm = np.frombuffer(w.readframes(w.getnframes()), np.int16)
    return pcm.reshape(-1, channels).mean(axis=1).astype(np.int16), rate


def resampled(pcm: np.ndarray, rate: int, to: int) -> np.ndarray:
    """``pcm`` (int16) at rate ``to`` (float64, same scale)."""
    g = np.gcd(rate, to)
    return resample_poly(pcm.astype(np.float64), to // g, rate // g)


def as_phone_frames(
    pcm: np.ndarray, rate: int, silence_before: float = 0.5, silence_after: float = 1.5
) -> list[np.ndarray]:
    """20-ms frames of interleaved stereo int16 at 48 kHz, as aiortc decodes a phone's Opus,
    with silence (a little noise) around the speech."""
    speech = resampled(pcm, rate, 48_000)
    rng = np.random.default_rng(0)
    before = rng.normal(0, 30, int(48_000 * silence_before))
    after = rng.normal(0, 30, int(48_000 * silence_after))
    mono = np.clip(np.concatenate([before, speech, after]), -32768, 32767).astype(np.int16)
    stereo = np.repeat(mono, 2)
    return [stereo[i : i + 1920] for i in range(0, len(stereo) - 1919, 1920)]
