"""The memory's rows: every table's round trip through the writer thread and back, updates,
references to rows not stored yet, bad rows, raw audio only when asked for."""

from __future__ import annotations

import sqlite3
from dataclasses import replace

import numpy as np
import pytest

from appliance.store import (
    AudioClipRow,
    DirectionRow,
    FaceReadingRow,
    FeedbackRow,
    ModelVersionRow,
    PerformanceRow,
    PieceRow,
    ProfileRow,
    SessionRow,
    Store,
    StoreSettings,
    TasteRow,
    UtteranceRow,
)
from appliance.store.codec import columns_of, to_columns
from appliance.store.rows import ROW_TYPES, Row

NOW = 1_800_000_000.0


def sample_rows(box: str = "a", now: float = NOW) -> list[Row]:
    """One row of every type (parents first), with ids of box ``box``."""
    rng = np.random.default_rng(len(box))
    session = SessionRow(id=f"{box}-session", started=now, ended=now + 3600)
    return [
        PieceRow("bach-prelude", "Prelude in C", "J. S. Bach", "ab" * 32, added=now),
        ModelVersionRow(f"2026.12-{box}", "cd" * 32, created=now, active=True),
        session,
        ProfileRow(f"{box}-phone", f"Grandma {box}", created=now),
        PerformanceRow(
            "bach-prelude",
            id=f"{box}-perf",
            session_id=session.id,
            profile_id=f"{box}-phone",
            seed=-(2**40),
            latents=rng.normal(size=(317, 16)).astype(np.float32),
            directions=[{"cls": "softer", "strength": 0.5, "from_bar": 3}],
            model_version=f"2026.12-{box}",
            started=now + 1,
        ),
        FeedbackRow(
            "too_fast",
            performance_id=f"{box}-perf",
            profile_id=f"{box}-phone",
            rating=-1.0,
            aspects={"tempo": -0.7, "words": "ein bisschen schneller — «bitte»"},
            bar=12,
            seconds=31.25,
            at=now + 2,
            id=f"{box}-feedback",
        ),
        DirectionRow(
            "softer please",
            "speech",
            [["softer", 0.5], ["legato", 0.25]],
            performance_id=f"{box}-perf",
            profile_id=f"{box}-phone",
            bar=14,
            at=now + 3,
            id=f"{box}-direction",
        ),
        UtteranceRow(
            "тише, пожалуйста",
            "ru",
            [{"intent": "direction", "cls": "softer"}],
            rng.normal(size=384).astype(np.float32),
            session_id=session.id,
            profile_id=f"{box}-phone",
            at=now + 4,
            id=f"{box}-utterance",
        ),
        FaceReadingRow(
            rng.uniform(size=52).astype(np.float32),
            yaw=-12.5,
            pitch=3.25,
            roll=0.5,
            performance_id=f"{box}-perf",
            profile_id=f"{box}-phone",
            at=now + 5,
            id=f"{box}-face",
        ),
        AudioClipRow(
            rng.integers(-3000, 3000, size=1600, dtype=np.int16).tobytes(),
            16_000,
            utterance_id=f"{box}-utterance",
            profile_id=f"{box}-phone",
            at=now + 6,
            id=f"{box}-audio",
        ),
        TasteRow(f"{box}-phone", {"tempo": -1.0, "dynamics": 0.5, "feedback": 3}, updated=now),
    ]


def same(a: Row, b: Row) -> bool:
    """Rows equal as stored (arrays compared bit for bit)."""
    return type(a) is type(b) and to_columns(a) == to_columns(b)


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "store.sqlite3", StoreSettings(keep_audio=True)) as s:
        yield s


def test_every_table_round_trips(store):
    rows = sample_rows()
    assert store.put_many(rows) == len(rows)
    store.flush()
    assert store.counts.committed == len(rows) and store.counts.rejected == 0
    for row in rows:
        back = store.get(type(row), getattr(row, type(row).KEY))
        assert back is not None and same(back, row), type(row).__name__
    perf = store.get(PerformanceRow, "a-perf")
    assert perf is not None and perf.latents is not None
    assert perf.latents.dtype == np.float32 and perf.latents.shape == (317, 16)
    assert store.rows_per_table() == {row.TABLE: 1 for row in rows}
    assert [r.id for r in store.of_profile(FeedbackRow, "a-phone")] == ["a-feedback"]
    assert [p.device_id for p in store.profiles_named("GRANDMA A ")] == ["a-phone"]
    assert store.active_model() is not None and store.performances_of("bach-prelude")


def test_the_columns_are_the_rows_fields(store):
    conn = sqlite3.connect(store.path)
    for cls in ROW_TYPES:
        table = [r[1] for r in conn.execute(f"PRAGMA table_info({cls.TABLE})")]
        assert sorted(table) == sorted(columns_of(cls)), cls.TABLE
    conn.close()


