"""Which piece to play next: the one a request names, or a random other one (pure but for the
random draw)."""

from __future__ import annotations

import random

from appliance.errors import ApplianceError
from appliance.library.catalog import Library, Piece
from appliance.library.match import find


def choose_piece(
    library: Library, query: str = "", playing: str | None = None, opening: bool = False
) -> Piece:
    """The piece ``query`` names (an id or words); for "" a random piece other than
    ``playing`` (``opening``: one of the pieces marked to open a session, when there are any).
    An :class:`ApplianceError` says why there is none."""
    library.refresh()
    pieces = list(library.pieces.values())
    if not pieces:
        raise ApplianceError("the library is empty: add pieces with `appliance library add`")
    if query.strip():
        piece = find(pieces, query)
        if piece is None:
            raise ApplianceError(f"no piece in the library matches {query!r}")
        return piece
    if opening:
        pieces = [p for p in pieces if p.opener] or pieces
    others = [p for p in pieces if p.id != playing]
    return random.choice(others or pieces)
