"""Phrase structure from the note table, its features, and phrasing measured on performances."""

import numpy as np
import pytest

from appliance.render.expression import EXPRESSION_DTYPE, realise
from appliance.render.features import score_features
from appliance.render.phrasing import (
    find_phrases,
    metrical_strength,
    phrase_end_positions,
    phrase_features,
)
from appliance.score.notes import NOTE_DTYPE, merge_unisons
from export.phrasing_metrics import four_bar_ends, measure, spread
from tests.notetables import table


def _end_bars(notes):
    g, _, ends = find_phrases(notes)
    assert np.array_equal(phrase_end_positions(notes), np.append(g.onset[1:], g.end[-1])[ends])
    return [int(b) + 1 for b in g.bar[ends]]


def _eighths(n_bars: int, rest_after_bars: tuple[int, ...] = ()) -> np.ndarray:
    """Running eighths over ``n_bars`` bars of 4/4; the last two eighths of each bar named in
    ``rest_after_bars`` are a rest."""
    onsets = []
    for bar in range(n_bars):
        for k in range(8):
            if bar + 1 in rest_after_bars and k >= 6:
                continue
            onsets.append(bar * 4 + k * 0.5)
    return table(onsets, [60 + (i % 7) for i in range(len(onsets))], [0.5] * len(onsets))


def test_running_notes_without_cues_fall_into_four_bar_phrases():
    assert _end_bars(_eighths(16)) == [4, 8, 12, 16]


def test_a_rest_ends_a_phrase_where_the_music_breathes():
    assert _end_bars(_eighths(12, rest_after_bars=(3, 9))) == [3, 9, 12]


def test_a_fermata_and_a_long_note_end_phrases():
    notes = _eighths(10)
    notes["fermata"][(notes["bar"] == 4) & (notes["bar_position"] == 3.5)] = True
    ends = _end_bars(notes)
    assert 5 in ends and ends[-1] == 10
    # A whole note after running eighths (bar 3), then running eighths again.
    onsets = [k * 0.5 for k in range(16)] + [8.0] + [12 + k * 0.5 for k in range(24)]
    durations = [0.5] * 16 + [4.0] + [0.5] * 24
    long = table(onsets, [60 + (i % 5) for i in range(len(onsets))], durations)
    assert _end_bars(long)[0] == 3


def test_phrase_features_count_down_to_each_end_and_to_the_last_bar():
    notes = _eighths(16)
    x, names = phrase_features(notes)
    assert x.shape == (len(notes), len(names)) and np.isfinite(x).all()
    col = {n: x[:, i] for i, n in enumerate(names)}
    first_phrase = notes["bar"] < 4
    assert np.all(np.diff(col["phrase_to_end"][first_phrase]) < 0)
    assert np.all(np.diff(col["phrase_position"][first_phrase]) > 0)
    assert col["phrase_last_group"][first_phrase][-1] == 1
    assert col["phrase_last_group"][first_phrase][:-1].sum() == 0
    assert col["piece_end_near"][-1] > 0.7 and col["piece_end_near"][0] < 0.05
    assert col["piece_start_near"][0] == pytest.approx(1.0)
    # The score features carry them after the marking columns.
    full, full_names = score_features(notes)
    assert full_names[-len(names) :] == names
    assert np.array_equal(full[:, -len(names) :], x)


def test_features_of_an_empty_or_one_note_table():
    x, names = phrase_features(table([]))
    assert x.shape == (0, len(names))
    x, _ = phrase_features(table([0.0]))
    assert x.shape[0] == 1 and np.isfinite(x).all()


def test_metrical_strength_follows_the_time_signature():
    notes = table([0, 0.5, 1, 2, 3, 3.25])
    assert list(metrical_strength(notes)) == [1.0, 0.25, 0.5, 0.75, 0.5, 0.0]
    six_eight = table([0, 0.5, 1.5, 2.0])
    six_eight["ts_num"], six_eight["ts_den"], six_eight["bar_length"] = 6, 8, 3.0
    six_eight["bar_position"] = six_eight["onset_quarter"] % 3
    # Two dotted-quarter beats: 1.5 is the second beat (no mid-bar level with two beats).
    assert list(metrical_strength(six_eight)) == [1.0, 0.0, 0.5, 0.0]


def test_the_top_voice_is_the_highest_sounding_note():
    # A held high C over a lower melody: the lower notes are not the top voice while it sounds.
    notes = table([0, 0, 1, 2, 4], [72, 60, 62, 64, 65], [4, 1, 1, 1, 1])
    x, names = phrase_features(notes)
    top = x[:, names.index("top_voice")]
    by_pitch = dict(zip(notes["pitch"].tolist(), top.tolist(), strict=True))
    assert by_pitch[72] == 1 and by_pitch[62] == 0 and by_pitch[64] == 0 and by_pitch[65] == 1


