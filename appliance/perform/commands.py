"""Typed commands from a line of text (the CLI's stdin, the web page's text box).

Transport words are matched first ("pause", "from the beginning", "bar 12", "play the Bach
prelude", "next"); anything else is taken as a direction ("softer", "like a lullaby").
"""

from __future__ import annotations

import re

from appliance.events import Direct, Duck, Event, Pause, Play, Seek, SelectPiece, Stop

_EXACT: dict[str, Event] = {}
for words, event in (
    (("pause", "wait", "hold on", "pausa", "пауза", "halt"), Pause()),
    (("resume", "continue", "play", "go on", "weiter", "sigue", "продолжай", "start"), Play()),
    (("stop", "stopp", "para", "стоп", "quiet", "silence"), Stop()),
    (
        ("from the beginning", "again", "again from the beginning", "restart", "from the start",
         "von vorne", "desde el principio", "сначала", "beginning"),
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

_BAR = re.compile(r"^(?:from |go to |ab |desde el |с )?(?:bar|takt|compás|compas|такт)\s+(\d+)$")
_PLAY = re.compile(r"^(?:play|spiel|spiele|toca|сыграй|играй)\s+(.+)$")


def parse_command(line: str) -> Event | None:
    """The command a line asks for (None for an empty line)."""
    text = " ".join(line.strip().lower().rstrip(".!?").split())
    if not text:
        return None
    if text in _EXACT:
        return _EXACT[text]
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
