"""Number words → digits, 0–999, in English, German, Spanish and Russian.

"bar thirty-two", "Takt zweiunddreißig", "compás treinta y dos", "такт тридцать два" all become
"… 32", so that the rules need only look for digits. Ordinals ("the third bar", "ab dem dritten
Takt", "desde el tercer compás", "с третьего такта") and words that are also articles ("a",
"ein", "un", "один") are read as numbers only next to a word for a bar, where they cannot mean
anything else ("hold on a second" keeps its second; "un poco" its "un").
"""

from __future__ import annotations

import re


def _series(names: str, start: int, step: int = 1) -> dict[str, int]:
    """Words in order, numbered from ``start`` by ``step``."""
    return {w: start + i * step for i, w in enumerate(names.split())}


BAR_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset({"bar", "bars", "measure", "measures"}),
    "de": frozenset({"takt", "takte", "takten", "taktes"}),
    "es": frozenset({"compás", "compas", "compases"}),
    "ru": frozenset({"такт", "такта", "тактов", "такту", "такте", "тактом", "такты"}),
}

_EN_UNITS = _series(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen",
    0,
)
_EN_TENS = _series("twenty thirty forty fifty sixty seventy eighty ninety", 20, 10)
_EN_ORDINALS = _series(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth",
    1,
)
_EN_ORDINALS.update({t.replace("y", "ieth"): v for t, v in _EN_TENS.items()})  # twentieth …

_DE_UNITS = {
    "null": 0, "eins": 1, "ein": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6,
    "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "elf": 11, "zwölf": 12, "dreizehn": 13,
    "vierzehn": 14, "fünfzehn": 15, "sechzehn": 16, "siebzehn": 17, "achtzehn": 18,
    "neunzehn": 19,
}  # fmt: skip
_DE_TENS = {
    "zwanzig": 20, "dreißig": 30, "dreissig": 30, "vierzig": 40, "fünfzig": 50, "sechzig": 60,
    "siebzig": 70, "achtzig": 80, "neunzig": 90,
}  # fmt: skip
_DE_ORDINAL_STEMS = {"erst": 1, "zweit": 2, "dritt": 3, "siebt": 7, "acht": 8}
_DE_ENDINGS = ("en", "er", "em", "es", "e")

_ES_UNITS = {
    "cero": 0, "uno": 1, "una": 1, "un": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
    "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12,
    "trece": 13, "catorce": 14, "quince": 15, "dieciséis": 16, "dieciseis": 16,
    "diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veinte": 20, "veintiuno": 21,
    "veintiún": 21, "veintidós": 22, "veintidos": 22, "veintitrés": 23, "veintitres": 23,
    "veinticuatro": 24, "veinticinco": 25, "veintiséis": 26, "veintiseis": 26,
    "veintisiete": 27, "veintiocho": 28, "veintinueve": 29,
}  # fmt: skip
_ES_TENS = {
    "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70,
    "ochenta": 80, "noventa": 90,
}  # fmt: skip
_ES_HUNDREDS = {
    "cien": 100, "ciento": 100, "doscientos": 200, "doscientas": 200, "trescientos": 300,
    "trescientas": 300, "cuatrocientos": 400, "cuatrocientas": 400, "quinientos": 500,
    "quinientas": 500, "seiscientos": 600, "seiscientas": 600, "setecientos": 700,
    "setecientas": 700, "ochocientos": 800, "ochocientas": 800, "novecientos": 900,
    "novecientas": 900,
}  # fmt: skip
_ES_ORDINAL_STEMS = {
    "primer": 1, "segund": 2, "tercer": 3, "cuart": 4, "quint": 5, "sext": 6, "séptim": 7,
    "septim": 7, "octav": 8, "noven": 9, "décim": 10, "decim": 10, "undécim": 11,
    "duodécim": 12, "vigésim": 20,
}  # fmt: skip

