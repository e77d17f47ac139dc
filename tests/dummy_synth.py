"""A stand-in for the synthesiser (:class:`appliance.audio.synth.Synth`), as Mopidy's tests have
a dummy audio: the same interface (``rate``, ``level``, ``send``, ``silence``, ``render``,
``close``), no FluidSynth, and a record of what it was told and when.

Every event is kept with the frame it arrived at (the frames rendered before it), so timing
tests can say where each note fell. The sound is deterministic and easy to read back: a key
sounds a cosine at its pitch, starting at its peak on the note-on's frame, with a short click
(``CLICK_FRAMES`` loud frames) and then a quiet sustain, both scaled by velocity; it ends at
once on its note-off (or when the pedal is lifted, or at :meth:`silence`), with no release tail.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from appliance.midi import SUSTAIN, MidiEvent, MidiKind

RATE = 48_000
CLICK_FRAMES = 48  # 1 ms
CLICK = 0.25  # amplitude of the click at velocity 127
HOLD = 0.02  # amplitude while the key sounds on, at velocity 127


def frequency(pitch: int) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12)


@dataclass
class Key:
    velocity: int
    struck: int  # the frame of its note-on
    held: bool = True  # False: released, sounding on because of the pedal


class DummySynth:
    def __init__(self, rate: int = RATE, level: float = 1.0) -> None:
        self.rate = rate
        self.level = level  # like the real synthesiser's calibration gain
        self.frame = 0  # frames rendered so far: the frame an event sent now arrives at
        self.received: list[tuple[int, MidiEvent]] = []  # (frame, event), in arrival order
        self.silenced: list[int] = []  # frames at which silence() was called
        self.closed = False
        self.keys: dict[int, Key] = {}  # pitch → the key sounding
        self.pedal = False

    # -- the synthesiser's interface -----------------------------------------------------------

    def send(self, ev: MidiEvent) -> None:
        self.received.append((self.frame, ev))
        if ev.kind is MidiKind.NOTE_ON:
            self.keys[ev.pitch] = Key(ev.velocity, self.frame)
        elif ev.kind is MidiKind.NOTE_OFF:
            key = self.keys.get(ev.pitch)
            if key is not None and self.pedal:
                key.held = False
            elif key is not None:
                del self.keys[ev.pitch]
        elif ev.kind is MidiKind.PEDAL and ev.pitch == SUSTAIN:
            self.pedal = ev.value >= 64
            if not self.pedal:
                self.keys = {p: k for p, k in self.keys.items() if k.held}

    def silence(self) -> None:
        """Every key and the pedal released: the sound stops at once."""
        self.silenced.append(self.frame)
        self.keys.clear()
        self.pedal = False

    def render(self, frames: int) -> np.ndarray:
        """The next ``frames`` of sound, (frames, 2) float32."""
        mono = np.zeros(frames, np.float64)
        for pitch, key in self.keys.items():
            age = np.arange(self.frame - key.struck, self.frame - key.struck + frames)
            size = np.where(age < CLICK_FRAMES, CLICK, HOLD) * (key.velocity / 127)
            mono += size * np.cos(2 * np.pi * frequency(pitch) * age / self.rate)
        self.frame += frames
        out = (mono * self.level).astype(np.float32)
        return np.repeat(out[:, None], 2, axis=1)

    def close(self) -> None:
        self.closed = True

    # -- what the tests read -------------------------------------------------------------------

    def note_ons(self, since: int = 0) -> list[tuple[int, MidiEvent]]:
        """(frame, event) of the note-ons that arrived at or after frame ``since``."""
        return [(f, ev) for f, ev in self.received if ev.kind is MidiKind.NOTE_ON and f >= since]
