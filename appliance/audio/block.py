"""One block of the audio path: what the engine hands the producer every 10 ms, and what turns
its events into sound."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from appliance.midi import MidiEvent


@dataclass(frozen=True)
class Block:
    """The events due in this block at their frame offsets, and a gain for every frame."""

    events: list[tuple[int, MidiEvent]]
    gain: np.ndarray
    silence: bool  # release every key first (pause, stop, seek)


class SoundMaker(Protocol):
    """What the producer plays events into: FluidSynth (:class:`appliance.audio.synth.Synth`),
    or a stand-in in tests."""

    rate: int

    def send(self, ev: MidiEvent) -> None: ...

    def silence(self) -> None: ...

    def render(self, frames: int) -> np.ndarray: ...
