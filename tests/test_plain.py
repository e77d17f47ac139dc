"""What the box understood, in plain words of four languages (one table for console and page)."""

from appliance.directions.classes import CLASSES
from appliance.directions.plain import describe, table


def test_directions_in_plain_words():
    line = describe(("p +1.00 from_now", "legato +1.00 from_now", "allegro -0.50 from_now"), 12,
                    "like a lullaby")  # fmt: skip
    assert line == "“like a lullaby”: softer, smoother, a little slower — from bar 12"
    assert describe(("f +2.00 here",), 3) == "Much louder — here (bar 3)"
    assert describe(("undo",), 5, "undo") == "“undo”: undone — from bar 5"


def test_every_language_says_every_class_both_ways():
    for language, words in table().items():
        assert set(words["classes"]) == set(CLASSES), language
        for cls, ways in words["classes"].items():
            assert ways["+"] and ways["-"], (language, cls)
        assert describe(("p +1.00 until_told",), 4, "x", language).count("4") == 1


def test_other_languages():
    assert describe(("p +0.50 from_now",), 7, "", "de") == "Etwas leiser — ab Takt 7"
    assert (
        describe(("allegro +1.00 from_now",), 2, "быстрее", "ru")
        == "«быстрее»: быстрее — с такта 2"
    )
