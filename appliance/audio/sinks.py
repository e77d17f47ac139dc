"""Where the music goes: the sink interface and the sinks that need no device.

An audio sink takes every block the producer makes (stereo float32 in the box's one format,
:mod:`appliance.audio.format`); a MIDI sink takes the block's events. One sink may set the
pace (the sound card's clock); without one, the producer keeps to the system clock.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np

from appliance.audio.format import RATE
from appliance.audio.ring import Ring
from appliance.audio.wav import WavWriter
from appliance.midi import MidiEvent


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

    def __init__(self, path: Path, rate: int = RATE) -> None:
        self.path = path
        self._wav = WavWriter(path, rate)

    def write(self, block: np.ndarray) -> None:
        self._wav.write(block)

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

    def __init__(self, seconds: float = 0.5, rate: int = RATE) -> None:
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
