"""Feedback from listeners (👍 👎 too fast/slow/loud/soft …): acted on at once.

"Too loud" makes the music a little softer from the next note on (a gentle, lasting direction);
like and dislike change nothing now. The box's memory (:mod:`appliance.perform.memory`) keeps
every piece of feedback with the performance, bar and second it was about, and learns the
listener's taste from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.directions.classes import Scope
from appliance.directions.gentle import ASPECT_OF_KIND, BY_ASPECT

_DIRECTIONS: dict[str, tuple[tuple[str, float], ...]] = {
    kind: (BY_ASPECT[aspect],) for kind, aspect in ASPECT_OF_KIND.items()
}


def feedback_directions(kind: str) -> tuple[tuple[str, float, Scope], ...]:
    """(class, strength, scope) of the gentle direction feedback ``kind`` asks for, if any."""
    return tuple((cls, strength, Scope.FROM_NOW) for cls, strength in _DIRECTIONS.get(kind, ()))


@dataclass(frozen=True)
class Where:
    """What a listener was hearing."""

    piece_id: str = ""
    bar: int = 0
    seed: int = 0
