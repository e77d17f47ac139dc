"""The understanding layer: text (+ language) → typed intents, in four languages."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from appliance.directions.classes import Scope
from appliance.directions.words import DirectionRequest, ParsedDirections
from appliance.understand import understand
from appliance.understand.clauses import split
from appliance.understand.intents import (
    Aspect,
    Control,
    DirectIntent,
    FeedbackIntent,
    Intent,
    Navigate,
    Select,
    Steer,
    Transport,
    Unknown,
    from_dict,
    to_dict,
)
from appliance.understand.normalise import normalise, strip_fillers
from appliance.understand.numbers import to_digits
from appliance.understand.reply import reply
from export.bench_understand import LANGUAGES, Score, judge, load, shipped_library

LIBRARY = shipped_library()


def lullaby(text: str) -> ParsedDirections | None:
    """A stand-in for the sentence model: knows lullabies only."""
    if any(w in text for w in ("lullaby", "wiegenlied", "nana", "колыбельн")):
        return ParsedDirections((DirectionRequest("p", 1.0, Scope.FROM_NOW),))
    return None


def intents(text: str, language: str | None = None) -> tuple[Intent, ...]:
    return understand(text, language, LIBRARY, lullaby).intents


# -- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("bar twelve", "en", "bar 12"),
        ("from bar thirty-two", "en", "from bar 32"),
        ("one hundred and five", "en", "105"),
        ("the third bar", "en", "the 3 bar"),
        ("hold on a second", "en", "hold on a second"),
        ("back a bar", "en", "back 1 bar"),
        ("takt zwölf", "de", "takt 12"),
        ("ab takt zweiunddreißig", "de", "ab takt 32"),
        ("ab dem dritten takt", "de", "ab dem 3 takt"),
        ("hundertzwölf", "de", "112"),
        ("ein bisschen", "de", "ein bisschen"),
        ("compás doce", "es", "compás 12"),
        ("compás treinta y dos", "es", "compás 32"),
        ("desde el tercer compás", "es", "desde el 3 compás"),
        ("un poco", "es", "un poco"),
        ("ciento veintiuno", "es", "121"),
        ("такт двенадцать", "ru", "такт 12"),
        ("такт тридцать два", "ru", "такт 32"),
        ("с третьего такта", "ru", "с 3 такта"),
        ("двести сорок пять", "ru", "245"),
    ],
)
def test_number_words_become_digits(text, language, expected):
    assert to_digits(text, language) == expected


# -- normalising and clauses ------------------------------------------------------------------


def test_fillers_and_politeness_are_removed_in_each_language():
    assert strip_fillers(normalise("Um, could you play it softer, please?"), "en")[0] == (
        "play it softer"
    )
    assert strip_fillers(normalise("Ähm, könntest du bitte leiser spielen"), "de")[0] == (
        "leiser spielen"
    )
    assert strip_fillers(normalise("¿Puedes tocar más lento, por favor?"), "es")[0] == (
        "tocar más lento"
    )
    assert strip_fillers(normalise("Пожалуйста, можешь играть тише"), "ru")[0] == "играть тише"


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("stop the music and then play some bach", "en", ["stop the music", "play some bach"]),
        ("that was clunky and far too loud", "en", ["that was clunky", "far too loud"]),
        ("stopp die musik und dann spiel etwas", "de", ["stopp die musik", "spiel etwas"]),
        ("para la música y luego toca algo", "es", ["para la música", "toca algo"]),
        ("останови музыку , а потом сыграй", "ru", ["останови музыку", "сыграй"]),
        ("сыграй , полонез", "ru", ["сыграй полонез"]),
    ],
)
def test_an_utterance_splits_into_its_requests(text, language, expected):
    assert split(text, language) == expected


# -- each kind in each language ---------------------------------------------------------------

KINDS = [
    ("play the Bach prelude", "en", Select("the bach prelude", "bach-bwv846")),
    ("spiel das Präludium von Bach", "de", Select("das präludium von bach", "bach-bwv846")),
    ("toca el preludio de Bach", "es", Select("el preludio de bach", "bach-bwv846")),
    ("сыграй прелюдию Баха", "ru", Select("прелюдию баха", "bach-bwv846")),
    ("next piece", "en", Select("", None)),
    ("nächstes Stück", "de", Select("", None)),
    ("otra pieza", "es", Select("", None)),
    ("следующую пьесу", "ru", Select("", None)),
    ("keep going", "en", Transport("resume")),
    ("mach weiter", "de", Transport("resume")),
    ("sigue", "es", Transport("resume")),
    ("продолжай", "ru", Transport("resume")),
    ("that's enough", "en", Transport("stop")),
    ("das reicht", "de", Transport("stop")),
    ("ya basta", "es", Transport("stop")),
    ("хватит", "ru", Transport("stop")),
    ("back four bars", "en", Navigate("back", bars=4)),
    ("vier Takte zurück", "de", Navigate("back", bars=4)),
    ("cuatro compases atrás", "es", Navigate("back", bars=4)),
    ("на четыре такта назад", "ru", Navigate("back", bars=4)),
    ("from bar 32", "en", Navigate("bar", bar=32)),
    ("ab Takt zweiunddreißig", "de", Navigate("bar", bar=32)),
    ("desde el compás treinta y dos", "es", Navigate("bar", bar=32)),
    ("с такта тридцать два", "ru", Navigate("bar", bar=32)),
    ("this phrase again", "en", Navigate("phrase")),
    ("diese Phrase nochmal", "de", Navigate("phrase")),
    ("esta frase otra vez", "es", Navigate("phrase")),
    ("эту фразу ещё раз", "ru", Navigate("phrase")),
    ("that was lovely", "en", FeedbackIntent("positive")),
    ("das war wunderschön", "de", FeedbackIntent("positive")),
    ("qué bonito", "es", FeedbackIntent("positive")),
    ("это было прекрасно", "ru", FeedbackIntent("positive")),
    ("too slow", "en", FeedbackIntent("negative", (Aspect("tempo", "more"),))),
    ("zu langsam", "de", FeedbackIntent("negative", (Aspect("tempo", "more"),))),
    ("demasiado lento", "es", FeedbackIntent("negative", (Aspect("tempo", "more"),))),
    ("слишком медленно", "ru", FeedbackIntent("negative", (Aspect("tempo", "more"),))),
    ("more legato", "en", DirectIntent((Steer("legato", 1.0),))),
    ("mehr legato", "de", DirectIntent((Steer("legato", 1.0),))),
    ("más legato", "es", DirectIntent((Steer("legato", 1.0),))),
    ("больше легато", "ru", DirectIntent((Steer("legato", 1.0),))),
    ("a bit slower", "en", DirectIntent((Steer("adagio", 0.5),))),
    ("nicht so laut", "de", DirectIntent((Steer("f", -1.0),))),
    ("undo that", "en", Control("undo")),
    ("mach das rückgängig", "de", Control("undo")),
    ("deshaz eso", "es", Control("undo")),
    ("отмени это", "ru", Control("undo")),
    ("back to normal", "en", Control("reset")),
    ("wieder normal", "de", Control("reset")),
    ("vuelve a lo normal", "es", Control("reset")),
    ("как обычно", "ru", Control("reset")),
    ("what's the weather like tomorrow?", "en", Unknown()),
    ("wie geht es dir?", "de", Unknown()),
    ("¿cómo estás?", "es", Unknown()),
    ("как дела?", "ru", Unknown()),
]


@pytest.mark.parametrize(("text", "language", "expected"), KINDS)
def test_each_kind_in_each_language(text, language, expected):
    assert intents(text, language) == (expected,)


@pytest.mark.parametrize(("text", "language", "expected"), KINDS[:48])
def test_the_language_is_guessed_when_not_given(text, language, expected):
    understood = understand(text, None, LIBRARY, lullaby)
    assert understood.language == language
    assert understood.intents == (expected,)


# -- the new users' phrases and the ambiguities -----------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("go back to the beginning", Navigate("beginning")),
        ("start again", Navigate("beginning")),
        ("stop it", Transport("stop")),
        ("hold on a second", Transport("pause")),
        (
            "could you start the Maple Leaf Rag please",
            Select("the maple leaf rag", "joplin-maple-leaf-rag"),
        ),
        ("way too fast for me", FeedbackIntent("negative", (Aspect("tempo", "less"),))),
    ],
)
def test_the_phrases_new_users_were_not_understood_in(text, expected):
    assert intents(text) == (expected,)


def test_piano_the_dynamic_and_piano_the_instrument():
    assert intents("play it piano") == (DirectIntent((Steer("p", 1.0),)),)
    (chosen,) = intents("play the Schoenberg piano piece")
    assert isinstance(chosen, Select) and chosen.piece == "schoenberg-op19-2"
    (chosen,) = intents("play the piano piece")
    assert isinstance(chosen, Select)


def test_play_alone_resumes_and_play_with_a_direction_directs():
    assert intents("play") == (Transport("resume"),)
    assert intents("play softer") == (DirectIntent((Steer("p", 1.0),)),)
    assert intents("play it like a lullaby") == (DirectIntent((Steer("p", 1.0),)),)
    (chosen,) = intents("play some ragtime")
    assert isinstance(chosen, Select) and chosen.piece == "joplin-maple-leaf-rag"


def test_an_opinion_is_feedback_and_a_wish_is_a_direction():
    assert intents("too fast") == (FeedbackIntent("negative", (Aspect("tempo", "less"),)),)
    assert intents("slower please") == (DirectIntent((Steer("adagio", 1.0),)),)
    assert intents("not so fast") == (DirectIntent((Steer("allegro", -1.0),)),)
    assert intents("don't rush") == (DirectIntent((Steer("accelerando", -1.0),)),)


def test_mixed_requests_keep_their_order():
    assert intents("stop the music and then play some Bach") == (
        Transport("stop"),
        Select("some bach", "bach-bwv846"),
    )
    assert intents("that was clunky and far too loud") == (
        FeedbackIntent("negative", (Aspect("articulation", "less"), Aspect("dynamics", "less"))),
    )
    assert intents("slower and softer") == (DirectIntent((Steer("adagio", 1.0), Steer("p", 1.0))),)
    assert intents("lovely, but a little too fast") == (
        FeedbackIntent("positive"),
        FeedbackIntent("negative", (Aspect("tempo", "less"),)),
    )


def test_without_a_library_a_selection_has_no_piece():
    assert understand("play the Bach prelude").intents == (Select("the bach prelude", None),)
    assert understand("play some Chopin", "en", LIBRARY).intents == (Select("some chopin", None),)


def test_free_form_descriptions_go_to_the_describer_and_small_talk_does_not():
    asked: list[str] = []

    def describer(text: str) -> ParsedDirections | None:
        asked.append(text)
        return lullaby(text)

    assert understand("like a lullaby", "en", describer=describer).intents == (
        DirectIntent((Steer("p", 1.0),)),
    )
    assert understand("how are you today", "en", describer=describer).intents == (Unknown(),)
    assert asked == ["like a lullaby"]


# -- the fallback -----------------------------------------------------------------------------


class Fake:
    def __init__(self, answer: tuple[Intent, ...] | None) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str, float]] = []

    def intents(self, text: str, language: str, timeout: float) -> tuple[Intent, ...] | None:
        self.asked.append((text, language, timeout))
        return self.answer


def test_the_fallback_is_asked_only_when_the_rules_understand_nothing():
    fake = Fake((Transport("pause"),))
    understood = understand("zork the grue", "en", fallback=fake)
    assert understood.intents == (Transport("pause"),) and understood.by == "llm"
    assert fake.asked == [("zork the grue", "en", 1.5)]
    understood = understand("softer", "en", fallback=fake)
    assert understood.by == "rules" and len(fake.asked) == 1


def test_a_fallback_without_an_answer_leaves_the_rules_answer():
    understood = understand("zork the grue", "en", fallback=Fake(None))
    assert understood.intents == (Unknown(),) and understood.by == "rules"


def test_an_unknown_language_is_refused():
    with pytest.raises(ValueError, match="language"):
        understand("softer", "fr")


# -- JSON shapes and replies ------------------------------------------------------------------


def test_every_intent_round_trips_through_its_json_shape():
    understood = understand(
        "stop, back four bars, that was too loud, softer, undo that, play the Bach prelude",
        "en",
        LIBRARY,
    )
    kinds = {i.kind for i in understood.intents}
    assert kinds == {"transport", "navigate", "feedback", "direct", "control", "select"}
    raw = json.loads(json.dumps(understood.to_dict()))
    assert tuple(from_dict(i) for i in raw["intents"]) == understood.intents
    assert from_dict(to_dict(Unknown())) == Unknown()


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("slower and softer", "en", "Slower, softer"),
        ("could you start the Maple Leaf Rag please", "en", "Playing Maple Leaf Rag"),
        ("hold on a second", "en", "Pausing"),
        ("bar twelve", "en", "Back to bar 12"),
        ("way too fast for me", "en", "Thanks — noted: too fast; a little slower from here"),
        ("Takt zwölf", "de", "Zurück zu Takt 12"),
        ("pausa", "es", "En pausa"),
        ("стоп", "ru", "Останавливаюсь"),
    ],
)
def test_replies_say_what_was_heard_and_what_happens(text, language, expected):
    assert reply(understand(text, language, LIBRARY), language, LIBRARY) == expected


def test_a_reply_to_nonsense_quotes_it_and_suggests():
    said = reply(understand("blah blah", "en"), "en")
    assert "“blah blah”" in said and "softer" in said
    assert "«бла-бла»" in reply(understand("бла-бла", "ru"), "ru")


# -- the command line -------------------------------------------------------------------------


def test_the_command_line_prints_the_intents(monkeypatch):
    import appliance.library
    from appliance.cli import app

    monkeypatch.setattr(appliance.library, "open_library", shipped_library)
    runner = CliRunner()
    result = runner.invoke(app, ["understand", "play the Bach prelude", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "text": "play the Bach prelude",
        "language": "en",
        "intents": [{"kind": "select", "query": "the bach prelude", "piece": "bach-bwv846"}],
    }
    result = runner.invoke(app, ["understand", "hold on a second"])
    assert result.exit_code == 0 and "Pausing" in result.stdout
    result = runner.invoke(app, ["understand", "stop", "--lang", "fr"])
    assert result.exit_code == 2


# -- the utterance set ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def describer():
    from appliance.directions.descriptors import Describer

    return Describer().describe


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_dev_utterances_are_understood(language, describer):
    score = Score()
    failures = []
    for row in load(language):
        if row["split"] != "dev":
            continue
        got = understand(row["text"], row["language"], LIBRARY, describer).to_dict()["intents"]
        if not judge(row, got, LIBRARY, score):
            failures.append((row["text"], got))
    assert score.utterances >= 50
    assert score.intents_right / score.intents >= 0.95, failures


def test_the_utterance_set_is_large_enough_and_well_formed():
    rows = [row for language in LANGUAGES for row in load(language)]
    assert len(rows) >= 300
    for language in LANGUAGES:
        assert len(load(language)) >= 75
    kinds = {i["kind"] for row in rows for i in row["intents"]}
    assert kinds == {"select", "transport", "navigate", "feedback", "direct", "control", "unknown"}
    for row in rows:
        for raw in row["intents"]:
            from_dict(raw)
