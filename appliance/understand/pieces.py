"""Which piece a request names: the library's own matcher, with composers said in Russian.

:func:`appliance.library.match.find` scores the words of a request against each piece's
composer, title, catalogue number, key and aliases. The aliases name the pieces in four
languages, but composers are written in Latin letters, so "что-нибудь Шопена" or "Клару Шуман"
would find nothing: their Russian names (any case ending) are added to the query in Latin
letters first.
"""

from __future__ import annotations

from appliance.library.catalog import Library
from appliance.library.match import find, score, words
from appliance.understand.rules import COMPOSERS_RU

MAX_ENDING = 3  # "Шопена", "Моцартом", "Шумана": a name and at most this many more letters


def searchable(query: str) -> str:
    """``query`` with the Latin spelling of any composer named in Cyrillic appended."""
    extra = []
    for word in query.lower().replace("ё", "е").split():
        for stem, latin in COMPOSERS_RU.items():
            if word.startswith(stem) and len(word) - len(stem) <= MAX_ENDING:
                extra.append(latin)
    return " ".join([query, *extra])


def piece_for(query: str, library: Library | None) -> str | None:
    """The library id ``query`` names best, or None (no library, nothing matches, or "")."""
    if library is None or not query.strip():
        return None
    piece = find(list(library.pieces.values()), searchable(query))
    return piece.id if piece is not None else None


def names_a_piece(text: str, library: Library | None, least: float = 2.0) -> str | None:
    """The id of the piece ``text`` on its own names clearly (a composer's name or two words of
    a title: "the Mozart", "Maple Leaf Rag"), else None."""
    if library is None or not text.strip():
        return None
    request = words(searchable(text))
    best = max((score(p, request) for p in library.pieces.values()), default=0.0)
    return piece_for(text, library) if best >= least else None
