"""Forgetting a person or everyone (really gone from the files), retention by age and size,
and `appliance data` on the command line."""

from __future__ import annotations

import time

import numpy as np
from typer.testing import CliRunner

from appliance.store import (
    FaceReadingRow,
    FeedbackRow,
    PerformanceRow,
    ProfileRow,
    SessionRow,
    Store,
    StoreSettings,
    TasteRow,
    UtteranceRow,
)
from appliance.store.cli import data_app
from tests.test_store import sample_rows

SECRET = "ZEBRA-SECRET-4242"


def _file_bytes(path) -> bytes:
    return b"".join(
        p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file()
    )  # the database, its write-ahead log and shared memory


def test_forgetting_a_person_erases_them_from_the_files(tmp_path):
    path = tmp_path / "store.sqlite3"
    with Store.open(path, StoreSettings(keep_audio=True)) as store:
        store.put_many(sample_rows("a"))
        store.put_many(sample_rows("b"))
        store.put(ProfileRow("zoe-tablet", "Zoë Q"))
        store.put(ProfileRow("zoe-phone", "  zoë q "))  # the same name on a second phone
        for device in ("zoe-tablet", "zoe-phone"):
            store.put(UtteranceRow(f"{SECRET} slower", "en", profile_id=device))
            store.put(FeedbackRow("too_fast", performance_id="a-perf", profile_id=device))
            store.put(FaceReadingRow(np.full(52, 0.123), profile_id=device))
            store.put(TasteRow(device, {"tempo": -2.0}))
        store.put(PerformanceRow("bach-prelude", id="zoe-asked", profile_id="zoe-phone"))
        store.flush()
        assert SECRET.encode() in _file_bytes(path)

        report = store.forget_user("ZOË Q")
        assert report.profiles == 2
        assert report.deleted["utterances"] == 2 and report.deleted["feedback"] == 2
        assert report.deleted["face_readings"] == 2 and report.deleted["tastes"] == 2
        assert store.get(TasteRow, "zoe-phone") is None and store.get(TasteRow, "a-phone")
        assert store.profiles_named("zoë q") == []
        assert store.get(PerformanceRow, "zoe-asked").profile_id is None  # kept, nameless
        counts = store.rows_per_table()
        assert counts["profiles"] == 2 and counts["utterances"] == 2 and counts["feedback"] == 2
        assert store.get(UtteranceRow, "a-utterance") is not None  # the others stay
    assert SECRET.encode() not in _file_bytes(path)
    assert "Zoë Q".encode() not in _file_bytes(path)


def test_forgetting_everything(tmp_path):
    path = tmp_path / "store.sqlite3"
    with Store.open(path) as store:
        store.put_many(sample_rows())
        store.put(UtteranceRow(SECRET))
        store.flush()
        report = store.forget_all()
        assert report.total == len(sample_rows()) - 1 + 1  # no audio kept (off by default)
        assert set(store.rows_per_table().values()) == {0}
        store.put(FeedbackRow("like", id="after"))  # and the memory goes on
        store.flush()
        assert store.get(FeedbackRow, "after") is not None
    assert SECRET.encode() not in _file_bytes(path)


def test_rows_older_than_the_limit_go(tmp_path):
    now = time.time()
    day = 86400.0
    path = tmp_path / "store.sqlite3"
    with Store.open(path) as store:
        old, new = SessionRow(started=now - 400 * day), SessionRow(started=now - 10 * day)
        store.put_many([old, new, ProfileRow("p", "Pat", created=now - 500 * day)])
        store.put(PerformanceRow("x", id="old-perf", session_id=old.id, started=now - 400 * day))
        store.put(PerformanceRow("x", id="new-perf", session_id=new.id, started=now - 10 * day))
        store.put(FeedbackRow("like", performance_id="new-perf", at=now - 366 * day, id="f1"))
        store.put(FeedbackRow("like", performance_id="new-perf", at=now - 364 * day, id="f2"))
        store.put(FaceReadingRow(np.zeros(52), profile_id="p", at=now - 1 * day, id="face"))
        store.flush()
        report = store.prune()
        assert store.get(SessionRow, old.id) is None and store.get(SessionRow, new.id)
        assert store.get(PerformanceRow, "old-perf") is None
        assert store.get(FeedbackRow, "f1") is None and store.get(FeedbackRow, "f2")
        assert store.get(ProfileRow, "p") is not None  # old, but still referred to
        assert report.deleted["feedback"] == 1 and report.deleted["sessions"] == 1
    with Store.open(path, StoreSettings(keep_days=0.5)) as store:  # pruned on opening
        assert store.get(FaceReadingRow, "face") is None
        assert store.get(ProfileRow, "p") is None


