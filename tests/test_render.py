import mido
import numpy as np
import pytest

from appliance.midi import KeyTracker, MidiEvent, MidiKind
from appliance.render.base import PerformanceStream, Renderer, Style, render_all
from appliance.render.baselines import DeadpanRenderer
from appliance.render.expression import EXPRESSION_DTYPE
from appliance.render.midi import midi_events, pedal_changes, write_midi
from appliance.score.notes import Score
from tests.notetables import chords, table


class SeededRenderer(Renderer):
    """A renderer whose output depends on the style and on what was performed before."""

    name = "seeded"

    def expression(self, notes, style, performed, stop):
        start = len(performed)
        rng = np.random.default_rng([style.seed or 0, start])
        out = np.zeros(stop - start, EXPRESSION_DTYPE)
        out["log_bp"] = np.log(0.5) + rng.normal(0, 0.05, len(out))
        out["velocity"] = 40 + 40 * rng.random(len(out))
        out["log_art"] = -0.1
        return out


def test_deadpan_plays_the_score_tempo():
    notes = table([0, 1, 2, 2, 3.5])
    perf = render_all(DeadpanRenderer(), Score(notes), Style())
    assert np.allclose(perf.performed["onset"], notes["onset_quarter"] * 0.5)
    assert np.allclose(perf.performed["duration"], notes["duration_quarter"] * 0.5)
    assert np.all(perf.performed["velocity"] == 64)


def test_stream_renders_whole_onset_groups():
    stream = PerformanceStream(DeadpanRenderer(), Score(chords(10, per_group=3)), Style())
    assert len(stream.render_next(4)) == 6
    assert stream.rendered == 6


def test_rewind_rerenders_only_notes_not_yet_played():
    score = Score(chords(30, per_group=2))
    stream = PerformanceStream(SeededRenderer(), score, Style(seed=1))
    for _ in range(6):
        stream.render_next(8)
    before = stream.performance()
    kept = stream.rewind(20)
    assert kept >= 20 and kept < before.performed.size
    stream.style = Style(seed=2)
    while not stream.done:
        stream.render_next(8)
    after = stream.performance()
    assert np.array_equal(after.performed[:kept], before.performed[:kept])
    assert not np.allclose(
        after.performed["velocity"][kept:48], before.performed["velocity"][kept:48]
    )
    # Timing stays continuous: the first re-rendered onset follows the last kept one.
    gap = after.performed["onset"][kept] - after.performed["onset"][kept - 1]
    assert 0 < gap < 1.0


def test_midi_file_round_trip(tmp_path):
    notes = table([0, 0, 1, 2, 2, 3], [60, 64, 60, 60, 67, 72])
    perf = render_all(DeadpanRenderer(), Score(notes), Style())
    perf.performed["duration"][2] = 5.0  # overlaps the next strike of the same key
    perf.performed["pedal"][:] = 1.0
    path = tmp_path / "p.mid"
    write_midi(path, perf.notes, perf.performed)
    midi = mido.MidiFile(str(path))
    msgs = [m for m in midi if not m.is_meta]
    ons = [m for m in msgs if m.type == "note_on" and m.velocity > 0]
    offs = [m for m in msgs if m.type == "note_off"]
    assert len(ons) == len(notes) and len(offs) == len(notes)
    assert [m.value for m in msgs if m.type == "control_change"][:1] == [127]
    assert midi.length == pytest.approx(
        float((perf.performed["onset"] + perf.performed["duration"]).max()), abs=0.01
    )


def test_pedal_is_changed_at_new_bars():
    notes = table([0, 1, 4, 5])
    perf = render_all(DeadpanRenderer(), Score(notes), Style())
    perf.performed["pedal"][:] = 1.0
    changes = pedal_changes(notes, perf.performed)
    assert [v for _, v, _ in changes] == [127, 0, 127, 0]
    assert [n for _, _, n in changes] == [0, 2, 2, 3]
    events = midi_events(notes, perf.performed)
    assert sum(e.kind == "note_on" for e in events) == 4
    # A chunk continues the pedal it was given and leaves it down at its end.
    chunk = pedal_changes(notes[2:], perf.performed[2:], down=True, close=False)
    assert [v for _, v, _ in chunk] == [0, 127]


def test_key_tracker_releases_a_restruck_key_and_drops_stale_offs():
    keys = KeyTracker()
    a_on = MidiEvent(0.0, 2, MidiKind.NOTE_ON, 60, 80, 0)
    b_on = MidiEvent(0.5, 2, MidiKind.NOTE_ON, 60, 70, 1)
    a_off = MidiEvent(0.8, 0, MidiKind.NOTE_OFF, 60, 0, 0)
    b_off = MidiEvent(1.0, 0, MidiKind.NOTE_OFF, 60, 0, 1)
    out = [e for ev in (a_on, b_on, a_off, b_off) for e in keys.filter(ev)]
    assert [(e.kind, e.note, e.time) for e in out] == [
        ("note_on", 0, 0.0),
        ("note_off", 0, 0.5),
        ("note_on", 1, 0.5),
        ("note_off", 1, 1.0),
    ]
    keys.filter(MidiEvent(2.0, 2, MidiKind.NOTE_ON, 62, 80, 2))
    assert [(e.pitch, e.note) for e in keys.release_all(3.0)] == [(62, 2)]


class IndexRenderer(Renderer):
    """Expression that depends only on each note's index: re-rendering must reproduce it."""

    name = "index"

    def expression(self, notes, style, performed, stop):
        i = np.arange(len(performed), stop)
        out = np.zeros(len(i), EXPRESSION_DTYPE)
        out["log_bp"] = np.log(0.5) + 0.2 * np.sin(i / 5.0)
        out["dev"] = 0.01 * np.cos(i)
        out["velocity"] = 40 + i % 50
        return out


def test_rewind_cuts_mid_chunk_at_an_onset_group_and_keeps_timing_exact():
    score = Score(chords(40, per_group=3))
    stream = PerformanceStream(IndexRenderer(), score, Style())
    stream.render_next(64)
    stream.render_next(64)
    before = stream.performance()
    kept = stream.rewind(37)  # inside the first chunk, inside an onset group
    assert kept == 39  # the next group boundary
    while not stream.done:
        stream.render_next(5)
    after = stream.performance()
    assert np.allclose(after.performed["onset"][: len(before.performed)], before.performed["onset"])
