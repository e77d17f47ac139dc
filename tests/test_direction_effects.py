"""Directions on the shipped model: continuity at the moment of change, levels, a tempo, undo."""

import numpy as np
import pytest

from appliance.directions.classes import Scope
from appliance.directions.steer import Steering, SteeringVectors
from appliance.directions.timeline import offsets_for, place
from appliance.directions.words import DirectionRequest
from appliance.render.base import PerformanceStream, Style, render_all
from appliance.render.registry import get_renderer, steering_file
from appliance.score import load_score
from appliance.score.directions import beat_in_quarters
from appliance.score.notes import Score

STYLE = Style(seed=5, temperature=0.0)


@pytest.fixture(scope="module")
def renderer():
    return get_renderer("neural")


@pytest.fixture(scope="module")
def vectors():
    return SteeringVectors.load(steering_file())


@pytest.fixture(scope="module")
def score(shared_root):
    return load_score(shared_root / "asap" / "Bach" / "Prelude" / "bwv_854" / "xml_score.musicxml")


def group_means(notes: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First note and mean value of each onset group."""
    starts = np.flatnonzero(np.r_[True, np.diff(notes["onset_beat"]) > 1e-9])
    return starts, np.add.reduceat(values, starts) / np.diff(np.r_[starts, len(values)])


PAST_NOISE = {"velocity": 1.5, "log_bp": 0.03}


@pytest.mark.parametrize(
    "cls, feature",
    [
        ("ff", "velocity"),
        ("pp", "velocity"),
        ("presto", "log_bp"),
        ("largo", "log_bp"),
        ("accent", "velocity"),
    ],
)
def test_a_direction_sets_in_without_a_jump(renderer, vectors, score, cls, feature):
    """At the first note a strong direction changes, the music moves by a small part of the
    full change only, and over the fade-in (two beats) no step is larger than the whole change
    the direction asks for; switched on at once, the same direction moves the first note more."""
    notes = score.notes
    base = render_all(renderer, score, STYLE).expression[feature].astype(np.float64)
    for bar in (4, 9, 14):
        at = int(np.searchsorted(notes["bar"], bar))
        steering = Steering(notes, vectors)
        steering.apply(DirectionRequest(cls, 2.0, Scope.FROM_NOW), at)
        offsets = steering.offsets()
        assert not offsets[:at].any()  # the direction never reaches the past
        directed = render_all(renderer, score, STYLE.with_offsets(offsets))
        values = directed.expression[feature].astype(np.float64)
        # Rendered from scratch, the notes before it differ only by int8 rounding (a block of
        # notes is one pass, and its activations are scaled over the whole block).
        assert np.allclose(values[:at], base[:at], atol=PAST_NOISE[feature])
        starts, diff = group_means(notes, values - base)
        first = int(np.searchsorted(starts, at))
        later = notes["onset_beat"][starts] >= notes["onset_beat"][at] + 3  # after the fade
        full = float(np.median(diff[later][:16]))
        assert abs(full) > 0, (cls, bar)  # the direction does something
        assert abs(diff[first]) <= 0.5 * abs(full), (cls, bar, diff[first], full)
        fade = slice(first, first + int(np.argmax(later[first:])) + 1)
        steps = np.abs(np.diff(np.r_[0.0, diff[fade]]))  # from the last unchanged group on
        assert steps.max() <= abs(full), (cls, bar, steps, full)  # never more than it asks
        # without the fade the same direction would set in at once
        abrupt = np.zeros_like(steering.offsets())
        abrupt[at:] = 2.0 * vectors.vectors[cls]
        sudden = render_all(renderer, score, STYLE.with_offsets(abrupt)).expression[feature]
        _, sudden_diff = group_means(notes, sudden.astype(np.float64) - base)
        assert abs(sudden_diff[first]) > abs(diff[first]), (cls, bar)


def test_a_level_lands_near_itself_and_a_tempo_returns(renderer, vectors, score):
    notes = score.notes
    stream = PerformanceStream(renderer, Score(notes), STYLE)
    base = render_all(renderer, Score(notes), STYLE).expression
    at = place("andante@bar 6", notes).note
    end = int(np.searchsorted(notes["bar"], notes["bar"][at] + 2))
    beat = beat_in_quarters(notes["ts_num"][at:end], notes["ts_den"][at:end])  # 12/8: 1.5
    andante_bp = np.log(60.0 / (84.0 * float(np.median(beat))))
    offsets_for(notes, [place("andante@bar 6", notes)], vectors, stream)
    stream.rewind(at)
    stream.render_to(end)
    before = abs(np.median(base["log_bp"][at:end]) - andante_bp)
    after = abs(np.median(stream.expression["log_bp"][at:end]) - andante_bp)
    assert after < before and after < 0.15, (before, after)

    # much slower from bar 6, a tempo at bar 10: back to the renderer's own tempo in two beats
    slow = offsets_for(notes, [place("much slower@bar 6", notes)], vectors)
    back = offsets_for(
        notes, [place("much slower@bar 6", notes), place("a tempo@bar 10", notes)], vectors
    )
    a_tempo = place("a tempo@bar 10", notes).note
    assert np.array_equal(back[:a_tempo], slow[:a_tempo])
    assert np.abs(back[a_tempo:]).sum() < np.abs(slow[a_tempo:]).sum()
    faded = notes["onset_beat"] >= notes["onset_beat"][a_tempo] + 2.25
    assert not back[faded].any()  # nothing in force after the fade
    slower = render_all(renderer, Score(notes), STYLE.with_offsets(slow)).expression["log_bp"]
    returned = render_all(renderer, Score(notes), STYLE.with_offsets(back)).expression["log_bp"]
    span = slice(a_tempo + 16, a_tempo + 48)
    assert np.median(returned[span]) < np.median(slower[span])  # faster again


def test_undoing_a_tempo_brings_back_the_tempo_direction(vectors, score):
    notes = score.notes
    steering = Steering(notes, vectors)
    steering.apply(DirectionRequest("adagio", 1.0, Scope.UNTIL_TOLD), 10)
    steering.apply(DirectionRequest("a_tempo", 1.0, Scope.FROM_NOW), 40)
    assert steering.active == [DirectionRequest("a_tempo", 1.0, Scope.FROM_NOW)]
    ended = steering.offsets()
    assert steering.undo(80).cls == "a_tempo"
    restored = steering.offsets()
    assert np.array_equal(restored[:80], ended[:80])  # from the undo on only
    assert np.allclose(restored[-1], vectors.vectors["adagio"])
    assert [r.cls for r in steering.active] == ["adagio"]


def midi_notes(path) -> tuple[np.ndarray, np.ndarray]:
    """Onset seconds and velocities of the notes of a MIDI file, in onset order."""
    import mido

    t, onsets, velocities = 0.0, [], []
    for msg in mido.MidiFile(path):
        t += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            onsets.append(t)
            velocities.append(msg.velocity)
    order = np.argsort(onsets, kind="stable")
    return np.asarray(onsets)[order], np.asarray(velocities, np.float64)[order]


def test_render_with_directions_writes_midi_whose_curves_show_them(shared_root, tmp_path):
    """`appliance render SCORE --direct "softer@bar 8" --direct "accelerando@bar 16"`: softer
    from bar 8 on, and the tempo rising over bars 16–17, against the same render without."""
    import subprocess
    import sys

    path = shared_root / "asap" / "Bach" / "Prelude" / "bwv_854" / "xml_score.musicxml"
    notes = load_score(path).notes
    outs = {}
    for name, extra in (
        ("plain", []),
        ("directed", ["--direct", "softer@bar 8", "--direct", "accelerando@bar 16"]),
    ):
        out = outs[name] = tmp_path / f"{name}.mid"
        cmd = [sys.executable, "-m", "appliance.cli", "render", str(path), "-o", str(out), *extra]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr
    (on_a, vel_a), (on_b, vel_b) = midi_notes(outs["plain"]), midi_notes(outs["directed"])
    assert len(on_a) == len(on_b) == len(notes)
    beat = notes["onset_beat"]
    number = notes["bar_number"]
    before = number < 8
    # Before bar 8 the same notes, up to int8 rounding in the block of notes that bar 8 starts.
    assert np.allclose(on_a[before], on_b[before], atol=0.02)
    assert np.abs(vel_a[before] - vel_b[before]).max() <= 2
    softer = (number >= 9) & (number < 16)  # after the fade, before the accelerando
    assert vel_b[softer].mean() < vel_a[softer].mean() - 2

    def tempo(onsets: np.ndarray, first: int, last: int) -> float:  # beats per second
        span = np.flatnonzero((number >= first) & (number <= last))
        return float((beat[span[-1]] - beat[span[0]]) / (onsets[span[-1]] - onsets[span[0]]))

    rise_plain = tempo(on_a, 17, 17) / tempo(on_a, 16, 16)
    rise_directed = tempo(on_b, 17, 17) / tempo(on_b, 16, 16)
    assert rise_directed > rise_plain * 1.03, (rise_plain, rise_directed)


def test_the_effect_benchmark_measures_trials_and_command_times(renderer, vectors, small_dataset):
    from export.bench_directions import command_costs, run_trials
    from export.evaluate import pieces

    by_piece = pieces(None, small_dataset)
    trials = run_trials(renderer, vectors, by_piece, (1.0, 2.0), 3, classes=("pp", "andante"))
    assert {(t.cls, t.strength) for t in trials} == {
        (c, s) for c in ("pp", "andante") for s in (1.0, 2.0)
    }
    for t in trials:
        if t.cls == "pp":  # velocity down
            assert t.intended and t.delta["velocity"] < 0
        assert t.delta["to_andante"] == pytest.approx(
            t.with_["to_andante"] - t.without["to_andante"]
        )
    costs = command_costs(renderer, vectors, by_piece, 2)
    assert set(costs) == {"a way (p)", "a level (andante)"}
    assert all(len(v) == 2 and min(v) > 0 for v in costs.values())
