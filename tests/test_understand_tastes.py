"""Asking for a listener's taste, in the box's four languages (appliance/understand/tastes.py)."""

from __future__ import annotations

import pytest

from appliance.events import TasteOf
from appliance.perform.intent_events import events_for
from appliance.perform.memory import called
from appliance.understand import understand
from appliance.understand.intents import TasteIntent, from_dict, to_dict

CASES = [
    ("play it the way I like it", "en", None),
    ("could you play it how I like it", "en", None),
    ("play it the way Grandma likes it", "en", "grandma"),
    ("like my grandma likes it", "en", "grandma"),
    ("spiel es so, wie ich es mag", "de", None),
    ("spiel es so, wie Oma es mag", "de", "oma"),
    ("tócalo como me gusta", "es", None),
    ("tócalo como le gusta a la abuela", "es", "abuela"),
    ("играй как я люблю", "ru", None),
    ("сыграй как нравится бабушке", "ru", "бабушке"),
]


@pytest.mark.parametrize(("text", "language", "name"), CASES)
def test_a_taste_is_asked_for_by_name_or_for_the_speaker(text, language, name) -> None:
    understood = understand(text, language)
    assert understood.intents == (TasteIntent(name),)
    assert events_for(understood) == [TasteOf(name or "")]
    assert from_dict(to_dict(TasteIntent(name))) == TasteIntent(name)


def test_a_simile_is_still_a_description_and_a_like_still_feedback() -> None:
    assert understand("play it like a lullaby", "en").intents[0].kind != "taste"
    assert understand("I like it", "en").intents[0].kind == "feedback"


def test_names_are_matched_ignoring_case_and_russian_endings() -> None:
    assert called("Grandma", "grandma") and called("Бабушка", "бабушке")
    assert called("Иван", "ивану") and not called("Маша", "миша")
    assert not called("Ann", "anna")
