"""The learning loop end to end on the tiny model: feedback in the memory → a fine-tune →
a new int8 model version that plays as asked; archives from two boxes → one fine-tune (also
under torchrun) → a model archive installed on a third box."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from appliance.render.base import Style, render_all
from appliance.render.neural import NeuralModel, NeuralRenderer
from appliance.render.versions import SHIPPED, ModelVersions
from appliance.score.notes import Score
from appliance.store.rows import FeedbackRow, PerformanceRow
from appliance.store.store import Store
from export.feedback_data import rated_notes
from export.finetune import FinetuneConfig, finetune

PIECE = "bach-bwv846"


def _remember(store: Store, kinds: list[str], seed0: int = 0) -> None:
    """Performances of the prelude, each with one piece of feedback at bar 4–11."""
    for k, kind in enumerate(kinds):
        perf = PerformanceRow(piece_id=PIECE, seed=seed0 + k, model_version=SHIPPED)
        store.put(perf)
        store.put(FeedbackRow(kind=kind, performance_id=perf.id, bar=4 + k % 8))
    store.flush()


@pytest.fixture
def box_models(tiny_model, tmp_path) -> Path:
    """A models folder whose shipped renderer is the tiny model."""
    folder = tmp_path / "models_onnx"
    shutil.copytree(tiny_model[0], folder / "renderer")
    return folder


def test_too_fast_feedback_makes_a_slower_model_version(box_models, tmp_path, library):
    versions = ModelVersions(tmp_path / "versions", box_models / "renderer")
    store = Store.open(tmp_path / "memory.sqlite3")
    _remember(store, ["too_fast"] * 12 + ["like"] * 2 + ["dislike"] * 2)
    steps: list[int] = []
    made, report = finetune(
        store,
        versions,
        cfg=FinetuneConfig(steps=60),
        library_folder=library.folder,
        progress=lambda step, total, losses: steps.append(step),
    )
    store.close()
    assert made is not None and made.parent == SHIPPED and "16 pieces of feedback" in made.note
    assert report["feedback"] == {"too_fast": 12, "like": 2, "dislike": 2}
    assert steps[-1] == 60 and report["left_out"] == {}
    versions.verify(made)
    assert {"weights.npz", "decoder_step.int8.onnx"} <= {name for name, _ in made.files}

    score = library.load(library.pieces[PIECE])
    notes = score.notes
    rated = rated_notes(notes, 8)

    def tempo(folder: Path) -> float:
        renderer = NeuralRenderer(NeuralModel(folder))
        done = render_all(renderer, Score(notes=notes, title=PIECE), Style(seed=3))
        return float(np.mean(done.expression["log_bp"][rated]))

    before, after = tempo(versions.shipped().folder), tempo(made.folder)
    assert after > before + 0.03, (before, after)  # longer beats: slower where it was too fast


def _appliance(args: list[str], env: dict[str, str], module: str = "appliance.cli"):
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env, "COLUMNS": "200"},
        timeout=600,
    )


def _two_boxes(tmp_path: Path) -> list[Path]:
    archives = []
    for n, kinds in enumerate((["too_loud"] * 4, ["like", "too_fast", "too_fast"])):
        store = Store.open(tmp_path / f"box{n}.sqlite3")
        _remember(store, kinds, seed0=10 * n)
        archive = tmp_path / f"box{n}.zip"
        store.export(archive)
        store.close()
        archives.append(archive)
    return archives


def test_archives_from_two_boxes_make_one_model_every_box_installs(box_models, tmp_path, library):
    archives = _two_boxes(tmp_path)
    school = {"APPLIANCE_DATA": str(tmp_path / "school"), "APPLIANCE_MODELS": str(box_models)}
    args = ["--steps", "8", "--library", str(library.folder), "--model-out"]
    done = _appliance(
        [
            *args,
            str(tmp_path / "m.zip"),
            "--archive",
            str(archives[0]),
            "--archive",
            str(archives[1]),
        ],
        school,
        module="export.finetune",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"too_loud": 4' in done.stdout and '"too_fast": 2' in done.stdout
    sha = done.stdout.split("sha256 ")[1].split()[0]

    room = {"APPLIANCE_DATA": str(tmp_path / "room3"), "APPLIANCE_MODELS": str(box_models)}
    wrong = _appliance(["model", "install", str(tmp_path / "m.zip"), "--sha256", "0" * 64], room)
    assert wrong.returncode == 1 and "checksum" in wrong.stdout + wrong.stderr
    installed = _appliance(
        ["model", "install", str(tmp_path / "m.zip"), "--sha256", sha, "--use"], room
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    room3 = ModelVersions(tmp_path / "room3" / "models" / "renderer", box_models / "renderer")
    active, problem = room3.active()
    assert problem is None and active.parent == SHIPPED and "7 pieces of feedback" in active.note


def test_the_same_fine_tune_runs_under_torchrun(box_models, tmp_path, library):
    torchrun = Path(sys.executable).with_name("torchrun")
    archives = _two_boxes(tmp_path)
    env = {"APPLIANCE_DATA": str(tmp_path / "big"), "APPLIANCE_MODELS": str(box_models)}
    done = subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node", "2", "-m", "export.finetune",
         "--steps", "6", "--library", str(library.folder),
         "--archive", str(archives[0]), "--archive", str(archives[1])],
        capture_output=True,
        text=True,
        env={**os.environ, **env, "OMP_NUM_THREADS": "1"},
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    versions = ModelVersions(tmp_path / "big" / "models" / "renderer", box_models / "renderer")
    made = [v for v in versions.all() if not v.shipped]
    assert len(made) == 1 and done.stdout.count("new model version") == 1  # process 0 writes


def test_feedback_is_learnt_against_the_performance_as_steered(tmp_path, library):
    """A performance that started under directions ("pp" from the start) is rendered again
    with them, as the box steered it: the targets are that quieter playing, and the training
    windows carry the same latent offsets. Directions the vectors do not know are passed over."""
    from appliance.directions.steer import SteeringVectors
    from appliance.paths import models_dir
    from export.feedback_data import gather, in_force_offsets

    folder = models_dir() / "renderer"
    model = NeuralModel(folder)
    vectors = SteeringVectors.load(folder / "directions.json")
    store = Store.open(tmp_path / "memory.sqlite3")
    for directions in ([], [["pp", 1.0, "from_now"], ["no-such-class", 1.0, "from_now"], [7]]):
        perf = PerformanceRow(piece_id=PIECE, seed=5, model_version=SHIPPED, directions=directions)
        store.put(perf)
        store.put(FeedbackRow(kind="like", performance_id=perf.id, bar=6))
    store.flush()
    plain, steered = gather(store, library, NeuralRenderer(model), vectors).items
    store.close()
    assert plain.offsets is None and steered.offsets is not None
    assert steered.offsets.shape == (len(steered.notes), model.sizes.total)
    loud = float(np.mean(plain.target["velocity"][plain.rated]))
    soft = float(np.mean(steered.target["velocity"][steered.rated]))
    assert soft < loud - 4.0, (loud, soft)  # the pianissimo it was played with
    notes = steered.notes
    assert in_force_offsets(notes, [["no-such-class", 1.0, "from_now"]], vectors) is None
    assert in_force_offsets(notes, [["pp", 1.0, "from_now"]], None) is None
