"""Scores from outside are read in a child process within memory and time limits."""

from __future__ import annotations

import io
import json
import signal
import time

import numpy as np
import pytest

from appliance.errors import ScoreError
from appliance.score import load_score, load_trusted_score
from appliance.score.limits import TIME_LIMIT_SECONDS
from appliance.score.notes import NOTE_DTYPE
from appliance.score.sandbox import _answer
from export import hostile_files as hostile
from tests import scores


def test_a_score_read_in_the_child_is_the_score_read_here(tmp_path):
    path = tmp_path / "d.musicxml"
    path.write_text(scores.directions_score())
    child, here = load_score(path), load_trusted_score(path)
    assert np.array_equal(child.notes, here.notes)
    assert (child.title, child.composer, child.bars) == (here.title, here.composer, here.bars)
    assert child.source == path


def test_the_childs_refusals_come_back_as_they_were(tmp_path):
    path = tmp_path / "zero.mid"
    path.write_bytes(hostile.midi_zero_numerator())
    with pytest.raises(ScoreError, match="0 beats in a bar") as info:
        load_score(path)
    assert info.value.path == path


def test_a_hundred_thousand_bars_are_refused_within_the_limits(tmp_path):
    path = tmp_path / "bars.musicxml"
    path.write_text(hostile.musicxml_many_measures(100_000))
    started = time.monotonic()
    with pytest.raises(ScoreError, match="bars in a part"):
        load_score(path)
    assert time.monotonic() - started < TIME_LIMIT_SECONDS


def test_memory_and_time_limits_refuse_clearly(tmp_path):
    path = tmp_path / "d.musicxml"
    path.write_text(scores.directions_score())
    with pytest.raises(ScoreError, match="needs more than 100 MB to read"):
        load_score(path, memory=100 << 20)  # less than the reader itself needs
    started = time.monotonic()
    with pytest.raises(ScoreError, match=r"took over (0\.5 s of processing|1\.5 s by the clock)"):
        load_score(path, seconds=0.5)
    assert time.monotonic() - started < 5


def test_what_the_child_says_is_checked():
    path = "x.mid"
    with pytest.raises(ScoreError, match="took over 30 s"):
        _answer(path, -signal.SIGXCPU, b"", "", 1 << 29, 30)
    with pytest.raises(ScoreError, match="needs more than 512 MB"):
        _answer(path, 1, b"", "Traceback\nMemoryError", 1 << 29, 30)
    with pytest.raises(ScoreError, match=r"reader failed \(Boom\)"):
        _answer(path, 1, b"", "Traceback\nBoom", 1 << 29, 30)
    wrong = io.BytesIO()
    np.save(wrong, np.zeros(3))
    with pytest.raises(ScoreError, match="malformed note table"):
        _answer(path, 0, b'{"title": "", "composer": "", "bars": 1}\n' + wrong.getvalue(), "", 1, 1)
    right = io.BytesIO()
    np.save(right, np.zeros(2, dtype=NOTE_DTYPE))
    head = json.dumps({"title": "T", "composer": "C", "bars": 2}).encode()
    score = _answer(path, 0, head + b"\n" + right.getvalue(), "", 1, 1)
    assert (len(score.notes), score.title, score.bars) == (2, "T", 2)