def test_the_oldest_rows_go_when_the_memory_is_over_its_size(tmp_path):
    now = time.time()
    path = tmp_path / "store.sqlite3"
    with Store.open(path) as store:
        for i in range(2000):  # about 2 MB, one reading a minute over the last 2000 minutes
            store.put(FaceReadingRow(np.full(256, i), at=now - (2000 - i) * 60, id=f"r{i:05d}"))
        store.flush()
        assert store.size_bytes() > 1_500_000
    with Store.open(path, StoreSettings(keep_bytes=500_000)) as store:
        assert store.size_bytes() <= 500_000
        kept = [r.id for r in store.all(FaceReadingRow)]
        assert 200 < len(kept) < 600
        assert kept == [f"r{i:05d}" for i in range(2000 - len(kept), 2000)]  # the newest
    assert path.stat().st_size < 1_000_000  # the freed pages went back to the file system


def test_the_session_being_played_is_never_pruned(tmp_path):
    """A box up for longer than the limits: its session (started long ago, not ended) is the
    oldest row, but pruning by age or size takes only its old rows, never the session or the
    performance being played with everything in them; what it writes next belongs to them."""
    now = time.time()
    day = 86400.0
    with Store.open(tmp_path / "store.sqlite3") as store:
        live, ended = SessionRow(started=now - 500 * day), SessionRow(started=now - 499 * day)
        store.put_many([live, SessionRow(ended.id, ended.started, now - 498 * day)])
        store.put(PerformanceRow("x", id="playing", session_id=live.id, started=now - 1 * day))
        for i in range(2000):  # about 2 MB of the live session's face readings, a minute apart
            at = now - (2000 - i) * 60
            store.put(FaceReadingRow(np.full(256, i), performance_id="playing", at=at))
        store.flush()
        store.live.update(sessions=live.id, performances="playing")
        store.settings = StoreSettings(keep_bytes=500_000)
        report = store.prune()
        assert store.size_bytes() <= 500_000 and report.deleted["face_readings"] > 100
        assert store.get(SessionRow, live.id) is not None  # kept, the oldest though it is
        assert store.get(PerformanceRow, "playing") is not None
        assert store.get(SessionRow, ended.id) is None  # an ended old session goes
        store.put(FeedbackRow("like", performance_id="playing", id="after"))
        store.flush()
        assert store.get(FeedbackRow, "after") is not None
        # a session deleted under the box's feet (another process) comes back as a stub
        store.put(UtteranceRow("softer", session_id="gone-session", id="u-gone"))
        store.flush()
        assert store.get(UtteranceRow, "u-gone") is not None


