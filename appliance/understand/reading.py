"""One clause, one language's rules → one intent, and how many words of it the rules knew.

The kinds are tried in an order that settles the ambiguities people create:
0. a listener's taste ("the way I like it", "like Grandma likes it": not a simile);

1. taking back ("undo that", "no, not like that") and "back to normal";
2. transport, only when it is the whole clause ("play" alone resumes, "play softer" does not);
3. navigation ("back four bars", "from bar 32", "this phrase again", "from the top");
4. another piece ("next piece", "something else"), then a named piece ("play X", "I'd love to
   hear X", "something by X") — unless X is a direction ("play it piano", "play softer", "play
   it like a lullaby"; "play the piano piece" is a piece: a word like "piece" outweighs a
   dynamic);
5. an opinion on what was played ("that was lovely", "way too fast for me");
6. directions by the word tables ("a bit slower", "not so loud", "switch to largo");
7. a piece named by itself ("the Mozart, please"), when a library is there to know it;
8. a description for the sentence model ("like a lullaby", "dreamy") — short or simile-like
   clauses only, never small talk;
9. otherwise unknown.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from appliance.directions.lexicon import LANGUAGES, Language
from appliance.directions.words import ParsedDirections, parse_in
from appliance.library.catalog import Library
from appliance.understand.intents import (
    Control,
    DirectIntent,
    Intent,
    Navigate,
    Select,
    Steer,
    Transport,
    Unknown,
)
from appliance.understand.opinions import read_opinion
from appliance.understand.pieces import names_a_piece, piece_for
from appliance.understand.rules import RULES, Rules
from appliance.understand.tastes import read_taste

Describe = Callable[[str], Any]  # text → ParsedDirections | Description | None
MAX_DESCRIPTION_WORDS = 4  # longer clauses go to the sentence model only when simile-like


@dataclass(frozen=True)
class Reading:
    intent: Intent
    words: int  # words the rules understood: a hint of the language


@cache
def lexicon(code: str) -> Language:
    """The direction lexicon of ``code`` with this package's additions."""
    base, rules = LANGUAGES[code], RULES[code]
    return dataclasses.replace(
        base,
        directions={**base.directions, **rules.extra_directions},
        negations=(*base.negations, *rules.extra_negations),
        intensity={**base.intensity, **(rules.extra_intensity or {})},
    )


def _whole(clause: str, patterns: tuple[str, ...]) -> bool:
    return any(re.fullmatch(p, clause) for p in patterns)


def _search(clause: str, patterns: tuple[str, ...]) -> re.Match[str] | None:
    for p in patterns:
        m = re.search(p, clause)
        if m:
            return m
    return None


def _count(m: re.Match[str]) -> int | None:
    return int(m.group(1)) if m.groups() and m.group(1) else None


def _navigate(clause: str, rules: Rules) -> Navigate | None:
    if _search(clause, rules.phrase):
        return Navigate("phrase")
    m = _search(clause, rules.navigate_back)
    if m:
        return Navigate("back", bars=_count(m) or 1)
    m = _search(clause, rules.navigate_bar)
    if m:
        return Navigate("bar", bar=_count(m))
    if _whole(clause, rules.back_bare):
        return Navigate("back")
    if _search(clause, rules.beginning_any) or _whole(clause, rules.beginning_whole):
        return Navigate("beginning")
    return None


def _is_direction(text: str, rules: Rules) -> bool:
    return _search(text, rules.simile) is not None or parse_in(text, lexicon(rules.code)).understood


def _asks_for_piece(query: str, rules: Rules, library: Library | None) -> bool:
    """Whether "play ``query``" names a piece rather than asking for directions."""
    ws = query.split()
    pieceish = any(w in rules.piece_words for w in ws)
    if not ws or _search(query, rules.simile) or (ws[0] in rules.pronouns and not pieceish):
        return False  # "play it like a lullaby", "play it piano"
    if not parse_in(query, lexicon(rules.code)).understood:
        return True
    # "play it piano" is a direction; "toca la pieza para piano" a piece
    return pieceish or names_a_piece(query, library) is not None


def _select(clause: str, rules: Rules, library: Library | None) -> Select | None:
    if _whole(clause, rules.another):
        return Select("", None)
    for pattern in rules.select:
        m = re.fullmatch(pattern, clause)
        if m and _asks_for_piece(m.group("q"), rules, library):
            query = m.group("q").strip()
            return Select(query, piece_for(query, library))
    if _whole(clause, rules.select_whole_query) and not _is_direction(clause, rules):
        return Select(clause, piece_for(clause, library))
    return None


def _steers(parsed: ParsedDirections) -> tuple[Steer, ...]:
    return tuple(Steer(d.cls, d.strength) for d in parsed.directions)


def described(result: Any) -> tuple[Steer, ...]:
    """Directions from what a describer gave: ParsedDirections, a Description (which has
    ``requests()``) or None."""
    if result is None:
        return ()
    if hasattr(result, "requests"):
        result = result.requests()
    if isinstance(result, ParsedDirections):
        return _steers(result)
    return ()


def read_clause(
    clause: str,
    code: str,
    library: Library | None = None,
    describe: Describe | None = None,
) -> Reading:
    """What ``clause`` (normalised, fillers removed, numbers as digits) asks for in ``code``."""
    rules = RULES[code]
    size = len(clause.split())
    taste = read_taste(clause, code)
    if taste is not None:
        return Reading(taste, size)
    for action in ("undo", "reset"):
        if _whole(clause, rules.control_whole[action]) or _search(
            clause, rules.control_any[action]
        ):
            return Reading(Control(action), size)
    for transport, patterns in rules.transport.items():
        if _whole(clause, patterns):
            return Reading(Transport(transport), size)
    found: Intent | None = _navigate(clause, rules) or _select(clause, rules, library)
    if found is not None:
        return Reading(found, size)
    opinion, used = read_opinion(clause, code)
    if opinion is not None:
        return Reading(opinion, max(used, 1))
    parsed = parse_in(clause, lexicon(code))
    if parsed.control is not None:
        return Reading(Control("undo" if parsed.control == "undo" else "reset"), size)
    if parsed.directions:
        return Reading(DirectIntent(_steers(parsed)), max(parsed.matched_words, 1))
    named = names_a_piece(clause, library)
    if named is not None:
        return Reading(Select(clause, named), 1)
    describable = _search(clause, rules.simile) or size <= MAX_DESCRIPTION_WORDS
    if describe is not None and describable and not _search(clause, rules.chat):
        steers = described(describe(clause))
        if steers:
            return Reading(DirectIntent(steers), 0)
    return Reading(Unknown(), 0)
