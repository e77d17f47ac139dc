from pathlib import Path

import pytest

from appliance.paths import REPO_ROOT, shared_data_dir

TINY = REPO_ROOT / "export" / "configs" / "tiny.toml"


# The engine rigs' fixtures (`library`, `synth`) for every test module; a module may define its own.
pytest_plugins = ["tests.rigs"]


@pytest.fixture(scope="session")
def shared_root() -> Path:
    """The shared training data, unpacked into the cache (checksums verified)."""
    if not (shared_data_dir() / "SHA256SUMS").exists():
        pytest.fail(f"the shared data is missing at {shared_data_dir()}")
    from export.extract import extract

    return extract(quiet=True)


@pytest.fixture(scope="session")
def small_dataset(shared_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real dataset of a few performances: one ASAP prelude (5 pianists), one Batik movement."""
    from export.dataset import build

    out = tmp_path_factory.mktemp("dataset")
    build(jobs=2, quiet=True, out=out, only=["Bach/Prelude/bwv_854/", "kv279_2"])
    return out


# A tiny neural renderer trained, exported and quantised once per test session.


@pytest.fixture(scope="session")
def tiny_run(small_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from export.train import train

    run = tmp_path_factory.mktemp("run")
    train(TINY, run, fresh=True, folder=small_dataset, splits=(None, None))
    return run


@pytest.fixture(scope="session")
def tiny_model(tiny_run: Path, small_dataset: Path) -> tuple[Path, dict]:
    from export.onnx_export import export

    out = tiny_run / "models"
    meta = export(tiny_run / "checkpoint.pt", out, folder=small_dataset, prior_split=None)
    return out, meta


@pytest.fixture(scope="session")
def piece(small_dataset: Path):
    from export.dataset import iter_records

    record = next(
        r for r in iter_records(folder=small_dataset) if r.piece == "Bach/Prelude_bwv_854"
    )
    return record


@pytest.fixture(scope="session", autouse=True)
def box_data_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The box's state (library, certificates, pairings, recordings) goes to a temporary folder."""
    import os

    folder = tmp_path_factory.mktemp("appliance-data")
    os.environ["APPLIANCE_DATA"] = str(folder)
    return folder
