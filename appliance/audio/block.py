"""One block of the audio path: what the engine hands the producer every 10 ms."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from appliance.midi import MidiEvent


@dataclass(frozen=True)
class Block:
    """The events due in this block at their frame offsets, and a gain for every frame."""

    events: list[tuple[int, MidiEvent]]
    gain: np.ndarray
    silence: bool  # release every key first (pause, stop, seek)
