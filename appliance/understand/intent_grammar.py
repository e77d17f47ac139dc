"""The intents' JSON shapes as a grammar: GBNF for constrained generation, and a regex to check.

A small language model asked for intents writes anything unless its sampling is constrained.
llama.cpp constrains it with a GBNF grammar, and this module builds that grammar from
:mod:`appliance.understand.intents`' own constants (the direction classes, the transport
actions, …), so a class added there is one the model can say, and nothing else is.

The answer is one JSON array of 1–3 intents (after one space at most), compact, with the
documented fields in the documented order. A select's ``piece`` is always null (the caller
looks the query up in the library); a strength has at most one decimal and lies within −3…3;
a bar count has at most four digits. Every shape is regular, so the same tree of nodes is
rendered as GBNF (for the model) and as a Python regular expression (to test what the grammar
admits without a model): the two cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from appliance.directions.classes import CLASSES
from appliance.understand.intents import (
    CONTROL_ACTIONS,
    FEATURES,
    NAVIGATE_TO,
    POLARITIES,
    TRANSPORT_ACTIONS,
    WANTS,
)

MAX_INTENTS = 3  # intents in one answer
MAX_DIRECTIONS = 3  # directions in one "direct" intent
MAX_ASPECTS = 3  # aspects in one "feedback" intent
MAX_QUERY_CHARS = 48  # a select's query, as the model writes it


# -- the nodes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lit:
    """Literal text."""

    text: str


@dataclass(frozen=True)
class Chars:
    """One character of a class, as GBNF and as regex write it."""

    gbnf: str
    regex: str


@dataclass(frozen=True)
class Ref:
    """A named rule."""

    name: str


@dataclass(frozen=True)
class Seq:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Alt:
    options: tuple[Node, ...]


@dataclass(frozen=True)
class Rep:
    """``node`` repeated ``low``…``high`` times."""

    node: Node
    low: int
    high: int


Node = Lit | Chars | Ref | Seq | Alt | Rep


def seq(*items: Node | str) -> Seq:
    """The items one after the other; nested sequences flattened and neighbouring literals
    joined, so that the GBNF reads like the JSON it admits."""
    flat: list[Node] = []
    for item in items:
        for node in item.items if isinstance(item, Seq) else (item,):
            node = Lit(node) if isinstance(node, str) else node
            if isinstance(node, Lit) and flat and isinstance(flat[-1], Lit):
                flat[-1] = Lit(flat[-1].text + node.text)
            elif not (isinstance(node, Lit) and not node.text):
                flat.append(node)
    return Seq(tuple(flat))


def alt(*options: Node | str) -> Alt:
    return Alt(tuple(Lit(o) if isinstance(o, str) else o for o in options))


def one_of(words: tuple[str, ...]) -> Alt:
    """A JSON string, one of ``words``."""
    return alt(*(f'"{w}"' for w in words))


def field(name: str, value: Node | str, first: bool = False) -> Seq:
    return seq("" if first else ",", f'"{name}":', value)


def obj(*fields: Seq) -> Seq:
    return seq("{", *fields, "}")


def listing(item: Node, low: int, high: int) -> Seq:
    """A JSON array of ``low``…``high`` items (``low`` 0 or 1)."""
    more = Rep(seq(",", item), 0, high - 1)
    body: Node = seq(item, more)
    return seq("[", Rep(body, 0, 1) if low == 0 else body, "]")


def kind(name: str, *fields: Seq) -> Seq:
    return obj(field("kind", f'"{name}"', first=True), *fields)


# -- the intents -------------------------------------------------------------------------------


def rules() -> dict[str, Node]:
    """The grammar: rule name → node; ``root`` is the answer."""
    null = "null"
    return {
        # a space may lead: the prompt ends "Intents:", and a tokenizer joins " [" in one token
        "root": seq(Rep(Lit(" "), 0, 1), listing(Ref("intent"), 1, MAX_INTENTS)),
        "intent": alt(
            *(Ref(k) for k in ("select", "transport", "navigate", "feedback")),
            *(Ref(k) for k in ("direct", "control", "unknown")),
        ),
        "select": kind("select", field("query", Ref("query")), field("piece", null)),
        "transport": kind("transport", field("action", one_of(TRANSPORT_ACTIONS))),
        "navigate": kind(
            "navigate",
            field("to", one_of(NAVIGATE_TO)),
            field("bars", Ref("count")),
            field("bar", Ref("count")),
        ),
        "feedback": kind(
            "feedback",
            field("polarity", alt(one_of(POLARITIES), null)),
            field("aspects", listing(Ref("aspect"), 0, MAX_ASPECTS)),
        ),
        "aspect": obj(field("feature", one_of(FEATURES), first=True), field("want", one_of(WANTS))),
        "direct": kind("direct", field("directions", listing(Ref("steer"), 1, MAX_DIRECTIONS))),
        "steer": obj(field("class", one_of(CLASSES), first=True), field("strength", Ref("num"))),
        "control": kind("control", field("action", one_of(CONTROL_ACTIONS))),
        "unknown": kind("unknown"),
        # text without quotes, backslashes or control characters
        "query": seq(
            '"', Rep(Chars(r'[^"\\\x00-\x1f]', r'[^"\\\x00-\x1f]'), 0, MAX_QUERY_CHARS), '"'
        ),
        "count": alt(
            null,
            Chars("[0-9]", "[0-9]"),
            seq(Chars("[1-9]", "[1-9]"), Rep(Chars("[0-9]", "[0-9]"), 1, 3)),
        ),
        "num": seq(
            Rep(Lit("-"), 0, 1),
            alt(
                seq(Chars("[0-2]", "[0-2]"), Rep(seq(".", Chars("[0-9]", "[0-9]")), 0, 1)),
                seq("3", Rep(Lit(".0"), 0, 1)),
            ),
        ),
    }


# -- rendering ---------------------------------------------------------------------------------


def _gbnf_literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _gbnf(node: Node) -> str:
    if isinstance(node, Lit):
        return _gbnf_literal(node.text)
    if isinstance(node, Chars):
        return node.gbnf
    if isinstance(node, Ref):
        return node.name
    if isinstance(node, Seq):
        parts = [_gbnf(i) for i in node.items]
        return parts[0] if len(parts) == 1 else "(" + " ".join(parts) + ")"
    if isinstance(node, Alt):
        return "(" + " | ".join(_gbnf(o) for o in node.options) + ")"
    inner = _gbnf(node.node)
    if (node.low, node.high) == (0, 1):
        return f"{inner}?"
    return f"{inner}{{{node.low},{node.high}}}"


def _regex(node: Node, table: dict[str, Node]) -> str:
    if isinstance(node, Lit):
        return re.escape(node.text)
    if isinstance(node, Chars):
        return node.regex
    if isinstance(node, Ref):
        return _regex(table[node.name], table)
    if isinstance(node, Seq):
        return "".join(_regex(i, table) for i in node.items)
    if isinstance(node, Alt):
        return "(?:" + "|".join(_regex(o, table) for o in node.options) + ")"
    return f"(?:{_regex(node.node, table)}){{{node.low},{node.high}}}"


@cache
def gbnf() -> str:
    """The grammar in llama.cpp's GBNF, one rule a line, ``root`` first."""
    return "".join(f"{name} ::= {_gbnf(node)}\n" for name, node in rules().items())


@cache
def answer_pattern() -> re.Pattern[str]:
    """What :func:`gbnf` admits, as a regular expression (use ``fullmatch``)."""
    table = rules()
    return re.compile(_regex(table["root"], table))
