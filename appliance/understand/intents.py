"""What an utterance asks for, as typed intents — the one vocabulary of understanding.

Speech, the phone's text box and ``appliance play``'s stdin all turn text into a list of these
(:func:`appliance.understand.understand`); the conductor carries them out. Each intent has one
JSON shape (:func:`to_dict` / :func:`from_dict`), documented in the README under
``appliance understand``:

- ``{"kind":"select","query":str,"piece":library-id|null}``
- ``{"kind":"transport","action":"pause"|"resume"|"stop"}``
- ``{"kind":"navigate","to":"beginning"|"back"|"bar"|"phrase","bars":int|null,"bar":int|null}``
- ``{"kind":"feedback","polarity":"positive"|"negative"|null,
  "aspects":[{"feature":"tempo"|"dynamics"|"articulation","want":"more"|"less"}]}``
- ``{"kind":"direct","directions":[{"class":<direction class>,"strength":float}]}``
- ``{"kind":"control","action":"undo"|"reset"}``
- ``{"kind":"taste","name":str|null}`` (the way that person likes it; null: the speaker)
- ``{"kind":"unknown"}``
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from appliance.directions.classes import CLASSES

MAX_STRENGTH = 3.0
MAX_QUERY = 200
MAX_BAR = 100_000

TransportAction = Literal["pause", "resume", "stop"]
NavigateTo = Literal["beginning", "back", "bar", "phrase"]
Polarity = Literal["positive", "negative"]
Feature = Literal["tempo", "dynamics", "articulation"]
Want = Literal["more", "less"]
ControlAction = Literal["undo", "reset"]

TRANSPORT_ACTIONS: tuple[str, ...] = ("pause", "resume", "stop")
NAVIGATE_TO: tuple[str, ...] = ("beginning", "back", "bar", "phrase")
POLARITIES: tuple[str, ...] = ("positive", "negative")
FEATURES: tuple[str, ...] = ("tempo", "dynamics", "articulation")
WANTS: tuple[str, ...] = ("more", "less")
CONTROL_ACTIONS: tuple[str, ...] = ("undo", "reset")


@dataclass(frozen=True)
class Intent:
    kind: ClassVar[str] = "intent"


@dataclass(frozen=True)
class Select(Intent):
    """Play a piece: ``query`` as said ("something by Chopin", "" for any other piece);
    ``piece`` the library id it matched (None: nothing in the library matches)."""

    kind: ClassVar[str] = "select"
    query: str = ""
    piece: str | None = None


@dataclass(frozen=True)
class Transport(Intent):
    kind: ClassVar[str] = "transport"
    action: TransportAction = "pause"


@dataclass(frozen=True)
class Navigate(Intent):
    """Go to the beginning, back ``bars`` bars (None: back a phrase), to bar ``bar`` as
    written, or to the start of the current phrase."""

    kind: ClassVar[str] = "navigate"
    to: NavigateTo = "beginning"
    bars: int | None = None
    bar: int | None = None


@dataclass(frozen=True)
class Aspect:
    """What feedback says of one feature: ``want`` "less" of it ("too fast" → tempo, less)."""

    feature: Feature
    want: Want


@dataclass(frozen=True)
class FeedbackIntent(Intent):
    """An opinion on what was just played."""

    kind: ClassVar[str] = "feedback"
    polarity: Polarity | None = None
    aspects: tuple[Aspect, ...] = ()


@dataclass(frozen=True)
class Steer:
    """Steer towards direction class ``cls`` (negative strength: away from it)."""

    cls: str
    strength: float


@dataclass(frozen=True)
class DirectIntent(Intent):
    """Directions for what comes next."""

    kind: ClassVar[str] = "direct"
    directions: tuple[Steer, ...] = ()


@dataclass(frozen=True)
class Control(Intent):
    kind: ClassVar[str] = "control"
    action: ControlAction = "undo"


@dataclass(frozen=True)
class TasteIntent(Intent):
    """Play on the way a person likes it: ``name`` as said, None for the speaker."""

    kind: ClassVar[str] = "taste"
    name: str | None = None


@dataclass(frozen=True)
class Unknown(Intent):
    kind: ClassVar[str] = "unknown"


# -- JSON shapes ------------------------------------------------------------------------------


def to_dict(intent: Intent) -> dict[str, Any]:
    """The documented JSON shape of one intent."""
    if isinstance(intent, Select):
        return {"kind": "select", "query": intent.query, "piece": intent.piece}
    if isinstance(intent, Transport):
        return {"kind": "transport", "action": intent.action}
    if isinstance(intent, Navigate):
        return {"kind": "navigate", "to": intent.to, "bars": intent.bars, "bar": intent.bar}
    if isinstance(intent, FeedbackIntent):
        aspects = [{"feature": a.feature, "want": a.want} for a in intent.aspects]
        return {"kind": "feedback", "polarity": intent.polarity, "aspects": aspects}
    if isinstance(intent, DirectIntent):
        steers = [{"class": s.cls, "strength": round(s.strength, 3)} for s in intent.directions]
        return {"kind": "direct", "directions": steers}
    if isinstance(intent, Control):
        return {"kind": "control", "action": intent.action}
    if isinstance(intent, TasteIntent):
        return {"kind": "taste", "name": intent.name}
    return {"kind": "unknown"}


def _one_of(raw: dict[str, Any], key: str, allowed: tuple[str, ...], optional: bool = False) -> Any:
    value = raw.get(key)
    if value is None and optional:
        return None
    if value not in allowed:
        raise ValueError(f"{raw.get('kind')}: {key!r} must be one of {', '.join(allowed)}")
    return value


def _count(raw: dict[str, Any], key: str) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if type(value) is not int or not 0 <= value <= MAX_BAR:
        raise ValueError(f"{raw.get('kind')}: {key!r} must be a whole number 0…{MAX_BAR} or null")
    return value


def from_dict(raw: Any) -> Intent:
    """An intent from its JSON shape (a language model's answer, a stored record); anything
    malformed raises ``ValueError`` with the reason."""
    if not isinstance(raw, dict):
        raise ValueError("an intent is a JSON object")
    kind = raw.get("kind")
    if kind == "select":
        query, piece = raw.get("query", ""), raw.get("piece")
        if not isinstance(query, str) or len(query) > MAX_QUERY:
            raise ValueError(f"select: 'query' must be text of at most {MAX_QUERY} characters")
        if piece is not None and (not isinstance(piece, str) or len(piece) > MAX_QUERY):
            raise ValueError("select: 'piece' must be a library id or null")
        return Select(query.strip(), piece)
    if kind == "transport":
        return Transport(_one_of(raw, "action", TRANSPORT_ACTIONS))
    if kind == "navigate":
        return Navigate(_one_of(raw, "to", NAVIGATE_TO), _count(raw, "bars"), _count(raw, "bar"))
    if kind == "feedback":
        aspects = raw.get("aspects") or []
        if not isinstance(aspects, list) or len(aspects) > 6:
            raise ValueError("feedback: 'aspects' must be a list of at most 6")
        parsed = []
        for a in aspects:
            if not isinstance(a, dict):
                raise ValueError("feedback: each aspect is an object")
            parsed.append(Aspect(_one_of(a, "feature", FEATURES), _one_of(a, "want", WANTS)))
        polarity = _one_of(raw, "polarity", POLARITIES, optional=True)
        return FeedbackIntent(polarity, tuple(dict.fromkeys(parsed)))
    if kind == "direct":
        steers = raw.get("directions")
        if not isinstance(steers, list) or not 1 <= len(steers) <= 8:
            raise ValueError("direct: 'directions' must be a list of 1 to 8")
        out = []
        for s in steers:
            if not isinstance(s, dict) or s.get("class") not in CLASSES:
                raise ValueError("direct: each direction needs a known 'class'")
            strength = s.get("strength", 1.0)
            if isinstance(strength, bool) or not isinstance(strength, int | float):
                raise ValueError("direct: 'strength' must be a number")
            if not math.isfinite(strength):
                raise ValueError("direct: 'strength' must be finite")
            strength = max(-MAX_STRENGTH, min(MAX_STRENGTH, float(strength)))
            out.append(Steer(s["class"], strength))
        return DirectIntent(tuple(out))
    if kind == "control":
        return Control(_one_of(raw, "action", CONTROL_ACTIONS))
    if kind == "taste":
        name = raw.get("name")
        if name is not None and (not isinstance(name, str) or not 0 < len(name) <= 100):
            raise ValueError("taste: 'name' must be a name (1…100 characters) or null")
        return TasteIntent(name)
    if kind == "unknown":
        return Unknown()
    raise ValueError(f"unknown intent kind {kind!r}")


@dataclass(frozen=True)
class Understanding:
    """What one utterance was understood as: the text, its language, the intents in order,
    and how (``"rules"``, ``"llm"``, ``"rules+llm"``)."""

    text: str
    language: str
    intents: tuple[Intent, ...]
    by: str = "rules"

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "language": self.language,
            "intents": [to_dict(i) for i in self.intents],
        }

    @property
    def understood(self) -> bool:
        return any(not isinstance(i, Unknown) for i in self.intents)
