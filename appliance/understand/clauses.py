"""One utterance → the requests in it: "stop the music and then play some Bach" is two.

Split at commas and at the words that join requests ("and then", "und dann", "y luego",
"а потом", "but", …). Splitting "slower and softer" in two is harmless: adjacent direction
requests are joined again afterwards (and so are opinions: "that was clunky and far too loud").
A clause that is only a verb of playing ("сыграй, пожалуйста, полонез") is joined to the next,
because the politeness between them was just removed.
"""

from __future__ import annotations

import re

CONJUNCTIONS: dict[str, tuple[str, ...]] = {
    "en": ("and then", "and after that", "after that", "then", "and", "but", "also"),
    "de": ("und dann", "und danach", "danach", "dann", "und", "aber", "sondern"),
    "es": ("y luego", "y después", "y entonces", "luego", "después", "entonces", "y", "pero"),
    "ru": ("а потом", "и потом", "и затем", "потом", "затем", "и", "но", "а"),
}
_BARE_VERBS: dict[str, frozenset[str]] = {
    "en": frozenset({"play", "start", "put on"}),
    "de": frozenset({"spiel", "spiele", "leg"}),
    "es": frozenset({"toca", "pon", "tócame", "ponme"}),
    "ru": frozenset({"сыграй", "играй", "поставь", "включи", "сыграйте", "поставьте"}),
}


def _splitter(language: str) -> re.Pattern[str]:
    joins = sorted(CONJUNCTIONS.get(language, ()), key=len, reverse=True)
    alternatives = "|".join(re.escape(j) for j in joins)
    return re.compile(r"\s*,\s*|(?<![\w'-])(?:" + alternatives + r")(?![\w'-])")


_SPLITTERS = {lang: _splitter(lang) for lang in CONJUNCTIONS}


def split(text: str, language: str) -> list[str]:
    """The clauses of normalised ``text``, in order, without empty ones."""
    pattern = _SPLITTERS.get(language)
    parts = pattern.split(text) if pattern else text.split(",")
    clauses = [" ".join(p.split()) for p in parts]
    clauses = [c for c in clauses if c]
    verbs = _BARE_VERBS.get(language, frozenset())
    joined: list[str] = []
    carry = ""
    for clause in clauses:
        if clause in verbs and not carry:
            carry = clause
            continue
        joined.append(f"{carry} {clause}".strip())
        carry = ""
    if carry:
        joined.append(carry)
    return joined
