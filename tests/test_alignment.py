import numpy as np

from export.alignment import (
    Alignment,
    choose_path,
    fill_missing,
    map_tied,
    pedal_at,
    split_occurrence,
)
from tests.notetables import table
from tests.test_unfold import seg


def test_asap_tsv_is_read(tmp_path):
    path = tmp_path / "note_alignment.tsv"
    path.write_text(
        "xml_id\tmidi_id\ttrack\tchannel\tpitch\tonset\n"
        "n1-1\tn0\t1\t0\t60\t0.5\n"
        "insertion\tn1\t1\t0\t61\t0.7\n"
        "n2-1\tdeletion\t\t\t\t\n"
    )
    a = Alignment.from_asap_tsv(path)
    assert a.matches == [("n1-1", "n0")] and a.insertions == ["n1"] and a.deletions == ["n2-1"]


def test_tie_continuations_point_at_their_head():
    a = Alignment([("n5-1", "p1"), ("n6-2", "p2")], ["n6-1"], [])
    mapped = map_tied(a, {"n6": "n5"})
    assert mapped.matches == [("n5-1", "p1"), ("n5-2", "p2")]
    assert mapped.deletions == []  # n5-1 is already matched
    assert split_occurrence("n12-3") == ("n12", 3) and split_occurrence("x") == ("x", 1)


def test_choose_path_picks_the_performed_repeats():
    written = table([0, 1, 2, 3, 4])
    written["id"] = [f"n{i}" for i in range(5)]
    once, twice = [seg(0, 20)], [seg(0, 16), seg(0, 20)]
    aligned = [f"n{i}-1" for i in range(5)] + [f"n{i}-2" for i in range(4)]
    assert choose_path(written["id"], written["onset_div"], [once, twice], aligned) == (1, 1.0)
    best, coverage = choose_path(written["id"], written["onset_div"], [twice, once], aligned[:5])
    assert best == 1 and coverage == 1.0  # both cover; the shorter path wins


def test_missing_notes_follow_local_tempo_and_dynamics():
    notes = table([0, 1, 2, 3, 4, 4])
    onset = np.array([10.0, 10.5, 0, 11.5, 12.0, 12.0])
    duration = np.array([0.5, 0.5, 0, 0.5, 0.5, 0.25])
    velocity = np.array([40.0, 50, 0, 70, 80, 60])
    matched = np.array([True, True, False, True, True, True])
    o, d, v = fill_missing(notes, onset, duration, velocity, matched)
    assert o[2] == 11.0 and v[2] == 60.0 and d[2] == 0.5
    assert np.array_equal(o[matched], onset[matched])


def test_pedal_at_reads_the_last_change():
    values = pedal_at(
        np.array([0.0, 1.0, 1.5, 3.0]), np.array([0.5, 1.5, 2.0]), np.array([127.0, 64, 0])
    )
    assert np.allclose(values, [0.0, 1.0, 64 / 127, 0.0])
