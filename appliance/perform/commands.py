"""Typed commands from a line of text (the CLI's stdin, the web page's text box).

A thin layer over the understanding layer (:func:`appliance.understand.understand`, rules
only): its first intent becomes the command — transport → ``Pause`` / ``Play`` / ``Stop``,
navigate → ``Seek``, select → ``SelectPiece`` with the words as said; directions, opinions,
take-backs and anything not understood stay words (``Direct``) for the conductor's
interpreter. Only what is not an intent is read here: the output volume ("volume 50") and
"duck".
"""

from __future__ import annotations

import re

from appliance.events import (
    Direct,
    Duck,
    Event,
    Feedback,
    Pause,
    Play,
    Seek,
    SelectPiece,
    Stop,
    TasteOf,
    Volume,
)
from appliance.understand import understand
from appliance.understand.intents import Intent, Navigate, Select, Transport
from appliance.understand.normalise import normalise

_VOLUME = re.compile(r"^(?:volume|lautstärke|volumen|громкость)\s+(\d{1,3})\s*%?$")
_MAX_SEEK_BARS = 10_000
_TRANSPORT: dict[str, Event] = {"pause": Pause(), "resume": Play(), "stop": Stop()}


def parse_command(line: str) -> Event | None:
    """The command a line asks for (None for an empty line)."""
    text = normalise(line).replace(",", " ")
    if not text.strip():
        return None
    if text == "duck":
        return Duck()
    m = _VOLUME.match(" ".join(text.split()))
    if m:
        return Volume(min(100, int(m.group(1))))
    intents = understand(line).intents
    return _command(intents[0]) or Direct(line.strip())


def _command(intent: Intent) -> Event | None:
    if isinstance(intent, Transport):
        return _TRANSPORT[intent.action]
    if isinstance(intent, Navigate):
        if intent.to == "bar":
            return Seek("bar", intent.bar or 0)
        if intent.to == "back":
            return Seek("back", bars=min(intent.bars or 0, _MAX_SEEK_BARS))
        return Seek(intent.to)
    if isinstance(intent, Select):
        return SelectPiece(intent.query)
    return None


def describe_command(event: Event) -> str:
    """Who-did-what wording of a command, for the activity list and the console."""
    if isinstance(event, Seek):
        return f"bar {event.bar}" if event.target == "bar" else {
            "beginning": "from the beginning", "phrase": "this phrase again",
            "back": "back a phrase",
        }[event.target]  # fmt: skip
    if isinstance(event, SelectPiece):
        return f"play {event.query}" if event.query else "next piece"
    if isinstance(event, Direct):
        return f"“{event.text}”"
    if isinstance(event, Volume):
        return f"volume {event.percent} %"
    if isinstance(event, Feedback):
        return f"feedback: {event.kind.replace('_', ' ')}"
    if isinstance(event, TasteOf):
        return f"the way {event.name} likes it" if event.name else "the way I like it"
    return {"play": "play", "pause": "pause", "stop": "stop", "duck": "speaking"}.get(
        event.type, event.type.replace("_", " ")
    )
