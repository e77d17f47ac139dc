"""Typed commands from a line of text (the CLI's stdin, the web page's text box).

Transport words are matched first ("pause", "from the beginning", "bar 12", "play the Bach
prelude", "next"); anything else is taken as a direction ("softer", "like a lullaby").
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
    Volume,
)

_EXACT: dict[str, Event] = {}
for words, event in (
    (("pause", "wait", "hold on", "pausa", "пауза", "halt", "pause it", "pause the music"),
     Pause()),
    (("resume", "continue", "play", "go on", "weiter", "sigue", "продолжай", "start",
      "keep going", "carry on", "play again", "weiterspielen", "spiel weiter", "continúa",
      "играй дальше"), Play()),
    (("stop", "stopp", "para", "стоп", "quiet", "silence", "stop it", "stop the music",
      "stop playing", "hör auf", "detente", "остановись", "хватит"), Stop()),
    (
        ("from the beginning", "again", "again from the beginning", "restart", "from the start",
         "von vorne", "desde el principio", "сначала", "beginning", "start again",
         "start over", "go back to the beginning", "back to the beginning",
         "go back to the start", "back to the start", "start from the beginning",
         "play it again", "from the top", "noch einmal", "nochmal", "otra vez",
         "de nuevo", "ещё раз", "заново", "с начала"),
        Seek("beginning"),
    ),
    (("go back a bit", "back", "go back", "zurück", "atrás", "назад"), Seek("back")),
    (("from the phrase", "this phrase again", "repeat the phrase"), Seek("phrase")),
    (
        ("next", "next piece", "another piece", "something else", "nächstes stück",
         "otra pieza", "другую пьесу", "skip"),
        SelectPiece(""),
    ),
    (("duck",), Duck()),
):  # fmt: skip
    for w in words:
        _EXACT[w] = event

_VOLUME = re.compile(r"^(?:volume|lautstärke|volumen|громкость)\s+(\d{1,3})\s*%?$")
# Politeness and fillers around a command ("please stop", "can you pause now").
_FILLER_BEFORE = re.compile(
    r"^(?:(?:please|can you|could you|would you|now|ok|okay|bitte|por favor|пожалуйста)\s+)+"
)
_FILLER_AFTER = re.compile(r"(?:\s+(?:please|now|bitte|por favor|пожалуйста))+$")
_BAR = re.compile(r"^(?:from |go to |ab |desde el |с )?(?:bar|takt|compás|compas|такт)\s+(\d+)$")
_PLAY = re.compile(r"^(?:play|spiel|spiele|toca|сыграй|играй)\s+(.+)$")


def parse_command(line: str) -> Event | None:
    """The command a line asks for (None for an empty line)."""
    text = " ".join(line.strip().lower().rstrip(".!?").replace(",", " ").split())
    text = _FILLER_AFTER.sub("", _FILLER_BEFORE.sub("", text))
    if not text:
        return None
    if text in _EXACT:
        return _EXACT[text]
    m = _VOLUME.match(text)
    if m:
        return Volume(min(100, int(m.group(1))))
    m = _BAR.match(text)
    if m:
        return Seek("bar", int(m.group(1)))
    m = _PLAY.match(text)
    if m and not _looks_like_direction(m.group(1)):
        return SelectPiece(m.group(1))
    return Direct(line.strip())


def _looks_like_direction(rest: str) -> bool:
    """ "play softer", "play it like a lullaby" are directions, not piece names."""
    from appliance.directions.words import parse_directions

    first = rest.split()[0] if rest.split() else ""
    return parse_directions(rest).understood or first in {"it", "this", "more", "less", "es", "lo"}


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
    return {"play": "play", "pause": "pause", "stop": "stop", "duck": "speaking"}.get(
        event.type, event.type.replace("_", " ")
    )
