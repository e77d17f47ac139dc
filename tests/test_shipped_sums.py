"""The shipped models' pinned checksums (models_onnx/SHA256SUMS): kept up to date, checked at
start; a renderer file that still loads but is not the one pinned is said (in the session's
problems and by `appliance doctor`), and a plainer renderer plays."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest

from appliance import doctor
from appliance.doctor import Status
from appliance.paths import REPO_ROOT, models_dir
from appliance.perform.session import PlayOptions, Session
from appliance.render import registry
from appliance.render.shipped_sums import SUMS, check_files, write_sums
from export.model_sums import differences


def test_the_checksum_list_is_up_to_date_with_the_shipped_models() -> None:
    assert differences() == [], "run `python -m export.model_sums` (make model does)"


def test_make_model_writes_the_list_last() -> None:
    recipe = (REPO_ROOT / "Makefile").read_text().split("\nmodel:", 1)[1].split("\n\n", 1)[0]
    commands = [line.strip() for line in recipe.splitlines() if line.startswith("\t")]
    assert commands[-1] == "$(PY) -m export.model_sums"


def test_without_a_list_nothing_is_checked(tmp_path: Path) -> None:
    (tmp_path / "a.onnx").write_bytes(b"graph")
    assert check_files(tmp_path, ["a.onnx"]) is None
    write_sums(tmp_path)
    assert check_files(tmp_path, ["a.onnx"]) is None
    (tmp_path / "a.onnx").write_bytes(b"graph!")
    said = check_files(tmp_path, ["a.onnx"])
    assert said is not None and "a.onnx does not match its checksum" in said
    assert "make install" in said


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = tmp_path / "models"
    shutil.copytree(models_dir(), copy)
    monkeypatch.setenv("APPLIANCE_MODELS", str(copy))
    return copy


def test_a_changed_model_that_still_loads_plays_plainly_and_says_so(
    models: Path, tmp_path: Path
) -> None:
    directions = models / "renderer" / "directions.json"
    directions.write_text(json.dumps(json.loads(directions.read_text()), indent=2))  # loads
    assert (models / SUMS).is_file()
    version, trouble = registry.active_model()
    assert version.shipped and trouble is not None
    assert "renderer/directions.json does not match its checksum" in trouble
    options = PlayOptions(piece="bach-bwv846", seed=1, library=tmp_path / "library")
    options.speaker, options.speech, options.llm, options.vision = False, False, False, False
    session = Session(options)
    said = [p for p in session.problems if "directions.json does not match its checksum" in p]
    assert len(said) == 1 and "playing plainly" in said[0], session.problems
    assert "Traceback" not in said[0]
    assert type(session.engine.renderer).__name__ == "MeanRenderer"
    session.start()
    time.sleep(1.0)
    session.close()
    assert session.producer.notes_played > 5  # the music goes on
    check = doctor.check_model_version()
    assert check.status is Status.WARNING and "directions.json" in check.found
    check = doctor.check_manifest()
    assert check.status is Status.PROBLEM and "renderer/directions.json is damaged" in check.found


def test_the_shipped_models_as_they_are_play_the_neural_renderer(models: Path) -> None:
    version, trouble = registry.active_model()
    assert version.shipped and trouble is None
    assert doctor.check_manifest().status is Status.OK
