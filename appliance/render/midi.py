"""Turn a performance into MIDI: timed note and sustain-pedal events, and a MIDI file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from appliance.score.notes import onset_groups

PEDAL_ON, PEDAL_OFF = 127, 0
REPEDAL_GAP = 0.06  # seconds between lifting and pressing the pedal again on a new harmony
TICKS_PER_BEAT = 480
MICROSECONDS_PER_BEAT = 500_000  # 120 bpm: one second is two beats


@dataclass(frozen=True, order=True)
class MidiEvent:
    time: float  # seconds from the start of the performance
    order: int  # at equal times: note offs, pedal, then note ons
    kind: str  # "note_on" | "note_off" | "pedal"
    pitch: int = 0
    value: int = 0  # velocity or pedal depth
    note: int = -1  # index of the score note (for pedal: the first note of its onset group)


def pedal_changes(
    notes: np.ndarray, performed: np.ndarray, down: bool = False, close: bool = True
) -> list[tuple[float, int, int]]:
    """Sustain-pedal (time, value, first note of the group) changes: pressed while the notes ask
    for it, changed per bar. ``down`` is the pedal's state before these notes; with ``close``
    the pedal is released at the end (a whole performance), otherwise left as it is (a chunk)."""
    if len(notes) == 0:
        return []
    group, first = onset_groups(notes)
    depth = np.bincount(group, weights=performed["pedal"]) / np.bincount(group)
    times = np.array([performed["onset"][group == g].min() for g in range(len(first))])
    new_bar = np.append(True, np.diff(notes["bar"][first]) > 0)
    out: list[tuple[float, int, int]] = []
    for g, t in enumerate(times):
        want = depth[g] >= 0.5
        n = int(first[g])
        if want and down and new_bar[g]:
            out += [(float(t), PEDAL_OFF, n), (float(t) + REPEDAL_GAP, PEDAL_ON, n)]
        elif want and not down:
            out.append((float(t) + REPEDAL_GAP / 2, PEDAL_ON, n))
        elif not want and down:
            out.append((float(t), PEDAL_OFF, n))
        down = want
    if down and close:
        end = float((performed["onset"] + performed["duration"]).max())
        out.append((end, PEDAL_OFF, int(first[-1])))
    return out


def note_events(
    notes: np.ndarray, performed: np.ndarray, first_note: int = 0, time_offset: float = 0.0
) -> list[MidiEvent]:
    """Note on/off events of some notes (``first_note`` is the index of ``notes[0]``), in time
    order, shifted by ``time_offset`` seconds."""
    events: list[MidiEvent] = []
    for i in range(len(notes)):
        pitch = int(notes["pitch"][i])
        on = max(float(performed["onset"][i]), 0.0) + time_offset
        off = on + float(performed["duration"][i])
        velocity = max(1, int(performed["velocity"][i]))
        events.append(MidiEvent(on, 2, "note_on", pitch, velocity, first_note + i))
        events.append(MidiEvent(off, 0, "note_off", pitch, 0, first_note + i))
    events.sort()
    return events


def midi_events(notes: np.ndarray, performed: np.ndarray) -> list[MidiEvent]:
    """Note and pedal events in time order; a re-struck key first releases the sounding one."""
    events = note_events(notes, performed)
    events += [
        MidiEvent(max(t, 0.0), 1, "pedal", 64, v, n) for t, v, n in pedal_changes(notes, performed)
    ]
    events.sort()
    keys = KeyTracker()
    return [out for ev in events for out in keys.filter(ev)]


class KeyTracker:
    """Keeps note events playable on a keyboard: a key struck again while it sounds is released
    first, and only the note that holds a key may release it."""

    def __init__(self) -> None:
        self.holder: dict[int, int] = {}  # pitch → note index holding the key

    def filter(self, ev: MidiEvent) -> list[MidiEvent]:
        if ev.kind == "note_on":
            out = []
            if ev.pitch in self.holder:
                out.append(MidiEvent(ev.time, 0, "note_off", ev.pitch, 0, self.holder[ev.pitch]))
            self.holder[ev.pitch] = ev.note
            return [*out, ev]
        if ev.kind == "note_off":
            if self.holder.get(ev.pitch) != ev.note:
                return []
            del self.holder[ev.pitch]
        return [ev]

    def release_all(self, time: float) -> list[MidiEvent]:
        out = [MidiEvent(time, 0, "note_off", p, 0, n) for p, n in self.holder.items()]
        self.holder.clear()
        return out


def write_midi(path: Path, notes: np.ndarray, performed: np.ndarray, program: int = 0) -> None:
    """Write a type-0 MIDI file of the performance (acoustic grand piano by default)."""
    import mido

    track = mido.MidiTrack()
    track.append(mido.MetaMessage("set_tempo", tempo=MICROSECONDS_PER_BEAT, time=0))
    track.append(mido.Message("program_change", program=program, time=0))
    ticks_per_second = TICKS_PER_BEAT * 1e6 / MICROSECONDS_PER_BEAT
    now = 0
    for ev in midi_events(notes, performed):
        tick = round(ev.time * ticks_per_second)
        delta, now = tick - now, tick
        if ev.kind == "pedal":
            msg = mido.Message("control_change", control=64, value=ev.value, time=delta)
        elif ev.kind == "note_on":
            msg = mido.Message("note_on", note=ev.pitch, velocity=max(1, ev.value), time=delta)
        else:
            msg = mido.Message("note_off", note=ev.pitch, velocity=0, time=delta)
        track.append(msg)
    track.append(mido.MetaMessage("end_of_track", time=0))
    midi = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(track)
    path.parent.mkdir(parents=True, exist_ok=True)
    midi.save(str(path))
