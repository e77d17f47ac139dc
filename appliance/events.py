"""The typed events that parts of the box exchange over the bus (and later the data channel).

Commands go down (``Play``, ``Pause``, ``Seek``, ``Direct`` …); the engine answers with events
that go up (``NowPlaying``, ``Position``, ``TransportChanged`` …). Every event is a small frozen
dataclass with a ``type`` name; :func:`to_json` / :func:`from_json` carry them as JSON objects and
reject unknown types and malformed fields with a ``ValueError``.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

MAX_TEXT = 500
MAX_NESTING = 4  # brackets deep: an event is a flat object (lists of strings at most)


@dataclass(frozen=True)
class Event:
    type: ClassVar[str] = "event"


# Commands (down) -------------------------------------------------------------------------


@dataclass(frozen=True)
class Play(Event):
    """Start playing (the current piece, or resume after a pause)."""

    type: ClassVar[str] = "play"


@dataclass(frozen=True)
class Pause(Event):
    type: ClassVar[str] = "pause"


@dataclass(frozen=True)
class Stop(Event):
    type: ClassVar[str] = "stop"


@dataclass(frozen=True)
class Seek(Event):
    """Go to ``target``: "beginning", "phrase" (start of the current phrase), "back" (the
    previous phrase, or ``bars`` bars back) or "bar" (``bar`` as written in the score)."""

    type: ClassVar[str] = "seek"
    target: str = "beginning"
    bar: int = 0
    bars: int = 0  # "back": this many bars back (0: to the previous phrase)

    TARGETS: ClassVar[tuple[str, ...]] = ("beginning", "phrase", "back", "bar")

    def __post_init__(self) -> None:
        if self.target not in self.TARGETS:
            raise ValueError(f"seek target must be one of {', '.join(self.TARGETS)}")
        if not 0 <= self.bars <= 10_000:
            raise ValueError("seek bars must be between 0 and 10000")


@dataclass(frozen=True)
class SelectPiece(Event):
    """Play another piece: a library id, a query ("the Bach prelude"), or "" for a random one."""

    type: ClassVar[str] = "select_piece"
    query: str = ""


@dataclass(frozen=True)
class Direct(Event):
    """Directions in words ("softer", "like a lullaby"), applied from the next note on.
    ``directions``: already understood ("p +1.00 from_now", or "undo" / "reset" alone), in
    place of understanding ``text`` again (the text is then what was said, for display)."""

    type: ClassVar[str] = "direct"
    text: str = ""
    language: str = ""
    directions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Duck(Event):
    """Lower the music now (someone speaks); it comes back by itself a few seconds later."""

    type: ClassVar[str] = "duck"


@dataclass(frozen=True)
class Command(Event):
    """A typed or spoken line to be understood like the CLI's stdin ("pause", "bar 12",
    "softer", "play the Bach prelude")."""

    type: ClassVar[str] = "command"
    text: str = ""
    language: str = ""  # the phone's language ("" : guessed from the words)


@dataclass(frozen=True)
class Feedback(Event):
    """What a listener thought: like, dislike, too_fast, too_slow, too_loud, too_soft, …"""

    type: ClassVar[str] = "feedback"
    kind: str = "like"

    KINDS: ClassVar[tuple[str, ...]] = (
        "like", "dislike", "too_fast", "too_slow", "too_loud", "too_soft",
        "too_staccato", "too_legato",
    )  # fmt: skip

    def __post_init__(self) -> None:
        if self.kind not in self.KINDS:
            raise ValueError(f"feedback kind must be one of {', '.join(self.KINDS)}")


@dataclass(frozen=True)
class TasteOf(Event):
    """Play on the way a person likes it (their taste, learnt from their feedback): the one
    with the display name ``name``, or ("") whoever asks."""

    type: ClassVar[str] = "taste_of"
    name: str = ""


@dataclass(frozen=True)
class Volume(Event):
    """The box's output level in percent (0 silent … 100 the loudest without clipping)."""

    type: ClassVar[str] = "volume"
    percent: int = 80

    def __post_init__(self) -> None:
        if not 0 <= self.percent <= 100:
            raise ValueError("volume percent must be between 0 and 100")


@dataclass(frozen=True)
class Authenticate(Event):
    """A listening phone that has paired since it connected presents its session token, so that
    the same connection may conduct (no second connection)."""

    type: ClassVar[str] = "authenticate"
    token: str = ""


@dataclass(frozen=True)
class Talk(Event):
    """The walkie-talkie button: pressed (recording) or released."""

    type: ClassVar[str] = "talk"
    pressed: bool = False
    language: str = ""  # the phone's language (en, de, es, ru): what the speech will be in


# Events (up) -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NowPlaying(Event):
    type: ClassVar[str] = "now_playing"
    piece_id: str = ""
    title: str = ""
    composer: str = ""
    seed: int = 0
    bars: int = 0


@dataclass(frozen=True)
class Position(Event):
    """Where the performance is: the bar as written, local tempo and loudness."""

    type: ClassVar[str] = "position"
    bar: int = 0
    seconds: float = 0.0
    tempo_bpm: float = 0.0
    velocity: float = 0.0


@dataclass(frozen=True)
class TransportChanged(Event):
    type: ClassVar[str] = "transport"
    state: str = "stopped"  # "playing" | "paused" | "stopped"


@dataclass(frozen=True)
class DirectionApplied(Event):
    """Directions now in effect. ``directions`` are machine-readable ("p +1.00 from_now", or
    the control "undo" / "reset") so that each phone can say them in its own language
    (:mod:`appliance.directions.plain`)."""

    type: ClassVar[str] = "direction_applied"
    text: str = ""
    directions: tuple[str, ...] = ()  # "p +1.00 from_now", …
    from_bar: int = 0
    first_note: int = 0
    who: str = ""
    source: str = ""  # speech, face, button or text ("": the box's own, e.g. a taste)


