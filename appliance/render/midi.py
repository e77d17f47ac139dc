"""Turn a performance into MIDI: timed note and sustain-pedal events, and a MIDI file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from appliance.midi import KeyTracker, MidiEvent, note_off, note_on, pedal
from appliance.score.notes import onset_groups

PEDAL_ON, PEDAL_OFF = 127, 0
REPEDAL_GAP = 0.06  # seconds between lifting and pressing the pedal again on a new harmony
TICKS_PER_BEAT = 480
MICROSECONDS_PER_BEAT = 500_000  # 120 bpm: one second is two beats


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
        events.append(note_on(on, pitch, velocity, first_note + i))
        events.append(note_off(off, pitch, first_note + i))
    events.sort()
    return events


def midi_events(notes: np.ndarray, performed: np.ndarray) -> list[MidiEvent]:
    """Note and pedal events in time order; a re-struck key first releases the sounding one."""
    events = note_events(notes, performed)
    events += [pedal(max(t, 0.0), v, n) for t, v, n in pedal_changes(notes, performed)]
    events.sort()
    keys = KeyTracker()
    return [out for ev in events for out in keys.filter(ev)]


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
        msg = ev.to_mido(delta)
        track.append(msg)
    track.append(mido.MetaMessage("end_of_track", time=0))
    midi = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_BEAT)
    midi.tracks.append(track)
    path.parent.mkdir(parents=True, exist_ok=True)
    midi.save(str(path))
