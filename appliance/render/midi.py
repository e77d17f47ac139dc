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


def pedal_changes(notes: np.ndarray, performed: np.ndarray) -> list[tuple[float, int]]:
    """Sustain-pedal (time, value) changes: pressed while the notes ask for it, changed per bar."""
    if len(notes) == 0:
        return []
    group, first = onset_groups(notes)
    depth = np.bincount(group, weights=performed["pedal"]) / np.bincount(group)
    times = np.array([performed["onset"][group == g].min() for g in range(len(first))])
    new_bar = np.append(True, np.diff(notes["bar"][first]) > 0)
    out: list[tuple[float, int]] = []
    down = False
    for g, t in enumerate(times):
        want = depth[g] >= 0.5
        if want and down and new_bar[g]:
            out += [(float(t), PEDAL_OFF), (float(t) + REPEDAL_GAP, PEDAL_ON)]
        elif want and not down:
            out.append((float(t) + REPEDAL_GAP / 2, PEDAL_ON))
        elif not want and down:
            out.append((float(t), PEDAL_OFF))
        down = want
    if down:
        end = float((performed["onset"] + performed["duration"]).max())
        out.append((end, PEDAL_OFF))
    return out


def midi_events(notes: np.ndarray, performed: np.ndarray) -> list[MidiEvent]:
    """Note and pedal events in time order; a re-struck key first releases the sounding one."""
    events: list[MidiEvent] = []
    order = np.argsort(performed["onset"], kind="stable")
    sounding_until: dict[int, float] = {}
    for i in order:
        pitch = int(notes["pitch"][i])
        on = max(float(performed["onset"][i]), 0.0)
        off = on + float(performed["duration"][i])
        if sounding_until.get(pitch, -1.0) > on:
            events.append(MidiEvent(on, 0, "note_off", pitch))
        events.append(MidiEvent(on, 2, "note_on", pitch, int(performed["velocity"][i])))
        events.append(MidiEvent(off, 0, "note_off", pitch))
        sounding_until[pitch] = off
    events += [
        MidiEvent(max(t, 0.0), 1, "pedal", 64, v) for t, v in pedal_changes(notes, performed)
    ]
    events.sort()
    # Drop note offs of notes already released by a re-strike (keep one off per on).
    open_notes: dict[int, int] = {}
    cleaned = []
    for ev in events:
        if ev.kind == "note_on":
            open_notes[ev.pitch] = open_notes.get(ev.pitch, 0) + 1
        elif ev.kind == "note_off":
            if open_notes.get(ev.pitch, 0) <= 0:
                continue
            open_notes[ev.pitch] -= 1
        cleaned.append(ev)
    return cleaned


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
