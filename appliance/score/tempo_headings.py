"""Which tempo word a heading names: Italian words, and German, French and English headings
read as the Italian word a player would take them for.

Whole words only, accents folded ("mäßig" → "massig"). Of the Italian words the longest wins
("Allegro moderato" is moderato, "Andante con moto, quasi allegretto" allegretto, as ever);
of the others the longest phrase at each place, so "nicht zu schnell" is not "schnell".
Comparatives are changes, not headings: a word after più, meno, plus, moins, more, less or
weniger names no tempo ("più lento", "meno allegro", "plus lent"), nor do the words mapped to
None below ("langsamer", "slow down", "en allant").
"""

from __future__ import annotations

import re
import unicodedata

from appliance.score.markings import TEMPO_WORDS

HEADINGS: dict[str, str | None] = {
    # German
    "sehr langsam": "largo",
    "langsam": "lento",
    "langsamem": "lento",
    "langsamen": "lento",
    "ziemlich langsam": "adagio",
    "nicht zu langsam": "andante",
    "nicht langsam": "andante",
    "gehend": "andante",
    "massig": "moderato",
    "massigem": "moderato",
    "massigen": "moderato",
    "sehr massig": "moderato",
    "massig bewegt": "andantino",
    "massig bewegtem": "andantino",
    "bewegt": "allegretto",
    "bewegtem": "allegretto",
    "bewegten": "allegretto",
    "sehr bewegt": "allegro",
    "nicht zu schnell": "moderato",
    "nicht schnell": "moderato",
    "nicht zu rasch": "moderato",
    "nicht rasch": "moderato",
    "nicht zu lebhaft": "moderato",
    "etwas lebhaft": "allegretto",
    "lebhaft": "vivace",
    "lebhaftem": "vivace",
    "lebhaften": "vivace",
    "sehr lebhaft": "presto",
    "munter": "allegro",
    "frisch": "allegro",
    "geschwind": "allegro",
    "rasch": "allegro",
    "sehr rasch": "presto",
    "schnell": "allegro",
    "sehr schnell": "presto",
    # French
    "tres lent": "largo",
    "lent": "lento",
    "lentement": "lento",
    "assez lent": "adagio",
    "sans lenteur": "andante",
    "allant": "andantino",
    "en allant": None,  # pushing on: a change
    "modere": "moderato",
    "moderement": "moderato",
    "assez anime": "allegretto",
    "un peu anime": None,  # mostly a change (Debussy, Ravel)
    "anime": "allegro",
    "tres anime": "vivace",
    "vif": "vivace",
    "assez vif": "allegro",
    "tres vif": "presto",
    "vite": "presto",
    "tres vite": "prestissimo",
    "pas trop vite": "moderato",
    "pas trop lent": "andante",
    # English ("fast" alone is left out: in German it means "almost")
    "very slow": "largo",
    "very slowly": "largo",
    "slow": "lento",
    "slowly": "lento",
    "rather slow": "adagio",
    "moderately slow": "andante",
    "not too slow": "andante",
    "walking pace": "andante",
    "moderate": "moderato",
    "moderately": "moderato",
    "moderately fast": "allegretto",
    "not too fast": "moderato",
    "lively": "vivace",
    "quick": "allegro",
    "quickly": "allegro",
    "very fast": "presto",
    "very quick": "presto",
    # Changes, not headings
    "langsamer": None,
    "slower": None,
    "faster": None,
    "slow down": None,
    "slowing": None,
}
COMPARATIVES = frozenset({"piu", "meno", "plus", "moins", "more", "less", "weniger"})


def fold(text: str) -> str:
    """Lower case without accents, ß as ss, underscores as spaces."""
    text = text.replace("ß", "ss").replace("ẞ", "ss").replace("_", " ")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _alternation(words: list[str]) -> re.Pattern[str]:
    ordered = sorted(words, key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(re.escape(w) for w in ordered) + r")\b")


_ITALIAN = _alternation(list(TEMPO_WORDS))
_ELSEWHERE = _alternation(list(HEADINGS))


def tempo_word_index(text: str | None, within_words: int | None = None) -> int:
    """Index into TEMPO_WORDS for the tempo ``text`` names, or -1. ``within_words``: the
    heading must begin among the text's first words (leading numbers not counted), as a plain
    text that is a heading does ("Sehr langsam", "Im lebhaften Tempo"), not a remark that
    merely holds such a word."""
    tokens = re.findall(r"\w+", fold(text or ""))
    while tokens and tokens[0].isdigit():
        tokens.pop(0)
    joined = " ".join(tokens)

    def usable(found: re.Match[str]) -> bool:
        at = joined[: found.start()].count(" ")
        if within_words is not None and at >= within_words:
            return False
        return at == 0 or tokens[at - 1] not in COMPARATIVES

    italian = [m for m in _ITALIAN.finditer(joined) if usable(m)]
    if italian:
        return TEMPO_WORDS.index(max(italian, key=lambda m: len(m.group(1))).group(1))
    for found in _ELSEWHERE.finditer(joined):
        if usable(found):
            heading = HEADINGS[found.group(1)]
            return TEMPO_WORDS.index(heading) if heading else -1
    return -1
