"""Free-form descriptions → mixtures of directions, through the real sentence model."""

import pytest

from appliance.directions.classes import CLASSES, GROUP_OF, Scope
from appliance.directions.descriptors import DESCRIPTORS, Describer, core, latin_text
from appliance.directions.interpret import Interpreter


@pytest.fixture(scope="module")
def describer() -> Describer:
    return Describer()


def test_the_table_has_at_least_40_descriptors_over_known_classes():
    assert len(DESCRIPTORS) >= 40
    assert len({d.name for d in DESCRIPTORS}) == len(DESCRIPTORS)
    for d in DESCRIPTORS:
        assert d.mixture and set(d.mixture) <= set(CLASSES)
        assert all(0 < abs(s) <= 2 for s in d.mixture.values())
        assert d.phrasings


def test_framing_is_stripped():
    assert core("Play it like a lullaby.") == "a lullaby"
    assert core("please make it sound as if it is raining") == "it is raining"
    assert core("spiel es wie ein Wiegenlied") == "ein Wiegenlied"
    assert core("angry") == "angry"


@pytest.mark.parametrize("descriptor", DESCRIPTORS, ids=lambda d: d.name)
def test_every_descriptor_is_found_from_its_own_phrasing(describer: Describer, descriptor):
    found = describer.describe(f"play it like {descriptor.phrasings[0]}")
    assert found is not None
    assert found.matches[0].descriptor == descriptor.name
    main = max(descriptor.mixture, key=lambda c: abs(descriptor.mixture[c]))
    assert found.mixture[main] * descriptor.mixture[main] > 0


# Paraphrases that are not in the table, with the descriptor they should land on first.
PARAPHRASES = {
    "as if you were singing a baby to sleep": "lullaby",
    "full of grief": "sad",
    "like an army parade": "march",
    "like a ghost story": "ghostly",
    "like a sleepy cat": "lazy",
    "like a robot": "mechanical",
    "like a river flowing to the sea": "flowing",
    "ein bisschen traurig": "sad",
    "muy alegre": "happy",
    "like a thunderstorm at night": "storm",
    "like someone in a rage": "angry",
}


@pytest.mark.parametrize("text,expected", PARAPHRASES.items())
def test_unseen_paraphrases_land_on_the_right_descriptor(describer: Describer, text, expected):
    found = describer.describe(text)
    assert found is not None, text
    assert found.matches[0].descriptor == expected


def test_a_lullaby_asks_for_soft_legato_and_slow(describer: Describer):
    found = describer.describe("like a mother singing a lullaby")
    assert found is not None
    parsed = found.requests()
    strengths = {d.cls: d.strength for d in parsed.directions}
    assert strengths["p"] > 0.5 and strengths["legato"] > 0.5
    assert any(GROUP_OF[c] == "tempo" and c in ("largo", "adagio", "andante") for c in strengths)
    assert all(d.scope is Scope.FROM_NOW for d in parsed.directions)


@pytest.mark.parametrize(
    "text",
    ["what's the weather tomorrow", "who are you", "banana", "", "   ", "какая завтра погода"],
)
def test_unrelated_or_unreadable_text_is_not_understood(describer: Describer, text):
    assert describer.describe(text) is None


@pytest.mark.parametrize(
    "text, expected",
    [
        ("как мама поёт колыбельную", "lullaby"),
        ("сердито", "angry"),
        ("мечтательно, как во сне", "dreamy"),
        ("как буря", "storm"),
        ("на рассвете", "sunrise"),
        ("неуверенно", "hesitant"),
        ("уверенно", "confident"),
        ("Торжественно", "solemn"),
    ],
)
def test_russian_descriptions_are_found_by_their_words(describer: Describer, text, expected):
    found = describer.describe(text)
    assert found is not None and found.matches[0].descriptor == expected


def test_russian_blends_and_stem_table():
    from appliance.directions.stems import RUSSIAN_STEMS, stem_hits

    assert set(RUSSIAN_STEMS) == {d.name for d in DESCRIPTORS}  # every descriptor, in Russian
    assert set(stem_hits("грустно и нежно")) == {"sad", "tender"}
    entries = [(name, e) for name, stems in RUSSIAN_STEMS.items() for e in stems]
    for name, e in entries:  # no stem begins another descriptor's stem
        assert not [o for other, o in entries if other != name and o.startswith(e)], e


def test_latin_text_detection():
    assert latin_text("más rápido") and latin_text("zärtlich")
    assert not latin_text("нежно") and not latin_text("123")


def test_interpreter_uses_rules_first_and_descriptors_otherwise(describer: Describer):
    interpreter = Interpreter(describer)
    rules = interpreter.interpret("a bit softer")
    assert [(d.cls, d.strength) for d in rules.directions] == [("p", 0.5)]
    free = interpreter.interpret("dreamy")
    assert free.understood and "legato" in {d.cls for d in free.directions}
    assert not Interpreter(describer, free_form=False).interpret("dreamy").understood
    assert not interpreter.interpret("banana").understood


def test_the_documented_table_is_the_one_in_the_code():
    from pathlib import Path

    from appliance.directions.descriptors import markdown_table

    doc = (Path(__file__).parents[1] / "docs" / "descriptors.md").read_text()
    assert markdown_table() in doc