def test_updates_keep_children_and_one_model_is_active(store):
    rows = sample_rows()
    store.put_many(rows)
    session = next(r for r in rows if isinstance(r, SessionRow))
    store.put(replace(session, ended=NOW + 7200))  # an update, not a delete and insert
    store.put(ProfileRow("a-phone", "Oma", created=NOW))
    store.put(ModelVersionRow("2027.01", created=NOW + 10, active=True))
    store.flush()
    assert store.get(SessionRow, session.id).ended == NOW + 7200
    assert store.get(PerformanceRow, "a-perf") is not None  # not cascaded away
    assert store.profiles_named("oma") and not store.profiles_named("Grandma a")
    assert store.active_model().version == "2027.01"
    assert not store.get(ModelVersionRow, "2026.12-a").active


def test_references_to_rows_not_stored_yet_get_stubs_and_dangling_ones_are_skipped(store):
    assert store.put(PerformanceRow("unknown-piece", id="p", profile_id="new-phone",
                                    model_version="v9"))  # fmt: skip
    assert store.put(FeedbackRow("like", performance_id="no-such-performance", id="f1"))
    assert store.put(FeedbackRow("like", performance_id="p", id="f2"))
    store.flush()
    assert store.get(PieceRow, "unknown-piece") is not None
    assert store.get(ProfileRow, "new-phone").name == ""
    assert store.get(ModelVersionRow, "v9") is not None
    assert store.get(FeedbackRow, "f1") is None and store.get(FeedbackRow, "f2") is not None
    assert store.counts.rejected == 1 and store.problem is None


@pytest.mark.parametrize(
    "make",
    [
        lambda: DirectionRow("x", "telepathy"),
        lambda: FeedbackRow("like", aspects={"x": float("nan")}),
        lambda: FeedbackRow("like", aspects={"x": "y" * 20_000}),
        lambda: FaceReadingRow(np.zeros((2, 2, 2))),
        lambda: FaceReadingRow(np.array([np.inf])),
        lambda: PerformanceRow("p", latents=np.zeros((4096, 1024))),
        lambda: UtteranceRow("x" * 5000),
        lambda: ProfileRow("d", "n" * 101),
        lambda: PieceRow("p", source_sha256="not hex"),
        lambda: AudioClipRow(b"\x00\x01\x02"),
        lambda: PerformanceRow("p", seed=2**70),
    ],
)
def test_bad_rows_are_refused_when_made(make):
    with pytest.raises(ValueError):
        make()


def test_raw_audio_is_kept_only_when_the_setting_asks(tmp_path):
    clip = AudioClipRow(b"\x00\x00" * 100, id="clip")
    with Store.open(tmp_path / "off.sqlite3") as off:
        assert not off.settings.keep_audio and not off.put(clip)
        off.flush()
        assert off.get(AudioClipRow, "clip") is None
    with Store.open(tmp_path / "on.sqlite3", StoreSettings(keep_audio=True)) as on:
        assert on.put(clip)
        on.flush()
        assert on.get(AudioClipRow, "clip").samples == clip.samples


def test_settings_from_the_environment():
    assert StoreSettings.from_env({}) == StoreSettings()
    s = StoreSettings.from_env(
        {"APPLIANCE_KEEP_DAYS": "30", "APPLIANCE_KEEP_MB": "50", "APPLIANCE_KEEP_AUDIO": "yes"}
    )
    assert (s.keep_days, s.keep_bytes, s.keep_audio) == (30, 50_000_000, True)
    from appliance.errors import ApplianceError

    with pytest.raises(ApplianceError, match="APPLIANCE_KEEP_DAYS"):
        StoreSettings.from_env({"APPLIANCE_KEEP_DAYS": "-1"})


def test_reads_from_several_threads_use_their_own_connections(store):
    import threading

    store.put_many(sample_rows())
    store.flush()
    found: list[int] = []
    threads = [
        threading.Thread(target=lambda: found.append(len(store.all(FeedbackRow)))) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert found == [1, 1, 1, 1]


def test_the_store_is_the_lowest_layer():
    """The store imports only the standard library, numpy, typer/rich (its command line) and
    appliance.errors / appliance.paths — never the engine, the phones' server or the renderer."""
    import ast

    from appliance.paths import PACKAGE_ROOT

    allowed = {"appliance.errors", "appliance.paths"}
    for path in sorted((PACKAGE_ROOT / "store").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.startswith("appliance") and not name.startswith("appliance.store"):
                    assert name in allowed, f"{path.name} imports {name}"


def test_forgetting_needs_a_name(store):
    from appliance.store import StoreError

    with pytest.raises(StoreError, match="name the person"):
        store.forget_user("  ")