def test_sessions_no_facilitator_ended_are_forgotten_and_no_others(tmp_path):
    """What a room that keeps nothing forgets at a start: the sessions since the last settled
    one — their phones (named in their rows, or paired while they lasted), utterances and face
    readings; their feedback stays without a name — but not an older session, nor the phone
    that just paired in the session now playing."""
    now = time.time()
    with Store.open(tmp_path / "store.sqlite3") as store:
        kept = SessionRow(started=now - 300)
        stopped = SessionRow(started=now - 200)
        playing = SessionRow(started=now - 10)
        store.put_many([kept, stopped, playing])
        store.put_many(
            [
                ProfileRow("old", "Olga", created=now - 290),
                ProfileRow("ann", "Ann", created=now - 500),  # an old friend, back this time
                ProfileRow("quiet", "Quinn", created=now - 150),  # paired, said nothing
                ProfileRow("new", "Nia", created=now - 5),  # in the session playing
                UtteranceRow("softer", session_id=kept.id, profile_id="old", id="u-old"),
                PerformanceRow("x", id="p-stopped", session_id=stopped.id, started=now - 190),
                UtteranceRow("louder", session_id=stopped.id, profile_id="ann", id="u-ann"),
                FeedbackRow("like", performance_id="p-stopped", profile_id="ann", id="f-ann"),
                FaceReadingRow(np.zeros(52), performance_id="p-stopped", profile_id="ann"),
                TasteRow("ann", {"velocity": -0.1}),
            ]
        )
        store.flush()
        report = store.forget_sessions_since(now - 250, playing.id)
        assert sorted(report.devices) == ["ann", "quiet"]
        assert store.get(UtteranceRow, "u-ann") is None and not store.all(FaceReadingRow)
        feedback = store.get(FeedbackRow, "f-ann")
        assert feedback is not None and feedback.profile_id is None
        assert store.get(ProfileRow, "ann") is None and store.get(ProfileRow, "quiet") is None
        assert not [t for t in store.all(TasteRow) if t.owner == "ann"]
        assert store.get(UtteranceRow, "u-old") is not None  # settled before: kept
        assert store.get(ProfileRow, "old") is not None and store.get(ProfileRow, "new")
        assert store.get(PerformanceRow, "p-stopped") is not None  # what was played stays
        assert store.forget_sessions_since(now - 250, playing.id).total == 0  # done once


def test_data_commands(tmp_path, monkeypatch):
    monkeypatch.setenv("APPLIANCE_DATA", str(tmp_path / "box"))
    monkeypatch.setenv("COLUMNS", "200")
    from appliance.store import store_path

    with Store.open(store_path()) as store:
        store.put_many(sample_rows("a"))
    runner = CliRunner()
    info = runner.invoke(data_app, ["info"])
    assert info.exit_code == 0 and "feedback: 1" in info.output and "365 days" in info.output
    out = tmp_path / "memory.zip"
    exported = runner.invoke(data_app, ["export", str(out)])
    assert exported.exit_code == 0 and out.exists() and "rows" in exported.output

    monkeypatch.setenv("APPLIANCE_DATA", str(tmp_path / "other-box"))
    imported = runner.invoke(data_app, ["import", str(out)])
    assert imported.exit_code == 0 and "imported 10 new rows" in imported.output
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"nonsense")
    refused = runner.invoke(data_app, ["import", str(bad)])
    assert refused.exit_code != 0 and "not a readable zip" in str(refused.exception)

    forgot = runner.invoke(data_app, ["forget", "--user", "grandma a"])
    assert forgot.exit_code == 0 and "forgot grandma a (1 profile(s))" in forgot.output
    nobody = runner.invoke(data_app, ["forget", "--user", "grandma a"])
    assert nobody.exit_code != 0 and "nobody is called" in str(nobody.exception)
    assert runner.invoke(data_app, ["forget"]).exit_code != 0
    assert "forgot everything" in runner.invoke(data_app, ["forget", "--all"]).output
    assert "0 old rows deleted" in runner.invoke(data_app, ["prune"]).output


def test_the_limits_are_enforced_periodically_while_writing(tmp_path):
    with Store.open(tmp_path / "store.sqlite3", StoreSettings(prune_every=0.2)) as store:
        deadline = time.monotonic() + 10
        store.put(FeedbackRow("like", at=time.time() - 400 * 86400, id="old"))
        store.flush()
        while store.get(FeedbackRow, "old") is not None and time.monotonic() < deadline:
            store.put(FeedbackRow("like"))  # busy all along
            time.sleep(0.01)
        assert store.get(FeedbackRow, "old") is None