_RU_UNITS = {
    "ноль": 0, "один": 1, "одна": 1, "одно": 1, "одну": 1, "два": 2, "две": 2, "три": 3,
    "четыре": 4, "пять": 5, "шесть": 6, "семь": 7, "восемь": 8, "девять": 9, "десять": 10,
    "одиннадцать": 11, "двенадцать": 12, "тринадцать": 13, "четырнадцать": 14,
    "пятнадцать": 15, "шестнадцать": 16, "семнадцать": 17, "восемнадцать": 18,
    "девятнадцать": 19, "двух": 2, "трех": 3, "четырех": 4,
}  # fmt: skip
_RU_TENS = {
    "двадцать": 20, "тридцать": 30, "сорок": 40, "пятьдесят": 50, "шестьдесят": 60,
    "семьдесят": 70, "восемьдесят": 80, "девяносто": 90,
}  # fmt: skip
_RU_HUNDREDS = {
    "сто": 100, "двести": 200, "триста": 300, "четыреста": 400, "пятьсот": 500,
    "шестьсот": 600, "семьсот": 700, "восемьсот": 800, "девятьсот": 900,
}  # fmt: skip
_RU_ORDINAL_STEMS = {
    "перв": 1, "втор": 2, "трет": 3, "четверт": 4, "пят": 5, "шест": 6, "седьм": 7,
    "восьм": 8, "девят": 9, "десят": 10, "одиннадцат": 11, "двенадцат": 12, "тринадцат": 13,
    "четырнадцат": 14, "пятнадцат": 15, "шестнадцат": 16, "семнадцат": 17,
    "восемнадцат": 18, "девятнадцат": 19, "двадцат": 20, "тридцат": 30, "сороков": 40,
    "пятидесят": 50,
}  # fmt: skip
_RU_ENDINGS = ("ого", "его", "ому", "ему", "ый", "ий", "ой", "ом", "ем", "ая", "яя", "ую",
               "юю", "ое", "ее", "ья", "ье", "ью", "ьего", "ьему", "ьем")  # fmt: skip

# Words that are numbers only next to a word for a bar ("go back a bar", "einen Takt zurück").
_AMBIGUOUS: dict[str, dict[str, int]] = {
    "en": {"a": 1, "an": 1, "one": 1},
    "de": {"ein": 1, "eine": 1, "einen": 1, "einem": 1},
    "es": {"un": 1, "una": 1, "uno": 1},
    "ru": {"один": 1, "одну": 1, "одного": 1, "одном": 1},
}
_DIGITS_ORDINAL = re.compile(r"^(\d{1,3})(?:st|nd|rd|th|\.|-?й|-?го|º|ª|o|a|te|ten|ter)?$")


def _german(word: str) -> int | None:
    """A German number written as one word ("zweiunddreißig", "hundertzwölf")."""
    m = re.fullmatch(r"(ein|zwei|drei|vier|fünf|sechs|sieben|acht|neun)?hundert(?:und)?(.*)", word)
    if m:
        hundreds = _DE_UNITS[m.group(1)] if m.group(1) else 1
        rest = _german_below_hundred(m.group(2)) if m.group(2) else 0
        return None if rest is None else hundreds * 100 + rest
    return _german_below_hundred(word)


def _german_below_hundred(word: str) -> int | None:
    if word in _DE_UNITS and word != "ein":
        return _DE_UNITS[word]
    if word in _DE_TENS:
        return _DE_TENS[word]
    m = re.fullmatch(r"(ein|zwei|drei|vier|fünf|sechs|sieben|acht|neun)und(\w+)", word)
    if m and m.group(2) in _DE_TENS:
        return _DE_UNITS[m.group(1)] + _DE_TENS[m.group(2)]
    return None


