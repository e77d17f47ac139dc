"""Directions as short strings, the way events carry them: ``"p +1.00 from_now"`` (class,
strength, scope), or a control on its own (``"undo"``, ``"reset"``) — pure."""

from __future__ import annotations

import math

from appliance.directions.classes import Scope
from appliance.directions.words import MAX_STRENGTH, DirectionRequest, ParsedDirections

CONTROLS = ("undo", "reset")


def encode(request: DirectionRequest) -> str:
    return f"{request.cls} {request.strength:+.2f} {request.scope.value}"


def decode(items: tuple[str, ...] | list[str], language: str = "") -> ParsedDirections:
    """The directions ``items`` encode; ``ValueError`` with the reason for one that is not."""
    if len(items) == 1 and items[0] in CONTROLS:
        return ParsedDirections(control=items[0], language=language)
    requests = []
    for item in items:
        fields = item.split()
        if len(fields) != 3:
            raise ValueError(f"not a direction: {item!r}")
        cls, strength_text, scope_text = fields
        try:
            strength = float(strength_text)
            scope = Scope(scope_text)
        except ValueError:
            raise ValueError(f"not a direction: {item!r}") from None
        if not math.isfinite(strength):
            raise ValueError(f"not a direction: {item!r}")
        strength = max(-MAX_STRENGTH, min(MAX_STRENGTH, strength))
        requests.append(DirectionRequest(cls, strength, scope))  # an unknown class: ValueError
    return ParsedDirections(tuple(requests), language=language)
