"""The one atomic file writer: all of the new content or all of the old, nothing left behind."""

import os
import stat

import pytest

from appliance.paths import write_atomically


def test_new_content_replaces_old_with_the_mode_asked_for(tmp_path):
    path = tmp_path / "state.json"
    path.write_bytes(b"old")
    write_atomically(path, b"new", mode=0o600)
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_failed_write_keeps_the_old_content_and_leaves_no_stray_file(tmp_path, monkeypatch):
    path = tmp_path / "index.json"
    path.write_bytes(b"old")

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        write_atomically(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["index.json"]
