"""Understanding what people say to the box: text (+ language) → typed intents, rules first.

:func:`understand` normalises the text (:mod:`.normalise`), writes number words as digits
(:mod:`.numbers`), splits it into requests (:mod:`.clauses`) and reads each with the rule tables
(:mod:`.rules`, :mod:`.opinions`, :mod:`.reading`). Adjacent direction requests become one
(“slower and softer”), and so do adjacent opinions that agree (“that was clunky and far too
loud”). Free-form descriptions the tables cannot read go to the sentence model's ``describer``;
when the rules understand nothing at all, a ``fallback`` (a local language model,
:mod:`.fallback`) is asked, within :data:`~.fallback.TIMEOUT` seconds.

The language, when given, is used as it is; otherwise each language's tables read the text and
the one that understands most wins (Cyrillic text is Russian; ties go to English).
"""

from __future__ import annotations

import logging
import re

from appliance.library.catalog import Library
from appliance.understand.clauses import split
from appliance.understand.fallback import TIMEOUT, Fallback
from appliance.understand.intents import (
    DirectIntent,
    FeedbackIntent,
    Intent,
    Understanding,
    Unknown,
)
from appliance.understand.normalise import normalise as normalise_text
from appliance.understand.normalise import strip_fillers, words
from appliance.understand.numbers import to_digits
from appliance.understand.reading import Describe, Reading, read_clause
from appliance.understand.rules import RULES

__all__ = ["LANGUAGES", "Fallback", "Understanding", "understand"]

log = logging.getLogger(__name__)

LANGUAGES: tuple[str, ...] = ("en", "de", "es", "ru")
MAX_TEXT = 500  # characters read of one utterance
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_RULE_WEIGHT = 3  # a word the rules understood counts more than a filler or a common word


def _read(
    text: str, code: str, library: Library | None, describe: Describe | None
) -> tuple[list[Reading], int]:
    """The readings of ``text`` (normalised) in ``code``, and how well that language fits."""
    stripped, fillers = strip_fillers(text, code)
    digits = to_digits(stripped, code)
    clauses = split(digits, code)
    readings = [read_clause(c, code, library, describe) for c in clauses]
    hints = sum(w in RULES[code].hints for w in words(text))
    hints += sum(bool(re.search(p, c)) for c in clauses for p in RULES[code].chat)  # small talk
    return readings, _RULE_WEIGHT * sum(r.words for r in readings) + fillers + hints


def _merge(readings: list[Reading]) -> tuple[Intent, ...]:
    """Unknown clauses dropped when others were understood; adjacent directions joined, and
    adjacent opinions that do not disagree."""
    intents = [r.intent for r in readings if not isinstance(r.intent, Unknown)]
    if not intents:
        return (Unknown(),)
    out: list[Intent] = []
    for intent in intents:
        last = out[-1] if out else None
        if isinstance(intent, DirectIntent) and isinstance(last, DirectIntent):
            out[-1] = DirectIntent((*last.directions, *intent.directions))
        elif isinstance(intent, FeedbackIntent) and isinstance(last, FeedbackIntent):
            if last.polarity and intent.polarity and last.polarity != intent.polarity:
                out.append(intent)  # "lovely, but a little too fast": two opinions
                continue
            aspects = tuple(dict.fromkeys((*last.aspects, *intent.aspects)))
            out[-1] = FeedbackIntent(last.polarity or intent.polarity, aspects)
        else:
            out.append(intent)
    return tuple(out)


def guess_language(text: str, library: Library | None = None) -> str:
    """The language whose tables understand most of ``text`` (Cyrillic: Russian; ties:
    English)."""
    norm = normalise_text(text[:MAX_TEXT])
    if _CYRILLIC.search(norm):
        return "ru"
    best, best_score = "en", -1
    for code in ("en", "de", "es"):
        _, score = _read(norm, code, library, None)
        if score > best_score:
            best, best_score = code, score
    return best


def understand(
    text: str,
    language: str | None = None,
    library: Library | None = None,
    describer: Describe | None = None,
    fallback: Fallback | None = None,
) -> Understanding:
    """What ``text`` asks for, as typed intents (see :mod:`appliance.understand.intents`).

    ``describer``: text → directions for free-form descriptions (the box passes its sentence
    model's ``Describer.describe``; a ``ParsedDirections`` answer works too). ``library``: to
    give ``select`` intents the id of the piece they name. An unknown ``language`` raises
    ``ValueError``.
    """
    if language is not None and language not in RULES:
        raise ValueError(f"unsupported language {language!r} (known: {', '.join(LANGUAGES)})")
    code = language or guess_language(text, library)
    norm = normalise_text(text[:MAX_TEXT])
    readings, _ = _read(norm, code, library, describer)
    intents = _merge(readings)
    understanding = Understanding(text, code, intents, "rules")
    if understanding.understood or fallback is None or not norm:
        return understanding
    try:
        answer = fallback.intents(text, code, TIMEOUT)
    except Exception:  # a broken fallback must not break understanding
        log.exception("the fallback failed on %r", text)
        return understanding
    if not answer:
        return understanding
    return Understanding(text, code, tuple(answer), "llm")
