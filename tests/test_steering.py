"""Directions on the tiny trained model: classifier, steering vectors, scopes, undo, continuity."""

import json
import subprocess
import sys

import numpy as np
import pytest

from appliance.directions.classes import CLASSES, GROUPS, Scope
from appliance.directions.steer import Steering, SteeringVectors
from appliance.directions.timeline import offsets_for, place
from appliance.directions.words import DirectionRequest
from appliance.errors import ApplianceError
from appliance.render.base import Style, render_all
from appliance.render.neural import NeuralModel, NeuralRenderer
from appliance.score.notes import Score
from export.directions import direction_labels, fit
from tests.notetables import table


@pytest.fixture(scope="module")
def vectors_file(tiny_model, small_dataset):
    folder, _ = tiny_model
    report = fit(NeuralModel(folder), small_dataset, (None, None, None))
    path = folder / "directions.json"
    path.write_text(json.dumps(report))
    return path


def unit_vectors(size=3):
    vecs = {c: np.zeros(size, np.float32) for c in CLASSES}
    vecs["p"] = np.array([1.0, 0, 0], np.float32)
    vecs["allegro"] = np.array([0, 1.0, 0], np.float32)
    return SteeringVectors(vecs)


def test_labels_use_markings_and_fill_from_the_performance(piece):
    labels = direction_labels(piece.notes, piece.expression)
    for group, classes in GROUPS.items():
        assert labels[group].min() >= -1 and labels[group].max() < len(classes)
    assert (labels["dynamics"] >= 0).all() and (labels["tempo"] >= 0).all()


def test_classifier_report_and_vectors(vectors_file):
    report = json.loads(vectors_file.read_text())
    assert set(report["vectors"]) == set(CLASSES)
    for group, m in report["groups"].items():
        assert 0 <= m["accuracy"] <= 1 and 0 <= m["macro_f1"] <= 1, group
    assert SteeringVectors.load(vectors_file).size == len(report["vectors"]["p"])
    assert set(report["tails"]) == set(CLASSES)  # a tail share chosen per class
    assert set(report["axis"]) == set(CLASSES) and not report["axis"]["fermata"]  # no opposite
    assert all(0 <= v <= 1 for v in report["validation_intended"].values())


def test_scopes_fade_in_and_out_and_never_touch_the_past():
    notes = table([float(i) for i in range(32)])  # one note per beat, 4/4, 8 bars
    steering = Steering(notes, unit_vectors())
    steering.apply(DirectionRequest("p", 1.0, Scope.HERE), at=5)
    w = steering.offsets()[:, 0]
    assert np.all(w[:5] == 0)
    assert 0 < w[5] < w[6] < 1 and w[7] == 1.0  # faded in over two beats
    assert w[8:12].max() == 1.0 and w[-1] == 0.0  # held to the end of the next bar, then back
    assert np.all(np.diff(w[12:]) <= 0)
    steering.apply(DirectionRequest("allegro", 2.0, Scope.FROM_NOW), at=10)
    off = steering.offsets()
    assert off[-1, 1] == 2.0 and np.all(off[:10, 1] == 0)
    assert steering.undo(at=20).cls == "allegro"
    after = steering.offsets()
    assert np.array_equal(after[:20], off[:20]) and after[-1, 1] == 0.0
    assert 0 < after[20, 1] <= 2.0  # fading out, no jump
    steering.apply(DirectionRequest("p", -1.0, Scope.UNTIL_TOLD), at=22)
    before_reset = steering.offsets()
    assert before_reset[-1, 0] == -1.0
    steering.reset(at=26)
    final = steering.offsets()
    assert np.array_equal(final[:26], before_reset[:26]) and final[-1, 0] == 0.0


def test_directions_placed_at_bars():
    notes = table([float(i) for i in range(32)])
    p = place("a bit softer@bar 3", notes)
    assert p.note == 8 and p.parsed.directions[0].strength == 0.5
    with pytest.raises(ApplianceError, match="no bar 99"):
        place("softer@bar 99", notes)
    with pytest.raises(ApplianceError, match="not a direction"):
        place("sing a song@bar 2", notes)
    with pytest.raises(ApplianceError, match="WORDS@bar"):
        place("softer", notes)
    off = offsets_for(notes, [p, place("back to normal@bar 6", notes)], unit_vectors())
    assert off[8, 0] > 0 and off[-1, 0] == 0


def test_directions_change_only_later_notes_of_a_rendering(tiny_model, vectors_file, piece):
    folder, _ = tiny_model
    model = NeuralModel(folder)
    notes = piece.notes[:200]
    vectors = SteeringVectors.load(vectors_file)
    steer = Steering(notes, vectors)
    steer.apply(DirectionRequest("f", 2.0, Scope.FROM_NOW), at=100)
    base = render_all(NeuralRenderer(model), Score(notes), Style(seed=3, temperature=0.0))
    directed = render_all(
        NeuralRenderer(model), Score(notes), Style(seed=3, temperature=0.0, offsets=steer.offsets())
    )
    assert np.array_equal(base.expression[:100], directed.expression[:100])
    assert not np.allclose(base.expression["velocity"][100:], directed.expression["velocity"][100:])


