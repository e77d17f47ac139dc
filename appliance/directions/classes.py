"""The direction classes the renderer can be steered by, in five groups."""

from __future__ import annotations

from enum import Enum

GROUPS: dict[str, tuple[str, ...]] = {
    "dynamics": ("pp", "p", "mp", "mf", "f", "ff"),
    "dynamic_change": ("crescendo", "diminuendo"),
    "tempo": ("largo", "adagio", "andante", "moderato", "allegro", "presto"),
    "tempo_change": ("accelerando", "ritardando", "a_tempo"),
    "articulation": ("legato", "staccato", "tenuto", "accent", "fermata"),
}
CLASSES: tuple[str, ...] = tuple(c for group in GROUPS.values() for c in group)
GROUP_OF: dict[str, str] = {c: g for g, members in GROUPS.items() for c in members}


class Scope(Enum):
    """How long a direction lasts."""

    HERE = "here"  # the next phrase (bar), then fade back
    FROM_NOW = "from_now"  # from the next note on, for the rest of the piece
    UNTIL_TOLD = "until_told"  # from now on, until countermanded or "back to normal"
