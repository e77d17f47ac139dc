"""Tempo headings: Italian words, and German, French and English ones read as their Italian."""

import numpy as np
import pytest

from appliance.score import load_trusted_score, markings
from appliance.score.tempo_headings import tempo_word_index
from tests import scores


def word(text: str | None, within_words: int | None = None) -> str | None:
    i = tempo_word_index(text, within_words)
    return markings.TEMPO_WORDS[i] if i >= 0 else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Allegro ma non troppo", "allegro"),
        ("Allegretto", "allegretto"),
        ("Molto Adagio", "adagio"),
        ("Allegro_vivace", "allegro"),
        ("Allegro moderato", "moderato"),  # the longest Italian word, as before
        ("Andantino.", "andantino"),
        ("Sehr langsam M.M.", "largo"),
        ("Langsam", "lento"),
        ("Mäßig", "moderato"),
        ("In mäßig bewegtem Tempo", "andantino"),
        ("Nicht zu schnell", "moderato"),
        ("Sehr innig und nicht zu rasch", "moderato"),
        ("Sehr rasch", "presto"),
        ("Im lebhaften Tempo", "vivace"),
        ("Modéré", "moderato"),
        ("Très lent", "largo"),
        ("Assez vif", "allegro"),
        ("Assez animé et très rythmé", "allegretto"),
        ("Pas trop vite", "moderato"),
        ("Slowly", "lento"),
        ("Moderately slow", "andante"),
        ("Not too fast", "moderato"),
    ],
)
def test_tempo_headings_in_four_languages(text, expected):
    assert word(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Langsamer",
        "Weniger lebhaft",
        "Un peu plus lent",
        "(plus lent)",
        "Plus lentement",
        "Moins vite",
        "Più lento",
        "meno allegro",
        "Slow down",
        "fast nichts",  # German: almost nothing
        "violento",
        "allargando",
        "breakfast",
        "Tempo di Minuetto",
        "",
        None,
    ],
)
def test_words_that_are_no_tempo_heading(text):
    # Comparatives are changes; a tempo word inside another word is none.
    assert word(text) is None


def test_a_plain_text_names_a_tempo_only_when_it_begins_with_one():
    assert word("doux et grave") == "grave"  # a tempo direction's own text may say it anywhere
    assert word("doux et grave", within_words=2) is None
    assert word("1. Im lebhaften Tempo", within_words=2) == "vivace"


def _write(tmp_path, name, *measures):
    path = tmp_path / name
    path.write_text(scores.score(*measures))
    return load_trusted_score(path).notes


def test_a_german_heading_sets_the_tempo_of_a_score_without_a_metronome_mark(tmp_path):
    body = scores.words("Sehr langsam") + "".join(scores.note(s) for s in "CDEF")
    later = scores.words("Durchaus leise zu halten") + "".join(scores.note(s) for s in "GFED")
    n = _write(
        tmp_path, "langsam.musicxml", scores.measure(1, body, first=True), scores.measure(2, later)
    )
    assert np.all(n["tempo_word"] == markings.TEMPO_WORDS.index("largo"))
    assert np.allclose(n["score_bpm"], markings.TEMPO_WORD_BPM["largo"])


def test_long_remarks_and_plain_words_beside_a_tempo_direction_do_not_override_it(tmp_path):
    body = (
        scores.words("Langsam")
        + scores.words("Allegro", tempo=120)
        + "".join(scores.note(s) for s in "CDEF")
    )
    remark = scores.words("Langsam, aber die Melodie immer deutlich und ruhig hervorheben")
    later = remark + "".join(scores.note(s) for s in "GFED")
    n = _write(
        tmp_path, "both.musicxml", scores.measure(1, body, first=True), scores.measure(2, later)
    )
    assert np.all(n["tempo_word"] == markings.TEMPO_WORDS.index("allegro"))
    assert np.allclose(n["score_bpm"], 120)


def _metronome(unit: str, per_minute: str, sound: float | None) -> str:
    tempo = f'<sound tempo="{sound:g}"/>' if sound is not None else ""
    mark = (
        f"<metronome><beat-unit>{unit}</beat-unit><per-minute>{per_minute}</per-minute></metronome>"
    )
    return f"<direction><direction-type>{mark}</direction-type>{tempo}</direction>"


@pytest.mark.parametrize(
    ("unit", "per_minute", "sound", "quarters", "remark"),
    [
        ("eighth", "84", 168, 42, "converted the wrong way round"),  # ♪ = 84 written as 168
        ("half", "58", 29, 116, "converted the wrong way round"),  # 𝅗𝅥 = 58 written as 29
        ("quarter", "72", None, 72, "without a playback tempo"),
        ("eighth", "84", 42, 42, None),  # right as written
        ("quarter", "100", 35, 35, None),  # differs, but not by a backwards conversion
        ("eighth", "c. 80", 40, 40, None),  # not a number: the playback tempo stands
    ],
)
def test_a_printed_metronome_mark_is_played_as_printed(
    tmp_path, unit, per_minute, sound, quarters, remark
):
    body = _metronome(unit, per_minute, sound) + "".join(scores.note(s) for s in "CDEF")
    path = tmp_path / "mm.musicxml"
    path.write_text(scores.score(scores.measure(1, body, first=True)))
    score = load_trusted_score(path)
    assert np.allclose(score.notes["score_bpm"], quarters)
    if remark:
        assert any(remark in r for r in score.remarks)
    else:
        assert not any("metronome" in r for r in score.remarks)