@dataclass(frozen=True)
class Moved(Event):
    """The performance jumped: to the beginning, a bar, or a phrase; ``bar`` as written."""

    type: ClassVar[str] = "moved"
    target: str = "beginning"
    bar: int = 0


@dataclass(frozen=True)
class Notice(Event):
    """Something the user should know that is not a problem ("one moment…", "ready")."""

    type: ClassVar[str] = "notice"
    message: str = ""
    kind: str = ""  # "loading" | "ready" | "" (machine-readable, for the phone's own words)


@dataclass(frozen=True)
class PieceEnded(Event):
    type: ClassVar[str] = "piece_ended"
    piece_id: str = ""


@dataclass(frozen=True)
class Heard(Event):
    """What the box heard the phone's user say: while they speak (``final`` False, it may
    still change), then the final text. Sent to that phone only."""

    type: ClassVar[str] = "heard"
    text: str = ""
    final: bool = False


@dataclass(frozen=True)
class Reply(Event):
    """The box's answer to what a phone's user said or typed, in their language and plain
    words ("Softer from bar 14", "Sorry, I didn't understand …"). Sent to that phone only."""

    type: ClassVar[str] = "reply"
    text: str = ""
    heard: str = ""
    understood: bool = True


@dataclass(frozen=True)
class Seen(Event):
    """What the box reads in the phone user's face while the button is held, a few times a
    second (:mod:`appliance.vision`), so that people learn the gestures. Sent to that phone
    only. ``expression``: "smile", "brows", "frown", "pursed", "neutral" ("" no face seen);
    ``levels``: how strongly each of smile, brows, frown, pursed is read now (0…1, in that
    order); ``gesture``: "nod", "shake" or ""; ``nod_bpm``: the nodding beat (0: none);
    ``words``: the same in plain English ("smiling → gentler")."""

    type: ClassVar[str] = "seen"
    expression: str = ""
    levels: tuple[float, ...] = ()
    gesture: str = ""
    nod_bpm: float = 0.0
    words: str = ""


@dataclass(frozen=True)
class Problem(Event):
    """Something the user should hear about (a command not understood, a missing device)."""

    type: ClassVar[str] = "problem"
    message: str = ""


@dataclass(frozen=True)
class Action(Event):
    """Who did what, for every phone's activity list."""

    type: ClassVar[str] = "action"
    who: str = ""
    what: str = ""


@dataclass(frozen=True)
class ProtocolError(Event):
    """A message the box could not take (malformed, too large, unknown, not allowed)."""

    type: ClassVar[str] = "error"
    message: str = ""


EVENT_TYPES: dict[str, type[Event]] = {
    cls.type: cls
    for cls in (
        Play,
        Pause,
        Stop,
        Seek,
        SelectPiece,
        Direct,
        Duck,
        NowPlaying,
        Position,
        TransportChanged,
        DirectionApplied,
        PieceEnded,
        Problem,
        Command,
        Feedback,
        Talk,
        Action,
        ProtocolError,
        Volume,
        Authenticate,
        Moved,
        Notice,
        Heard,
        Reply,
        Seen,
        TasteOf,
    )
}
# What a phone may send (everything else it sends is refused).
FROM_PHONE: tuple[type[Event], ...] = (
    Play, Pause, Stop, Seek, SelectPiece, Direct, Duck, Command, Feedback, Talk, Volume,
    Authenticate,
)  # fmt: skip


def to_json(event: Event) -> str:
    return json.dumps({"type": event.type, **dataclasses.asdict(event)}, ensure_ascii=False)


def _check(name: str, value: Any, annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if annotation is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if annotation in (int, str, bool):
        if type(value) is not annotation:
            raise ValueError(f"field {name!r} must be {annotation.__name__}")
        if annotation is str and len(value) > MAX_TEXT:
            raise ValueError(f"field {name!r} is longer than {MAX_TEXT} characters")
        if annotation is str and not _is_text(value):
            raise ValueError(f"field {name!r} is not valid Unicode text")
        return value
    if origin is tuple and isinstance(value, list):
        (inner, _) = typing.get_args(annotation)
        return tuple(_check(name, v, inner) for v in value)
    if isinstance(annotation, types.UnionType):
        raise ValueError(f"field {name!r} has an unsupported type")
    raise ValueError(f"field {name!r} has a wrong type")


def from_dict(raw: Any) -> Event:
    if not isinstance(raw, dict):
        raise ValueError("an event is a JSON object")
    kind = raw.get("type")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"unknown event type {kind!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name for f in dataclasses.fields(cls)}
    unknown = set(raw) - fields - {"type"}
    if unknown:
        raise ValueError(f"{kind}: unknown fields {sorted(unknown)}")
    values = {k: _check(k, v, hints[k]) for k, v in raw.items() if k != "type"}
    return cls(**values)


def from_json(text: str) -> Event:
    if nesting(text) > MAX_NESTING:
        raise ValueError(f"nested more than {MAX_NESTING} deep")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg}") from None
    except ValueError:  # a number of thousands of digits
        raise ValueError("not JSON the box takes: a number is too long") from None
    except RecursionError:
        raise ValueError("nested too deep") from None
    try:
        return from_dict(raw)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def nesting(text: str) -> int:
    """How deep the brackets of a JSON text go (outside its strings), without parsing it."""
    deepest = depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _is_text(value: str) -> bool:
    """False for strings holding lone surrogates (JSON allows "\\ud800"; UTF-8 does not)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
