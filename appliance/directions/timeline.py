"""Directions placed in a score ("softer@bar 8"), for offline rendering and tests."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from appliance.directions.interpret import Interpreter
from appliance.directions.steer import Steering, SteeringVectors
from appliance.directions.words import ParsedDirections
from appliance.errors import ApplianceError
from appliance.render.base import PerformanceStream


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


def offsets_for(
    notes: np.ndarray,
    placed: list[PlacedDirection],
    vectors: SteeringVectors,
    stream: PerformanceStream | None = None,
) -> np.ndarray:
    """Latent offsets of directions applied in score order.

    With a ``stream`` (the score being rendered), the music is rendered up to each direction
    first, so that levels ("andante", "mp") move it from where it is; the stream's style then
    carries the offsets."""
    steering = Steering(notes, vectors)
    for p in sorted(placed, key=lambda d: d.note):
        played = None
        if stream is not None:
            stream.rewind(p.note)
            while stream.rendered < p.note and not stream.done:
                stream.render_next(p.note - stream.rendered)
            played = stream.expression[: p.note]
        if p.parsed.control == "undo":
            steering.undo(p.note)
        elif p.parsed.control == "reset":
            steering.reset(p.note)
        for request in p.parsed.directions:
            steering.apply(request, p.note, played)
        if stream is not None:
            stream.style = stream.style.with_offsets(steering.offsets())
    return steering.offsets()
