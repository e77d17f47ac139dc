"""The MIDI events the box plays: one type shared by the renderer (which makes them), the
engine (which schedules them) and every output (synthesiser, digital piano, MIDI file).

Pure data, standard library only; :meth:`MidiEvent.to_mido` is the one mapping to wire
messages.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

SUSTAIN = 64  # the sustain pedal's controller number
ALL_NOTES_OFF = 123


class MidiKind(StrEnum):
    NOTE_ON = "note_on"
    NOTE_OFF = "note_off"
    PEDAL = "pedal"  # the sustain pedal; ``value`` is its depth, 0–127


@dataclass(frozen=True, order=True)
class MidiEvent:
    time: float  # seconds from the start of the performance (or play time)
    order: int  # at equal times: note offs, pedal, then note ons
    kind: MidiKind
    pitch: int = 0
    value: int = 0  # velocity or pedal depth
    note: int = -1  # index of the score note (for pedal: the first note of its onset group)

    @property
    def velocity(self) -> int:
        """A note-on's velocity as sent (1–127: 0 would mean note off)."""
        return max(1, min(127, self.value))

    def to_mido(self, delta: int = 0) -> Any:
        """This event as a ``mido.Message`` (``delta``: its time in ticks, for a file)."""
        import mido

        if self.kind is MidiKind.NOTE_ON:
            return mido.Message("note_on", note=self.pitch, velocity=self.velocity, time=delta)
        if self.kind is MidiKind.NOTE_OFF:
            return mido.Message("note_off", note=self.pitch, velocity=0, time=delta)
        depth = max(0, min(127, self.value))
        return mido.Message("control_change", control=SUSTAIN, value=depth, time=delta)


def note_on(time: float, pitch: int, velocity: int, note: int = -1) -> MidiEvent:
    return MidiEvent(time, 2, MidiKind.NOTE_ON, pitch, velocity, note)


def note_off(time: float, pitch: int, note: int = -1) -> MidiEvent:
    return MidiEvent(time, 0, MidiKind.NOTE_OFF, pitch, 0, note)


def pedal(time: float, depth: int, note: int = -1) -> MidiEvent:
    return MidiEvent(time, 1, MidiKind.PEDAL, SUSTAIN, depth, note)


class KeyTracker:
    """Keeps note events playable on a keyboard: a key struck again while it sounds is released
    first, and only the note that holds a key may release it."""

    def __init__(self) -> None:
        self.holder: dict[int, int] = {}  # pitch → note index holding the key

    def filter(self, ev: MidiEvent) -> list[MidiEvent]:
        if ev.kind is MidiKind.NOTE_ON:
            out = []
            if ev.pitch in self.holder:
                out.append(note_off(ev.time, ev.pitch, self.holder[ev.pitch]))
            self.holder[ev.pitch] = ev.note
            return [*out, ev]
        if ev.kind is MidiKind.NOTE_OFF:
            if self.holder.get(ev.pitch) != ev.note:
                return []
            del self.holder[ev.pitch]
        return [ev]

    def release_all(self, time: float) -> list[MidiEvent]:
        out = [note_off(time, p, n) for p, n in self.holder.items()]
        self.holder.clear()
        return out
