"""The one WAV writer: 16-bit PCM, mono or stereo, written as it comes or all at once."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from appliance.audio.format import CHANNELS, RATE

FULL_SCALE = 32767.0


def to_pcm16(audio: np.ndarray) -> bytes:
    """Float samples in −1…1 (clipped beyond) or int16 samples, as little-endian 16-bit."""
    if audio.dtype == np.int16:
        return audio.astype("<i2").tobytes()
    return (np.clip(audio, -1.0, 1.0) * FULL_SCALE).astype("<i2").tobytes()


class WavWriter:
    """A WAV file written block by block (frames × channels, or one channel as a 1-D array)."""

    def __init__(self, path: Path, rate: int = RATE, channels: int = CHANNELS) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.frames = 0
        self._wav = wave.open(str(path), "wb")  # noqa: SIM115 - closed in close()
        self._wav.setnchannels(channels)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate)

    def write(self, audio: np.ndarray) -> None:
        self._wav.writeframes(to_pcm16(audio))
        self.frames += len(audio)

    def close(self) -> None:
        self._wav.close()

    def __enter__(self) -> WavWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_wav(path: Path, audio: np.ndarray, rate: int = RATE) -> None:
    """A whole recording at once (channels from the array's shape)."""
    channels = 1 if audio.ndim == 1 else int(audio.shape[1])
    with WavWriter(path, rate, channels) as wav:
        wav.write(audio)
