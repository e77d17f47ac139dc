import numpy as np
import pytest

from appliance.render.expression import (
    expression_from_performance,
    local_beat_period,
    realise,
)
from tests.notetables import chords, table


def human_like(notes, seed=0):
    """A performance with a tempo curve, chord spread, articulation and dynamics."""
    rng = np.random.default_rng(seed)
    q = notes["onset_quarter"]
    bp = 0.5 + 0.1 * np.sin(q / 3.0)  # seconds per quarter, slowly varying
    grid = np.concatenate([[0.0], np.cumsum(np.diff(q) * bp[:-1])])
    onset = 1.0 + grid + rng.normal(0, 0.01, len(q))
    duration = notes["duration_quarter"] * bp * rng.uniform(0.5, 1.1, len(q))
    velocity = rng.integers(30, 100, len(q)).astype(float)
    pedal = rng.uniform(0, 1, len(q)).astype(np.float32)
    return onset, duration, velocity, pedal


def test_constant_tempo_gives_its_beat_period_and_no_deviation():
    notes = table([0, 0.5, 1, 2, 3, 3.5, 4, 6, 8])
    onset = notes["onset_quarter"] * 0.6 + 2.0
    duration = notes["duration_quarter"] * 0.6
    expr = expression_from_performance(
        notes, onset, duration, np.full(len(notes), 70.0), np.zeros(len(notes))
    )
    assert np.allclose(np.exp(expr["log_bp"]), 0.6, atol=1e-5)
    assert np.allclose(expr["dev"], 0.0, atol=1e-5)
    assert np.allclose(expr["log_art"], 0.0, atol=1e-5)


def test_local_beat_period_follows_a_tempo_change():
    q = np.arange(0, 40, 0.5)
    bp_true = np.where(q < 20, 0.5, 0.25)
    t = np.concatenate([[0.0], np.cumsum(np.diff(q) * bp_true[:-1])])
    bp = local_beat_period(q, t)
    assert np.allclose(bp[q < 18], 0.5) and np.allclose(bp[q > 22], 0.25)


def test_realise_inverts_the_targets_exactly():
    notes = chords(60, per_group=3)
    onset, duration, velocity, pedal = human_like(notes)
    expr = expression_from_performance(notes, onset, duration, velocity, pedal)
    perf, _ = realise(notes, expr)
    shift = onset.min() - perf["onset"].min()
    assert np.allclose(perf["onset"] + shift, onset, atol=1e-5)
    assert np.allclose(perf["duration"], duration, atol=1e-5)
    assert np.array_equal(perf["velocity"], velocity.astype(int))


def test_realise_in_chunks_equals_realise_at_once():
    notes = chords(40, per_group=2)
    expr = expression_from_performance(notes, *human_like(notes, seed=3))
    whole, _ = realise(notes, expr)
    parts, state = [], None
    for a, b in ((0, 10), (10, 36), (36, 80)):
        chunk, state = realise(notes[a:b], expr[a:b], state)
        parts.append(chunk)
    assert np.allclose(np.concatenate(parts)["onset"], whole["onset"])


def test_grace_notes_do_not_move_the_beat():
    notes = table([0, 1, 1, 2], [60, 72, 64, 65])
    notes["is_grace"][1] = True
    from appliance.score.notes import sort_notes

    notes = sort_notes(notes)
    assert notes["is_grace"][1]
    onset = np.array([0.0, 0.42, 0.5, 1.0])
    expr = expression_from_performance(notes, onset, np.full(4, 0.3), np.full(4, 60.0), np.zeros(4))
    assert expr["dev"][1] == pytest.approx(-0.08, abs=1e-6)
    assert expr["dev"][2] == pytest.approx(0.0, abs=1e-6)
