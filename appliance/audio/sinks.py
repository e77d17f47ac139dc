"""Where the music goes: the sink interface and the sinks that need no device.

An audio sink takes every block the producer makes (stereo float32, 48 kHz); a MIDI sink takes
the block's events. One sink may set the pace (the sound card's clock); without one, the
producer keeps to the system clock.
"""

from __future__ import annotations

import wave
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from appliance.audio.ring import Ring
from appliance.render.midi import MidiEvent


class AudioSink(ABC):
    name: str = "audio"
    paces: bool = False  # True: the producer fills this sink to `target` frames and waits

    @abstractmethod
    def write(self, block: np.ndarray) -> None: ...

    def buffered(self) -> int:
        return 0

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


class MidiSink(ABC):
    name: str = "midi"

    @abstractmethod
    def send(self, events: list[MidiEvent]) -> None: ...

    def silence(self) -> None:  # noqa: B027 - optional hook
        pass

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


class WavRecorder(AudioSink):
    """Everything played, to a 16-bit stereo WAV file."""

    name = "wav"

    def __init__(self, path: Path, rate: int = 48_000) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._wav = wave.open(str(path), "wb")  # noqa: SIM115 - closed in close()
        self._wav.setnchannels(2)
        self._wav.setsampwidth(2)
        self._wav.setframerate(rate)

    def write(self, block: np.ndarray) -> None:
        pcm = (np.clip(block, -1.0, 1.0) * 32767.0).astype("<i2")
        self._wav.writeframes(pcm.tobytes())

    def close(self) -> None:
        self._wav.close()


class MemorySink(AudioSink):
    """Keeps every block in memory (for exports and tests)."""

    name = "memory"

    def __init__(self) -> None:
        self.blocks: list[np.ndarray] = []

    def write(self, block: np.ndarray) -> None:
        self.blocks.append(block.copy())

    def audio(self) -> np.ndarray:
        return np.concatenate(self.blocks) if self.blocks else np.zeros((0, 2), np.float32)


class Broadcast(AudioSink):
    """The same sound for many listeners (every phone), each with its own bounded queue."""

    name = "broadcast"

    def __init__(self, seconds: float = 0.5, rate: int = 48_000) -> None:
        self.rate = rate
        self.seconds = seconds
        self._listeners: list[Ring] = []

    def listen(self) -> Ring:
        ring = Ring(int(self.seconds * self.rate))
        self._listeners = [*self._listeners, ring]
        return ring

    def leave(self, ring: Ring) -> None:
        self._listeners = [r for r in self._listeners if r is not ring]

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def write(self, block: np.ndarray) -> None:
        for ring in self._listeners:
            ring.write(block)
