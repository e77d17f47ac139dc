"""Words → directions: "a bit slower", "nicht so staccato", "más fuerte aquí", "тише".

Pure text processing over the tables in :mod:`appliance.directions.lexicon`. A request is split
into clauses ("slower and softer"); in each clause the direction phrases are found (longest
first, whole words), then intensity words ("a bit", "much") scale them and negations ("not so",
"less", "too") flip them: "too fast" asks for −1 × allegro, i.e. slower. A scope phrase anywhere
applies to the whole request; otherwise each class has its natural scope (levels last from now
on, and so does "a tempo"; changes and accents are "here").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from appliance.directions.classes import CLASSES, GROUP_OF, Scope
from appliance.directions.lexicon import LANGUAGES, Language

# Levels (dynamics, tempo, articulation style) persist; changes and single events are local.
_LOCAL_GROUPS = {"dynamic_change", "tempo_change"}
_LOCAL_CLASSES = {"fermata", "accent"}
MAX_STRENGTH = 3.0


@dataclass(frozen=True)
class DirectionRequest:
    """Steer towards ``cls`` (negative strength: away from it) for ``scope``."""

    cls: str
    strength: float
    scope: Scope

    def __post_init__(self) -> None:
        if self.cls not in CLASSES:
            raise ValueError(f"unknown direction class {self.cls!r}")


@dataclass(frozen=True)
class ParsedDirections:
    """What a sentence asked for: directions, or a control ("undo" / "reset"), or nothing."""

    directions: tuple[DirectionRequest, ...] = ()
    control: str | None = None
    language: str = ""
    matched_words: int = 0  # how much of the sentence the language's tables understood

    @property
    def understood(self) -> bool:
        return bool(self.directions) or self.control is not None


def default_scope(cls: str) -> Scope:
    if cls == "a_tempo":  # a return to the tempo: it lasts
        return Scope.FROM_NOW
    if GROUP_OF[cls] in _LOCAL_GROUPS or cls in _LOCAL_CLASSES:
        return Scope.HERE
    return Scope.FROM_NOW


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower().replace("ё", "е")
    text = re.sub(r"[!?.¡¿\"“”«»()]", " ", text)
    text = text.replace("’", "'")
    return " " + re.sub(r"\s+", " ", text).strip() + " "


def _pattern(phrase: str) -> re.Pattern[str]:
    key = normalise(phrase).strip()
    return re.compile(r"(?<![\w-])" + re.escape(key) + r"(?![\w-])")


def _find(
    text: str, phrases: list[str], taken: list[tuple[int, int]]
) -> list[tuple[int, int, str]]:
    """Non-overlapping whole-word matches, longest phrases first; marks them as taken."""
    found = []
    for phrase in sorted(phrases, key=len, reverse=True):
        for m in _pattern(phrase).finditer(text):
            a, b = m.span()
            if any(a < tb and ta < b for ta, tb in taken):
                continue
            taken.append((a, b))
            found.append((a, b, phrase))
    return sorted(found)


def _clauses(text: str, lang: Language) -> list[str]:
    parts = [text]
    for conj in lang.conjunctions:
        parts = [p for part in parts for p in part.split(conj)]
    return [f" {p.strip()} " for p in parts if p.strip()]


def parse_in(text: str, lang: Language) -> ParsedDirections:
    """Parse ``text`` with one language's tables."""
    norm = normalise(text)
    taken: list[tuple[int, int]] = []
    if _find(norm, list(lang.reset), taken):
        return ParsedDirections(control="reset", language=lang.code, matched_words=99)
    if _find(norm, list(lang.undo), taken):
        return ParsedDirections(control="undo", language=lang.code, matched_words=99)
    scope_hits = _find(norm, list(lang.scopes), [])
    scope = lang.scopes[scope_hits[0][2]] if scope_hits else None
    requests: list[DirectionRequest] = []
    matched_words = 0
    for clause in _clauses(norm, lang):
        taken = [(a, b) for a, b, _ in _find(clause, list(lang.scopes), [])]
        hits = _find(clause, list(lang.directions), taken)
        if not hits:
            continue
        negated = bool(_find(clause, list(lang.negations), taken))
        factor = 1.0
        for _a, _b, phrase in _find(clause, list(lang.intensity), taken):
            factor *= lang.intensity[phrase]
        matched_words += sum(len(s.split()) for s in (clause[a:b] for a, b in taken))
        sign = -1.0 if negated else 1.0
        for _a, _b, phrase in hits:
            cls, base = lang.directions[phrase]
            strength = max(-MAX_STRENGTH, min(MAX_STRENGTH, sign * base * factor))
            requests.append(DirectionRequest(cls, strength, scope or default_scope(cls)))
    return ParsedDirections(tuple(requests), language=lang.code, matched_words=matched_words)


def parse_directions(text: str, language: str | None = None) -> ParsedDirections:
    """Parse a spoken or typed request. With no language given, the language whose tables
    understand most of it wins (ties: English, German, Spanish, Russian)."""
    if language is not None:
        if language not in LANGUAGES:
            raise ValueError(f"unsupported language {language!r} (known: {', '.join(LANGUAGES)})")
        return parse_in(text, LANGUAGES[language])
    best = ParsedDirections()
    for lang in LANGUAGES.values():
        parsed = parse_in(text, lang)
        if parsed.understood and parsed.matched_words > best.matched_words:
            best = parsed
    return best
