"""Opinions on what was just played: "that was lovely", "way too fast for me", "zu abgehackt".

An opinion is told from a direction by how it is said: "too fast" (a judgement of what was
heard) is feedback, "slower please" / "not so fast" (a wish for what comes) is a direction.
The box stores feedback and also acts on it gently (:mod:`appliance.perform.feedback`).

How aspects map — "too X" wants less of what X names, "not X enough" more:

=====================================================  ==============  ======
said                                                   feature         want
=====================================================  ==============  ======
too fast, rushed, hurried, быстровато                  tempo           less
too slow, dragging, sluggish, schleppt, затянуто       tempo           more
too loud, harsh, banging, громковато                   dynamics        less
too soft / quiet, can barely hear it, тиховато         dynamics        more
too staccato / choppy / clunky / jerky, abgehackt      articulation    less
too legato / smeared / blurry / mushy, verwaschen      articulation    more
=====================================================  ==============  ======

"articulation more" means more detached and crisper, "less" smoother and more connected, as
the feedback buttons' too_staccato → legato. Polarity: words of praise are positive; words of
blame, any "too …" and any aspect above are negative; praise with a negation shortly before
it ("not good", "nicht gut", "no me ha gustado", "не понравилось") is negative.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from appliance.understand.intents import Aspect, Feature, FeedbackIntent, Polarity

Quality = tuple[Feature, int]  # the feature an adjective names, +1 much of it / −1 little of it


@dataclass(frozen=True)
class OpinionWords:
    too: tuple[str, ...]  # "too", "zu", "demasiado", "слишком"
    enough: str  # pattern: group 1 the adjective ("not loud enough")
    qualities: dict[str, Quality]  # adjective → what it is much or little of
    faults: dict[str, tuple[Feature, str]]  # blame that names an aspect without "too"
    praise: tuple[str, ...]
    blame: tuple[str, ...]
    negators: frozenset[str]


def _q(words: str, feature: Feature, sign: int) -> dict[str, Quality]:
    return {w: (feature, sign) for w in words.split()}


def _f(words: str, feature: Feature, want: str) -> dict[str, tuple[Feature, str]]:
    return {w.replace("_", " "): (feature, want) for w in words.split()}


WORDS: dict[str, OpinionWords] = {
    "en": OpinionWords(
        too=("too", "overly", "too much"),
        enough=r"\bnot (\w+) enough\b",
        qualities={
            **_q("fast quick hurried hasty rushed speedy", "tempo", 1),
            **_q("slow sluggish", "tempo", -1),
            **_q("loud noisy heavy harsh aggressive strong forte", "dynamics", 1),
            **_q("soft quiet faint weak timid piano", "dynamics", -1),
            **_q(
                "staccato choppy clunky jerky detached short abrupt clipped dry", "articulation", 1
            ),
            **_q("legato smeared blurry mushy muddy smooth washy connected", "articulation", -1),
        },
        faults={
            **_f("rushed hurried rushing", "tempo", "less"),
            **_f("dragging dragged sluggish plodding", "tempo", "more"),
            **_f("harsh deafening banging", "dynamics", "less"),
            **_f("inaudible barely_hear can't_hear", "dynamics", "more"),
            **_f("clunky choppy jerky", "articulation", "less"),
            **_f("mushy muddy smeared blurry", "articulation", "more"),
        },
        praise=(
            "lovely",
            "beautiful",
            "beautifully",
            "great",
            "wonderful",
            "nice",
            "good",
            "perfect",
            "amazing",
            "brilliant",
            "gorgeous",
            "bravo",
            "excellent",
            "fantastic",
            "superb",
            "marvelous",
            "marvellous",
            "awesome",
            "magnificent",
            "well done",
            "love it",
            "loved it",
            "love that",
            "loved that",
            "liked it",
            "liked that",
            "like it",
            "like that",
            "much better",
            "better",
            "exactly like that",
            "yes like that",
            "fabulous",
            "stunning",
            "splendid",
            "sweet",
            "cool",
            "enjoyed",
        ),
        blame=(
            "awful",
            "terrible",
            "horrible",
            "bad",
            "boring",
            "ugly",
            "dreadful",
            "not good",
            "not great",
            "didn't like",
            "don't like",
            "did not like",
            "do not like",
            "hate it",
            "hated it",
            "meh",
            "worse",
            "rubbish",
            "mechanical",
            "robotic",
            "lifeless",
            "wooden",
            "dull",
            "sloppy",
            "messy",
            "not nice",
            "not my thing",
        ),
        negators=frozenset({"not", "no", "never", "didn't", "don't", "isn't", "wasn't"}),
    ),
    "de": OpinionWords(
        too=("zu", "allzu"),
        enough=r"\bnicht (\w+) genug\b",
        qualities={
            **_q("schnell hastig gehetzt eilig überhastet", "tempo", 1),
            **_q("langsam schleppend träge", "tempo", -1),
            **_q("laut heftig hart grell wuchtig", "dynamics", 1),
            **_q("leise schwach zaghaft dünn", "dynamics", -1),
            **_q(
                "abgehackt staccato holprig hölzern kurz ruckelig eckig klobig", "articulation", 1
            ),
            **_q(
                "verwaschen verschmiert legato breiig gebunden schwammig matschig",
                "articulation",
                -1,
            ),
        },
        faults={
            **_f("gehetzt überhastet", "tempo", "less"),
            **_f("schleppt schleppend zäh", "tempo", "more"),
            **_f("dröhnend", "dynamics", "less"),
            **_f("kaum_zu_hören unhörbar", "dynamics", "more"),
            **_f("holprig abgehackt hölzern ruckelig klobig", "articulation", "less"),
            **_f("verwaschen verschmiert matschig", "articulation", "more"),
        },
        praise=(
            "schön",
            "wunderschön",
            "toll",
            "super",
            "klasse",
            "prima",
            "herrlich",
            "großartig",
            "perfekt",
            "gut",
            "sehr gut",
            "wunderbar",
            "bravo",
            "gefällt mir",
            "gefallen",
            "genial",
            "spitze",
            "fantastisch",
            "phantastisch",
            "traumhaft",
            "besser",
            "genau so",
            "wundervoll",
            "cool",
            "hervorragend",
            "gefällt",
            "mag ich",
        ),
        blame=(
            "schrecklich",
            "furchtbar",
            "schlecht",
            "langweilig",
            "hässlich",
            "grausam",
            "schlimm",
            "mies",
            "öde",
            "mechanisch",
            "leblos",
            "nicht gut",
            "nicht schön",
        ),
        negators=frozenset({"nicht", "kein", "keine", "nie", "gar"}),
    ),
    "es": OpinionWords(
        too=("demasiado", "excesivamente"),
        enough=r"\bno (?:lo )?(?:suficientemente|bastante) (\w+)\b",
        qualities={
            **_q("rápido rápida deprisa apresurado acelerado", "tempo", 1),
            **_q("lento lenta despacio", "tempo", -1),
            **_q("fuerte alto ruidoso duro agresivo", "dynamics", 1),
            **_q("suave bajo flojo débil piano", "dynamics", -1),
            **_q("entrecortado cortado staccato picado torpe brusco seco tosco", "articulation", 1),
            **_q("ligado legato borroso emborronado empastado", "articulation", -1),
        },
        faults={
            **_f("apresurado atropellado", "tempo", "less"),
            **_f("se_arrastra arrastrado pesado", "tempo", "more"),
            **_f("estridente", "dynamics", "less"),
            **_f("no_se_oye", "dynamics", "more"),
            **_f("torpe entrecortado tosco brusco", "articulation", "less"),
            **_f("borroso empastado emborronado", "articulation", "more"),
        },
        praise=(
            "bonito",
            "bonita",
            "precioso",
            "preciosa",
            "hermoso",
            "hermosa",
            "genial",
            "estupendo",
            "maravilloso",
            "maravillosa",
            "perfecto",
            "muy bien",
            "bien",
            "bravo",
            "me gusta",
            "me gustó",
            "me encanta",
            "me encantó",
            "gustado",
            "gusta",
            "gustó",
            "encanta",
            "encantó",
            "excelente",
            "fantástico",
            "increíble",
            "lindo",
            "mejor",
            "así sí",
            "eso es",
            "precioso",
        ),
        blame=(
            "horrible",
            "feo",
            "fea",
            "malo",
            "mala",
            "aburrido",
            "fatal",
            "terrible",
            "mal",
            "peor",
            "mecánico",
            "sin alma",
        ),
        negators=frozenset({"no", "nada", "nunca"}),
    ),
    "ru": OpinionWords(
        too=("слишком", "чересчур", "очень уж", "уж слишком"),
        enough=r"\bнедостаточно (\w+)\b",
        qualities={
            **_q("быстро быстрый спешно торопливо суетливо", "tempo", 1),
            **_q("медленно медленный тягуче", "tempo", -1),
            **_q("громко громкий резко грубо жестко", "dynamics", 1),
            **_q("тихо тихий слабо глухо", "dynamics", -1),
            **_q("отрывисто рвано коряво неуклюже угловато дергано стаккато", "articulation", 1),
            **_q("смазанно размыто слитно легато", "articulation", -1),
        },
        faults={
            **_f("быстровато торопливо суетливо", "tempo", "less"),
            **_f("медленновато затянуто тянется", "tempo", "more"),
            **_f("громковато", "dynamics", "less"),
            **_f("тиховато не_слышно", "dynamics", "more"),
            **_f("коряво рвано неуклюже дергано", "articulation", "less"),
            **_f("смазанно размыто", "articulation", "more"),
        },
        praise=(
            "красиво",
            "прекрасно",
            "замечательно",
            "отлично",
            "здорово",
            "супер",
            "браво",
            "чудесно",
            "великолепно",
            "хорошо",
            "нравится",
            "понравилось",
            "восхитительно",
            "классно",
            "круто",
            "шикарно",
            "потрясающе",
            "изумительно",
            "молодец",
            "лучше",
            "то что надо",
            "вот так",
        ),
        blame=(
            "ужасно",
            "плохо",
            "скучно",
            "некрасиво",
            "отвратительно",
            "кошмар",
            "хуже",
            "механически",
            "безжизненно",
            "так себе",
        ),
        negators=frozenset({"не", "нет", "совсем не"}),
    ),
}


def _find(text: str, phrases: tuple[str, ...] | list[str]) -> list[tuple[int, int, str]]:
    """Non-overlapping whole-word matches, longest phrases first."""
    taken: list[tuple[int, int, str]] = []
    for phrase in sorted(phrases, key=len, reverse=True):
        for m in re.finditer(r"(?<![\w'-])" + re.escape(phrase) + r"(?![\w'-])", text):
            a, b = m.span()
            if not any(a < tb and ta < b for ta, tb, _ in taken):
                taken.append((a, b, phrase))
    return sorted(taken)


def _negated(text: str, start: int, negators: frozenset[str]) -> bool:
    before = text[:start].split()[-3:]
    return any(w in negators for w in before)


def read_opinion(clause: str, language: str) -> tuple[FeedbackIntent | None, int]:
    """The opinion in ``clause`` and how many of its words said so (None: no opinion)."""
    words = WORDS.get(language)
    if words is None:
        return None, 0
    aspects: list[Aspect] = []
    negative = positive = False
    used = 0
    too = "|".join(re.escape(t) for t in sorted(words.too, key=len, reverse=True))
    adjectives = "|".join(re.escape(q) for q in sorted(words.qualities, key=len, reverse=True))
    for m in re.finditer(rf"(?<![\w-])(?:{too}) (?:\w+ )?({adjectives})(?![\w-])", clause):
        feature, sign = words.qualities[m.group(1)]
        aspects.append(Aspect(feature, "less" if sign > 0 else "more"))
        negative, used = True, used + len(m.group(0).split())
    for m in re.finditer(words.enough, clause):
        quality = words.qualities.get(m.group(1))
        if quality is not None:
            aspects.append(Aspect(quality[0], "more" if quality[1] > 0 else "less"))
            negative, used = True, used + len(m.group(0).split())
    for _a, _b, phrase in _find(clause, list(words.faults)):
        feature, want = words.faults[phrase]
        aspect = Aspect(feature, "less" if want == "less" else "more")
        if aspect not in aspects:
            aspects.append(aspect)
        negative, used = True, used + len(phrase.split())
    for _a, _b, _phrase in _find(clause, words.blame):
        negative, used = True, used + 1
    for a, _b, phrase in _find(clause, words.praise):
        if _negated(clause, a, words.negators):
            negative = True
        else:
            positive = True
        used += len(phrase.split())
    if not (negative or positive):
        return None, 0
    polarity: Polarity = "negative" if negative else "positive"
    return FeedbackIntent(polarity, tuple(dict.fromkeys(aspects))), used
