import pytest

from appliance.directions.classes import CLASSES, Scope
from appliance.directions.lexicon import LANGUAGES
from appliance.directions.words import parse_directions

H, F = Scope.HERE, Scope.FROM_NOW
# (sentence, language, expected [(class, strength, scope)])
CASES = [
    ("play more piano here", "en", [("p", 1.0, H)]),
    ("switch to largo", "en", [("largo", 1.0, F)]),
    ("a bit slower", "en", [("adagio", 0.5, F)]),
    ("much louder", "en", [("f", 2.0, F)]),
    ("not so staccato", "en", [("staccato", -1.0, F)]),
    ("a bit less staccato", "en", [("staccato", -0.5, F)]),
    ("too slow, too much staccato", "en", [("adagio", -1.0, F), ("staccato", -1.0, F)]),
    (
        "slower and softer until I say otherwise",
        "en",
        [("adagio", 1.0, Scope.UNTIL_TOLD), ("p", 1.0, Scope.UNTIL_TOLD)],
    ),
    ("crescendo here", "en", [("crescendo", 1.0, H)]),
    ("speed up a little", "en", [("accelerando", 0.5, H)]),
    ("Slow down!", "en", [("ritardando", 1.0, H)]),
    ("more legato from now on", "en", [("legato", 1.0, F)]),
    ("etwas leiser bitte", "de", [("p", 0.5, F)]),
    ("nicht so schnell", "de", [("allegro", -1.0, F)]),
    ("viel lauter ab jetzt", "de", [("f", 2.0, F)]),
    ("hier etwas gebundener", "de", [("legato", 0.5, H)]),
    ("zu langsam", "de", [("adagio", -1.0, F)]),
    ("más fuerte aquí", "es", [("f", 1.0, H)]),
    ("un poco más lento", "es", [("adagio", 0.5, F)]),
    ("no tan staccato", "es", [("staccato", -1.0, F)]),
    ("demasiado rápido", "es", [("allegro", -1.0, F)]),
    ("más rápido y más fuerte", "es", [("allegro", 1.0, F), ("f", 1.0, F)]),
    ("тише", "ru", [("p", 1.0, F)]),
    ("чуть медленнее", "ru", [("adagio", 0.5, F)]),
    ("не так громко", "ru", [("f", -1.0, F)]),
    ("слишком быстро", "ru", [("allegro", -1.0, F)]),
    ("здесь намного громче", "ru", [("f", 2.0, H)]),
    ("Ещё тише, пожалуйста.", "ru", [("p", 1.5, F)]),
]


@pytest.mark.parametrize(("text", "lang", "expected"), CASES)
def test_sentences_map_to_directions(text, lang, expected):
    parsed = parse_directions(text)
    assert parsed.language == lang
    got = [(d.cls, d.strength, d.scope) for d in parsed.directions]
    assert got == expected
    assert parse_directions(text, lang).directions == parsed.directions


@pytest.mark.parametrize(
    ("text", "control"),
    [
        ("back to normal", "reset"),
        ("undo that", "undo"),
        ("wieder normal", "reset"),
        ("mach das rückgängig", "undo"),
        ("vuelve a lo normal", "reset"),
        ("deshaz eso", "undo"),
        ("вернись к обычному", "reset"),
        ("отмени это", "undo"),
    ],
)
def test_controls(text, control):
    parsed = parse_directions(text)
    assert parsed.control == control and not parsed.directions


def test_unknown_words_are_not_understood():
    assert not parse_directions("what a lovely day").understood
    assert not parse_directions("").understood
    with pytest.raises(ValueError):
        parse_directions("softer", "fr")


def test_every_language_has_thirty_phrasings_covering_every_class():
    for lang in LANGUAGES.values():
        assert len(lang.directions) >= 30, lang.code
        assert {cls for cls, _ in lang.directions.values()} >= set(CLASSES) - {"mp", "mf"}, (
            lang.code
        )
        for phrase in lang.directions:
            parsed = parse_directions(phrase, lang.code)
            assert parsed.directions, (lang.code, phrase)
