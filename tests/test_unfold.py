from appliance.score.unfold import Segment, occurrence_counts, unfold
from tests.notetables import table


def seg(a: int, b: int) -> Segment:
    # 4 divisions per quarter, 4 quarters per bar in tests.notetables
    return Segment(a, b, a / 4, b / 4, a / 4, b / 4, a // 16, (b - 1) // 16 + 1)


def test_unfold_repeats_a_segment_and_numbers_occurrences():
    written = table([0, 1, 2, 3, 4, 8])
    written["id"] = [f"n{i}" for i in range(6)]
    segments = [seg(0, 32), seg(0, 16), seg(32, 48)]
    out = unfold(written, segments)
    assert list(out["id"]) == [
        "n0-1",
        "n1-1",
        "n2-1",
        "n3-1",
        "n4-1",
        "n0-2",
        "n1-2",
        "n2-2",
        "n3-2",
        "n5-1",
    ]
    assert list(out["onset_quarter"]) == [0, 1, 2, 3, 4, 8, 9, 10, 11, 12]
    assert list(out["bar"]) == [0, 0, 0, 0, 1, 2, 2, 2, 2, 3]
    assert list(occurrence_counts(written["onset_div"], segments)) == [2, 2, 2, 2, 1, 1]
