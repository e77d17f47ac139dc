"""Directions placed in a score ("softer@bar 8"), for offline rendering and tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from appliance.directions.interpret import Interpreter
from appliance.directions.levels import LEVEL_CLASSES
from appliance.directions.steer import Preview, Steering, SteeringVectors
from appliance.directions.words import ParsedDirections
from appliance.errors import ApplianceError
from appliance.render.base import PerformanceStream, Style


@dataclass(frozen=True)
class PlacedDirection:
    text: str
    note: int  # first note it applies to
    parsed: ParsedDirections


def place(
    spec: str,
    notes: np.ndarray,
    language: str | None = None,
    interpreter: Interpreter | None = None,
) -> PlacedDirection:
    """Parse "WORDS@bar N" (N as written in the score; the first time bar N is played).

    WORDS are direction phrases, or (with an ``interpreter`` reading free form) descriptions
    such as "like a lullaby"."""
    text, sep, where = spec.rpartition("@")
    if not sep or not text.strip():
        raise ApplianceError(f"{spec!r}: write a direction as WORDS@bar N, e.g. 'softer@bar 8'")
    where = where.strip().lower().removeprefix("bar").strip()
    try:
        bar = int(where)
    except ValueError:
        raise ApplianceError(f"{spec!r}: {where!r} is not a bar number") from None
    hits = np.flatnonzero(notes["bar_number"] == bar)
    if len(hits) == 0:
        raise ApplianceError(f"{spec!r}: the score has no bar {bar}")
    parsed = (interpreter or Interpreter(free_form=False)).interpret(text, language)
    if not parsed.understood:
        raise ApplianceError(f"{spec!r}: {text.strip()!r} is not a direction the box knows")
    return PlacedDirection(text.strip(), int(hits[0]), parsed)


PLAN_BARS = 2  # how far ahead a level looks at the music it changes


def needs_plan(parsed: ParsedDirections) -> bool:
    """Whether any of the directions is a level (resolved from the music about to be played)."""
    return any(d.cls in LEVEL_CLASSES for d in parsed.directions)


def planned(stream: PerformanceStream, at: int, bars: int = PLAN_BARS) -> np.ndarray:
    """Expression of the notes from ``at`` to the end of the ``bars``-th bar after it, as the
    stream renders them with its style so far (rendering ahead as needed; the caller rewinds
    to ``at`` before rendering with a new style)."""
    bar = stream.score.notes["bar"]
    if at >= len(bar):
        return stream.expression[:0].copy()
    stop = int(np.searchsorted(bar, bar[at] + bars, side="left"))
    stream.render_to(stop)
    return stream.expression[at:stop].copy()


def previewer(stream: PerformanceStream, style: Style, at: int, count: int) -> Preview:
    """Renders notes ``at`` … ``at + count`` of ``stream`` with ``style`` and given latent
    offsets (for a level to check how far it got; the stream is left rewound there)."""

    def render(offsets: np.ndarray) -> np.ndarray:
        stream.style = style.with_offsets(offsets)
        stream.rewind(at)
        stream.render_to(at + count)
        return stream.expression[at : at + count].copy()

    return render


def look_ahead(
    stream: PerformanceStream, style: Style, offsets: np.ndarray, at: int
) -> tuple[np.ndarray, Preview]:
    """What a level applied at note ``at`` goes by: the next ``PLAN_BARS`` bars as ``stream``
    plays them with ``style`` and the ``offsets`` in force, and a previewer of those bars."""
    stream.style = style.with_offsets(offsets)
    ahead = planned(stream, at)
    return ahead, previewer(stream, style, at, len(ahead))


def offsets_for(
    notes: np.ndarray,
    placed: list[PlacedDirection],
    vectors: SteeringVectors,
    stream: PerformanceStream | None = None,
) -> np.ndarray:
    """Latent offsets of directions applied in score order.

    With a ``stream`` (the score being rendered), the music is rendered up to each level
    ("andante", "mp") and a little beyond first, so that it moves the music from where it is;
    the stream's style then carries the offsets."""
    steering = Steering(notes, vectors)
    for p in sorted(placed, key=lambda d: d.note):
        played = ahead = preview = None
        if p.parsed.control == "undo":
            steering.undo(p.note)
        elif p.parsed.control == "reset":
            steering.reset(p.note)
        if stream is not None and needs_plan(p.parsed):
            stream.style = stream.style.with_offsets(steering.offsets())
            stream.rewind(p.note)
            stream.render_to(p.note)
            played = stream.expression[: p.note].copy()
            ahead, preview = look_ahead(stream, stream.style, steering.offsets(), p.note)
        for request in p.parsed.directions:
            steering.apply(request, p.note, played, ahead, preview)
    if stream is not None:
        stream.style = stream.style.with_offsets(steering.offsets())
    return steering.offsets()
