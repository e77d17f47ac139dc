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


# The slow layers are marked here, in one place, so that `make quick` can leave them out
# (`make test` runs them all): by file, or by test (``file::test``, every parameter), and every
# test that needs the shared training data, builds the training set or trains a model by the
# fixtures it uses. A test renamed here runs in the quick loop until this table follows it.
SLOW: dict[str, str] = {
    "test_web.py": "browser",  # headless Chromium (Playwright) against a box on loopback
    "test_web_invite.py": "browser",
    "test_facilitator_browser.py": "browser",  # a facilitator and two phones in Chromium
    "test_display.py::test_the_wall_display_follows_the_music": "browser",
    "test_accessibility.py": "browser",  # the phone page audited (axe-core) in Chromium
    "test_audio_output.py": "pulseaudio",  # a private PulseAudio server
    "test_soak.py": "soak",  # the soak benchmark's 2-minute version
    "test_abuse.py": "soak",  # a whole box on loopback under floods
    "test_cli.py": "slow",  # the command line end to end, in processes of its own
    "test_faces.py": "slow",  # MediaPipe in its worker process, on real faces
    # scores added to a library, each read in a sandboxed child process
    "test_library.py::test_add_list_remove_and_bad_files": "slow",
    "test_library.py::test_titles_come_from_the_score_before_the_file_name": "slow",
    "test_library.py::test_adding_the_same_file_again_updates_it_and_a_running_box_sees_it": "slow",
    "test_library.py::test_which_pieces_may_open_a_session": "slow",
    "test_library.py::test_a_non_utf8_file_name_is_stored_safely_and_leaves_nothing_behind": "slow",
    "test_library.py::test_a_failed_save_leaves_no_stray_file": "slow",
    "test_library.py::test_a_damaged_index_falls_back_to_the_backup_then_to_the_shipped_pieces": (
        "slow"
    ),
    "test_library.py::test_added_pieces_are_read_here_only_while_their_content_matches": "slow",
    # the sentence model computes the descriptor anchors afresh
    "test_descriptors.py::test_unusable_anchors_are_computed_instead_with_a_warning": "slow",
    "test_descriptors.py::test_an_edited_table_does_not_use_the_shipped_anchors": "slow",
    # the server's timeouts for slow clients and guessers, waited out
    "test_http_limits.py::test_a_client_sending_a_header_line_every_2_s_is_cut_off": "slow",
    "test_http_limits.py::test_a_body_sent_too_slowly_is_given_up": "slow",
    "test_http_limits.py::test_guessing_rate_before_and_after": "slow",
}
TRAINING_FIXTURES = frozenset({"shared_root", "small_dataset", "tiny_run", "tiny_model", "piece"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        name = getattr(item, "originalname", item.name)
        for key in (item.path.name, f"{item.path.name}::{name}"):
            if key in SLOW:
                item.add_marker(SLOW[key])
        if TRAINING_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.training)
