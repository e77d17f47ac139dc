from pathlib import Path

import pytest

from appliance.paths import shared_data_dir


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
