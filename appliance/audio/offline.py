"""A whole performance to sound, faster than real time (for ``appliance render --wav``)."""

from __future__ import annotations

import numpy as np

from appliance.audio.synth import Synth
from appliance.render.midi import midi_events

TAIL = 2.0  # seconds of ringing after the last note


def synthesize(notes: np.ndarray, performed: np.ndarray, synth: Synth) -> np.ndarray:
    """(frames, 2) float32 of the performance, events placed to the sample."""
    rate = synth.rate
    parts, at = [], 0
    for ev in midi_events(notes, performed):
        frame = round(ev.time * rate)
        if frame > at:
            parts.append(synth.render(frame - at))
            at = frame
        synth.send(ev)
    parts.append(synth.render(int(TAIL * rate)))
    return np.concatenate(parts)