def test_unisons_in_two_voices_become_one_key():
    notes = np.zeros(5, dtype=NOTE_DTYPE)
    notes["id"] = ["a", "b", "c", "d", "e"]
    notes["pitch"] = [60, 60, 64, 60, 60]
    notes["onset_div"] = [0, 0, 0, 4, 4]
    notes["duration_quarter"] = [0.01, 2.0, 1.0, 1.0, 1.0]
    notes["voice"] = [1, 2, 1, 1, 2]
    notes["staccato"] = [True, False, False, False, False]
    notes["is_grace"] = [False, False, False, True, False]
    merged = merge_unisons(notes)
    # The longer copy stays (with the short one's staccato); grace and main notes stay apart.
    assert list(merged["id"]) == ["b", "c", "d", "e"]
    assert merged["staccato"][0] and merged["duration_quarter"][0] == 2.0
    assert merge_unisons(merged) is merged  # nothing left to merge: the same table


def _performance(notes: np.ndarray, slow_end: float, slow_close: float) -> np.ndarray:
    """Onsets and velocities at 0.5 s per quarter, the last beat of each 4-bar phrase
    ``slow_end`` slower and the last bar ``slow_close`` slower."""
    expression = np.zeros(len(notes), dtype=EXPRESSION_DTYPE)
    q = notes["onset_quarter"]
    bp = np.full(len(notes), 0.5)
    bp[(q % 16) >= 15] *= 1 + slow_end
    bp[notes["bar"] == notes["bar"].max()] = 0.5 * (1 + slow_close)
    expression["log_bp"] = np.log(bp)
    expression["velocity"] = np.linspace(40, 90, len(notes))
    performed, _ = realise(notes, expression)
    return performed


def test_phrasing_metrics_find_the_slowing_a_performance_makes():
    notes = _eighths(16)
    m = measure(notes, _performance(notes, 0.25, 0.6))
    # From one beat before the last onset (14.5) to the next phrase (16): one eighth at the
    # normal pace, two 25 % slower: (0.25 + 2 × 0.3125) / 1.5 quarters = 0.5833 s a quarter.
    assert m.phrase_end_slowing == pytest.approx(0.5833333 / 0.5 - 1, abs=1e-6)
    assert m.closing_ritardando == pytest.approx(0.6, abs=1e-6)
    assert m.median_qpm == pytest.approx(120.0)
    assert m.velocity_range == pytest.approx(45.0, abs=1.0)
    flat = measure(notes, _performance(notes, 0.0, 0.0))
    assert flat.phrase_end_slowing == pytest.approx(0) and flat.closing_ritardando == pytest.approx(
        0
    )
    keep = notes["bar"] < 8  # a human performance's matched notes only: one phrase to measure
    kept = measure(notes, _performance(notes, 0.25, 0.6), keep)
    assert kept.phrase_end_slowing == pytest.approx(1 / 6, abs=1e-6)
    assert np.isnan(kept.closing_ritardando)  # the last bar was not played
    assert spread([1.0, float("nan"), 3.0, 2.0]) == (2.0, 1.5, 2.5)


def test_four_bar_phrases_are_measured_apart_from_the_detected_ones():
    # Rests end the detected phrases after bars 2, 6, 10 and 14; the performance slows only
    # into every fourth bar's end, so only the four-bar figure sees the slowing.
    notes = _eighths(16, rest_after_bars=(2, 6, 10, 14))
    assert _end_bars(notes)[:4] == [2, 6, 10, 14]
    m = measure(notes, _performance(notes, 0.25, 0.0))
    assert m.four_bar_end_slowing == pytest.approx(0.5833333 / 0.5 - 1, abs=1e-6)
    assert abs(m.phrase_end_slowing) < 0.02
    assert _four_bar_end_bars(notes) == [3, 7, 11, 15]
    # An upbeat bar (shorter than the metre) is not counted: the first four-bar phrase ends
    # after the fourth full bar.
    upbeat = table([3.0, 3.5] + [4.0 + 0.5 * k for k in range(8 * 5)])
    upbeat["bar_length"][upbeat["bar"] == 0] = 1.0
    assert _four_bar_end_bars(upbeat) == [4, 5]
    # A full first bar that begins with a rest is counted.
    rest_first = table([1.0 + 0.5 * k for k in range(6)] + [4.0 + 0.5 * k for k in range(8 * 5)])
    assert _four_bar_end_bars(rest_first) == [3, 5]
    # A bar split in two by a repeat sign counts once; a bar with no onset counts too.
    split = table([0.5 * k for k in range(8 * 6)])
    split["bar"] = np.where(split["onset_quarter"] >= 6.0, split["bar"] + 1, split["bar"])
    split["bar_length"][(split["bar"] == 1) | (split["bar"] == 2)] = 2.0
    assert _four_bar_end_bars(split) == [4, 6]
    gap = table([0.5 * k for k in range(8 * 8) if not 8.0 <= 0.5 * k < 16.0])
    assert _four_bar_end_bars(gap) == [1, 7]


def _four_bar_end_bars(notes):
    g, _, _ = find_phrases(notes)
    return [int(b) for b in g.bar[four_bar_ends(notes, g.bar)]]
