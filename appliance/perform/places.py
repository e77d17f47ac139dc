"""Where in a piece a seek goes, and what the box reports as the music moves (pure)."""

from __future__ import annotations

import numpy as np

from appliance.errors import ApplianceError
from appliance.events import Position

PHRASE_BARS = 4  # "the start of the phrase": bars counted in fours from the beginning


def seek_note(notes: np.ndarray, target: str, bar: int, current: int, bars: int = 0) -> int:
    """The first note to play for a seek: the "beginning", "bar" ``bar`` as written, the
    start of this ("phrase") or the previous ("back") phrase from note ``current``, or with
    ``bars`` > 0 the start of the bar that many bars back ("back")."""
    if target == "beginning":
        return 0
    if target == "bar":
        hits = np.flatnonzero(notes["bar_number"] == bar)
        if len(hits) == 0:
            raise ApplianceError(f"this piece has no bar {bar}")
        return int(hits[0])
    now = int(notes["bar"][current])
    if target == "back" and bars > 0:
        return int(np.flatnonzero(notes["bar"] >= max(now - bars, 0))[0])
    start = now - now % PHRASE_BARS
    if target == "back":
        start = max(start - PHRASE_BARS, 0)
    return int(np.flatnonzero(notes["bar"] >= start)[0])


def bar_position(notes: np.ndarray, expression: np.ndarray, note: int, clock: float) -> Position:
    """The report for a bar starting to sound at note ``note`` (rendered): its number as
    written, the play time, the tempo at that note and the bar's mean velocity so far."""
    bar = notes["bar"][note]
    in_bar = notes["bar"][: len(expression)] == bar
    return Position(
        int(notes["bar_number"][note]),
        round(clock, 3),
        round(60.0 / float(np.exp(expression["log_bp"][note])), 1),
        round(float(expression["velocity"][in_bar].mean()), 1),
    )