def _sequence(tokens: list[str], i: int, language: str) -> tuple[int, int] | None:
    """A cardinal number spelled over one or more words from ``tokens[i]``: (value, words)."""
    if language == "de":
        value = _german(tokens[i])
        return (value, 1) if value is not None else None
    units, tens, hundreds, joiner = {
        "en": (_EN_UNITS, _EN_TENS, {}, ""),
        "es": (_ES_UNITS, _ES_TENS, _ES_HUNDREDS, "y"),
        "ru": (_RU_UNITS, _RU_TENS, _RU_HUNDREDS, ""),
    }.get(language, ({}, {}, {}, ""))
    j, value, found = i, 0, False

    def at(k: int) -> str:
        return tokens[k] if k < len(tokens) else ""

    if at(j) in hundreds:
        value, j, found = hundreds[at(j)], j + 1, True
    elif language == "en" and at(j + 1) == "hundred" and (at(j) in units or at(j) in ("a", "one")):
        value, j, found = units.get(at(j), 1) * 100, j + 2, True
    elif language == "en" and at(j) == "hundred":
        value, j, found = 100, j + 1, True
    link = "and" if language == "en" else joiner
    if found and link and at(j) == link and (at(j + 1) in units or at(j + 1) in tens):
        j += 1
    if at(j) in tens:
        value, j, found = value + tens[at(j)], j + 1, True
        if joiner and at(j) == joiner and at(j + 1) in units and units[at(j + 1)] < 10:
            value, j = value + units[at(j + 1)], j + 2
        elif not joiner and at(j) in units and 0 < units[at(j)] < 10:
            value, j = value + units[at(j)], j + 1
    elif at(j) in units:
        value, j, found = value + units[at(j)], j + 1, True
    return (value, j - i) if found else None


def ordinal(word: str, language: str) -> int | None:
    """The number an ordinal word stands for ("third", "dritten", "tercer", "третьего")."""
    m = _DIGITS_ORDINAL.match(word)
    if m:
        return int(m.group(1))
    if language == "en":
        return _EN_ORDINALS.get(word)
    if language == "de":
        for ending in (*_DE_ENDINGS, ""):
            if ending and not word.endswith(ending):
                continue
            stem = word[: len(word) - len(ending)] if ending else word
            if stem in _DE_ORDINAL_STEMS:
                return _DE_ORDINAL_STEMS[stem]
            for cut in ("st", "t"):
                if stem.endswith(cut) and (n := _german(stem[: -len(cut)])) is not None:
                    return n
        return None
    if language == "es":
        for stem, value in _ES_ORDINAL_STEMS.items():
            if word.startswith(stem) and word[len(stem) :] in ("", "o", "a", "os", "as"):
                return value
        return None
    if language == "ru":
        for stem, value in _RU_ORDINAL_STEMS.items():
            if word.startswith(stem) and word[len(stem) :] in _RU_ENDINGS:
                return value
    return None


def _split_hyphens(tokens: list[str], language: str) -> list[str]:
    """ "thirty-two" → "thirty", "two" (only when every part is a number word)."""
    out: list[str] = []
    for t in tokens:
        parts = t.split("-")
        if len(parts) > 1 and all(_sequence([p], 0, language) or ordinal(p, language)
                                  for p in parts):  # fmt: skip
            out.extend(parts)
        else:
            out.append(t)
    return out


def to_digits(text: str, language: str) -> str:
    """``text`` (normalised) with its number words written as digits."""
    tokens = _split_hyphens(text.split(" "), language)
    bars = BAR_WORDS.get(language, frozenset())
    ambiguous = _AMBIGUOUS.get(language, {})
    out: list[str] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        near_bar = (i + 1 < len(tokens) and tokens[i + 1] in bars) or (
            i > 0 and tokens[i - 1] in bars
        )
        if t in ambiguous and not (i + 1 < len(tokens) and tokens[i + 1] == "hundred"):
            out.append(str(ambiguous[t]) if near_bar else t)
            i += 1
            continue
        seq = _sequence(tokens, i, language)
        if seq is not None:
            value, used = seq
            after = tokens[i + used] if i + used < len(tokens) else ""
            unit = ordinal(after, language) if after else None
            if unit is not None and 0 < unit < 10 and value % 10 == 0 and value > 0:
                value, used = value + unit, used + 1  # "thirty-second", "тридцать второго"
            out.append(str(value))
            i += used
            continue
        n = ordinal(t, language) if near_bar else None
        out.append(str(n) if n is not None else t)
        i += 1
    return " ".join(out)


def number_words(language: str) -> frozenset[str]:
    """The words this module reads as numbers in ``language`` (a hint for guessing it)."""
    tables: dict[str, tuple[dict[str, int], ...]] = {
        "en": (_EN_UNITS, _EN_TENS),
        "de": (_DE_UNITS, _DE_TENS),
        "es": (_ES_UNITS, _ES_TENS, _ES_HUNDREDS),
        "ru": (_RU_UNITS, _RU_TENS, _RU_HUNDREDS),
    }
    return frozenset(w for table in tables.get(language, ()) for w in table)
