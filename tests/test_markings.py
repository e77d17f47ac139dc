"""Tempo headings: Italian words, and German, French and English ones read as their Italian."""

import numpy as np
import pytest

from appliance.score import load_trusted_score, markings
from tests import scores


def word(text: str | None) -> str | None:
    i = markings.tempo_word_index(text)
    return markings.TEMPO_WORDS[i] if i >= 0 else None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Allegro ma non troppo", "allegro"),
        ("Allegretto", "allegretto"),
        ("Molto Adagio", "adagio"),
        ("Allegro_vivace", "allegro"),
        ("Sehr langsam M.M.", "largo"),
        ("Langsam", "lento"),
        ("Mäßig", "moderato"),
        ("Nicht zu schnell", "moderato"),
        ("Im lebhaften Tempo", "vivace"),
        ("Modéré", "moderato"),
        ("Très lent", "largo"),
        ("Assez vif", "allegro"),
        ("Pas trop vite", "moderato"),
        ("Slowly", "lento"),
        ("Not too fast", "moderato"),
        ("Sehr innig und nicht zu rasch", "moderato"),
        ("Assez animé et très rythmé", "allegretto"),
    ],
)
def test_tempo_headings_in_four_languages(text, expected):
    assert word(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Langsamer",
        "Un peu plus lent",
        "(plus lent)",
        "Moins vite",
        "violento",
        "allargando",
        "breakfast",
        "Tempo di Minuetto",
        "",
        None,
    ],
)
def test_words_that_are_no_tempo_heading(text):
    # "langsamer", "plus lent" (slower) are changes; a tempo word inside another word is none.
    assert word(text) is None


def test_a_german_heading_sets_the_tempo_of_a_score_without_a_metronome_mark(tmp_path):
    body = scores.words("Sehr langsam") + "".join(scores.note(s) for s in "CDEF")
    later = scores.words("Durchaus leise zu halten") + "".join(scores.note(s) for s in "GFED")
    path = tmp_path / "langsam.musicxml"
    path.write_text(scores.score(scores.measure(1, body, first=True), scores.measure(2, later)))
    n = load_trusted_score(path).notes
    assert np.all(n["tempo_word"] == markings.TEMPO_WORDS.index("largo"))
    assert np.allclose(n["score_bpm"], markings.TEMPO_WORD_BPM["largo"])