def test_cli_renders_with_directions(tiny_model, vectors_file, shared_root, tmp_path):
    folder, _ = tiny_model
    models = folder.parent
    (models / "renderer").exists() or (models / "renderer").symlink_to(folder)
    score = shared_root / "asap" / "Bach" / "Prelude" / "bwv_854" / "xml_score.musicxml"
    env = {"APPLIANCE_MODELS": str(models), "PATH": "/usr/bin:/bin"}
    out = tmp_path / "d.mid"
    args = [sys.executable, "-m", "appliance.cli", "render", str(score), "-o", str(out)]
    result = subprocess.run(
        [
            *args,
            "--renderer",
            "neural",
            "--direct",
            "softer@bar 4",
            "--direct",
            "accelerando@bar 8",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert out.exists()
    bad = subprocess.run(
        [*args, "--direct", "softer@bar 4", "--renderer", "deadpan"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode == 1 and "neural renderer" in bad.stderr


def resolve(*args, **kwargs):
    """(class, strength) pairs of the moves a direction resolves to."""
    from appliance.directions.levels import moves

    return [(m.cls, m.strength) for m in moves(*args, **kwargs)]


def test_levels_move_towards_themselves_from_where_the_music_is():
    from appliance.directions.levels import AIM, DEFAULT_EFFECTS, MAX_FACTOR, TOLERANCE
    from appliance.render.expression import EXPRESSION_DTYPE

    notes = table([float(i) for i in range(16)])  # 4/4, one note per beat: beat = quarter
    played = np.zeros(8, EXPRESSION_DTYPE)
    played["log_bp"] = np.log(60.0 / 170.0)  # presto
    played["velocity"] = 100
    played["log_art"] = -1.0  # detached
    ((way, strength),) = resolve("andante", 1.0, notes, played)
    assert way == "adagio" and 0 < strength <= MAX_FACTOR  # slower, by as much as it takes
    ((way, strength),) = resolve("mp", 1.0, notes, played)
    assert way == "p" and strength == MAX_FACTOR  # 36 steps too loud: as soft as allowed
    assert resolve("tenuto", 1.0, notes, played) == [("legato", 0.5), ("staccato", -0.5)]
    played["log_bp"] = np.log(60.0 / 50.0)  # largo
    played["velocity"] = 40
    assert resolve("andante", 1.0, notes, played)[0][0] == "allegro"  # faster
    ((way, strength),) = resolve("mf", 0.5, notes, played)  # 40 steps too soft: part of it
    assert way == "f" and strength == pytest.approx(
        0.5 * AIM * 40 / DEFAULT_EFFECTS["f"]["velocity"]
    )
    ((_, much),) = resolve("mf", 2.0, notes, played)  # all of it
    all_of_it = (40 - TOLERANCE["velocity"] / 2) / DEFAULT_EFFECTS["f"]["velocity"]
    assert much == pytest.approx(min(all_of_it, 2 * MAX_FACTOR))
    played["log_bp"][:4] = np.log(60.0 / 100.0)  # the piece was faster before this bar
    assert resolve("a_tempo", 1.0, notes, played)[0][0] == "allegro"
    played["log_bp"] = np.log(60.0 / 84.0)
    assert resolve("andante", 1.0, notes, played) == []  # already there: nothing to do
    played["velocity"] = 64 + TOLERANCE["velocity"] + 2  # just over: into the band, no further
    effects = {"p": {"velocity": -4.0}, "pp": {"velocity": -2.0}}
    ((way, strength),) = resolve("mp", 1.0, notes, played, effects=effects)
    assert way == "p" and strength == pytest.approx((2 + TOLERANCE["velocity"] / 2) / 4)
    assert resolve("andante", 1.0, notes, None) == [("andante", 1.0)]  # nothing played yet
    assert resolve("p", 1.0, notes, played) == [("p", 1.0)]  # not a level


def test_levels_go_by_the_planned_notes_and_the_measured_effects():
    from appliance.directions.levels import AIM, moves, refine
    from appliance.render.expression import EXPRESSION_DTYPE

    notes = table([float(i) for i in range(16)])
    played = np.zeros(8, EXPRESSION_DTYPE)
    played["log_bp"] = np.log(60.0 / 170.0)  # presto so far …
    planned = np.zeros(8, EXPRESSION_DTYPE)
    planned["log_bp"] = np.log(60.0 / 50.0)  # … but a largo passage comes next
    assert resolve("andante", 1.0, notes, played, planned)[0][0] == "allegro"
    effects = {"allegro": {"beat_period": -0.05}, "presto": {"beat_period": -0.2}}
    (move,) = moves("andante", 1.0, notes, played, planned, effects)
    gap = np.log(84.0 / 50.0)
    assert move.cls == "presto"  # the stronger way
    assert move.strength == pytest.approx(AIM * gap / 0.2)
    assert move.wanted == pytest.approx(-AIM * gap) and move.feature == "beat_period"
    # a preview found the vector acts half as strongly here: twice the strength (within limits)
    assert refine(move, move.wanted / 2).strength == pytest.approx(min(2 * move.strength, 3.0))
    assert refine(move, -move.wanted).strength == move.strength  # the wrong way: no guess
