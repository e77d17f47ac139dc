"""Thread limits for the numeric libraries: set, inherited, the user's own kept."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from appliance import threads
from appliance.threads import (
    VARIABLES,
    limit_threads,
    onnx_session_options,
    user_settings,
    worker_environment,
)

_REPORT = f"import json, os; print(json.dumps({{k: os.environ.get(k) for k in {VARIABLES!r}}}))"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No thread variable set, and none remembered as set by this process."""
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(threads, "_ours", {})
    return monkeypatch


def _child_sees(env: dict[str, str] | None = None) -> dict[str, str | None]:
    out = subprocess.run(
        [sys.executable, "-c", _REPORT], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_limits_are_set_and_inherited_by_a_child(clean_env: pytest.MonkeyPatch) -> None:
    limits = limit_threads(1)
    assert limits.threads == 1 and limits.kept == {}
    assert all(os.environ[name] == "1" for name in VARIABLES)
    assert _child_sees() == dict.fromkeys(VARIABLES, "1")
    assert user_settings() == {}  # what the box set is not taken for the user's


def test_the_users_own_setting_is_kept(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OMP_NUM_THREADS", "3")
    limits = limit_threads(1)
    assert limits.kept == {"OMP_NUM_THREADS": "3"}
    seen = _child_sees()
    assert seen["OMP_NUM_THREADS"] == "3" and seen["OPENBLAS_NUM_THREADS"] == "1"


def test_a_worker_gets_its_own_count_but_not_over_the_users(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("MKL_NUM_THREADS", "4")
    limit_threads(1)
    seen = _child_sees(worker_environment(2))
    assert seen["OPENBLAS_NUM_THREADS"] == "2" and seen["OMP_NUM_THREADS"] == "2"
    assert seen["MKL_NUM_THREADS"] == "4"
    hard = worker_environment(1, keep_user=False)
    assert all(hard[name] == "1" for name in VARIABLES)


def test_running_blas_pool_is_limited(clean_env: pytest.MonkeyPatch) -> None:
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import numpy  # noqa: F401  (loads its BLAS)

    before = threadpoolctl.threadpool_info()
    try:
        limits = limit_threads(1)
        if any(pool["internal_api"] == "openblas" for pool in before):
            assert limits.pools["openblas"] == 1
        assert all(pool["num_threads"] == 1 for pool in threadpoolctl.threadpool_info())
    finally:
        for pool in before:  # give the test process its pools back
            threadpoolctl.threadpool_limits(pool["num_threads"], user_api=pool["user_api"])


def test_zero_threads_is_refused() -> None:
    with pytest.raises(ValueError):
        limit_threads(0)


def test_onnx_sessions_get_the_thread_count() -> None:
    pytest.importorskip("onnxruntime")
    options = onnx_session_options()
    assert options.intra_op_num_threads == 1 and options.inter_op_num_threads == 1
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert onnx_session_options(3).intra_op_num_threads == 3


def test_the_shipped_renderers_sessions_run_on_one_thread() -> None:
    pytest.importorskip("onnxruntime")
    from appliance.paths import models_dir
    from appliance.render.neural import NeuralModel
    from appliance.render.registry import NEURAL_FOLDER

    folder = models_dir() / NEURAL_FOLDER
    if not (folder / "renderer.json").exists():
        pytest.skip("no shipped renderer")
    for session in NeuralModel(folder).sessions.values():
        options = session.get_session_options()
        assert options.intra_op_num_threads == 1 and options.inter_op_num_threads == 1


def test_the_score_reader_child_runs_on_one_thread(clean_env: pytest.MonkeyPatch) -> None:
    from appliance.score.sandbox import _child_environment

    clean_env.setenv("OPENBLAS_NUM_THREADS", "8")  # the user's, yet the reader's limit is hard
    env = _child_environment()
    assert all(env[name] == "1" for name in VARIABLES)
