"""The box fine-tunes on its own when enough feedback has come in (real store, real fine-tune
of the tiny model in a process of its own)."""

import importlib.util
import os
import shutil
import time
from pathlib import Path

from appliance.events import Notice
from appliance.learn import background
from appliance.learn.background import AutoFinetune, enabled
from appliance.paths import models_dir
from appliance.render.versions import SHIPPED, ModelVersions
from appliance.store.rows import FeedbackRow, PerformanceRow
from appliance.store.store import Store


def _feedback(store: Store, n: int, kind: str = "too_fast", at: float | None = None) -> None:
    for k in range(n):
        perf = PerformanceRow(piece_id="bach-bwv846", seed=k)
        store.put(perf)
        when = time.time() if at is None else at
        store.put(FeedbackRow(kind=kind, performance_id=perf.id, bar=4 + k % 6, at=when))
    store.flush()


def test_it_waits_for_enough_new_feedback_and_a_day_between_tries(tmp_path):
    store = Store.open(tmp_path / "memory.sqlite3")
    versions = ModelVersions(tmp_path / "versions", models_dir() / "renderer")
    auto = AutoFinetune(store, versions)
    two_minutes_ago = time.time() - 120
    _feedback(store, background.NEW_FEEDBACK - 1, at=two_minutes_ago)
    assert auto.new_feedback() == background.NEW_FEEDBACK - 1 and not auto.due()
    _feedback(store, 1, at=two_minutes_ago)
    assert auto.due()
    auto.last_try = time.time() - 60  # tried a minute ago: the feedback before it is used up
    assert auto.new_feedback() == 0 and not auto.due()
    _feedback(store, background.NEW_FEEDBACK)
    assert not auto.due()  # enough again, but not a day since the last try
    assert auto.due(now=time.time() + background.REST)
    store.close()


def test_it_can_be_turned_off():
    assert not enabled({"APPLIANCE_AUTO_FINETUNE": "0"})
    assert enabled({}) is (importlib.util.find_spec("torch") is not None)


def test_enough_feedback_makes_a_new_version_that_plays(tiny_model, tmp_path, library):
    box_models = tmp_path / "models_onnx"
    shutil.copytree(tiny_model[0], box_models / "renderer")
    data = tmp_path / "data"
    env = {**os.environ, "APPLIANCE_DATA": str(data), "APPLIANCE_MODELS": str(box_models)}
    versions = ModelVersions(data / "models" / "renderer", box_models / "renderer")
    store = Store.open(tmp_path / "memory.sqlite3")
    _feedback(store, 12)
    told: list = []
    auto = AutoFinetune(store, versions, told.append, env=env, library=library.folder, steps=10)
    assert auto.run_once()
    active, problem = versions.active()
    assert problem is None and active.parent == SHIPPED and "12 pieces of feedback" in active.note
    assert [e for e in told if isinstance(e, Notice) and active.version in e.message]
    assert auto.new_feedback() == 0  # what it learnt from is not counted again
    log = Path(os.environ["APPLIANCE_DATA"]) / "finetune.log"
    assert "new model version" in log.read_text()
    store.close()
