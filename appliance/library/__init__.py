"""The piece library: shipped pieces, pieces added by the user, and finding them by name."""

from appliance.library.catalog import Library, Piece
from appliance.library.corpus import default_piece, music21_corpus
from appliance.library.setup import open_library

__all__ = ["Library", "Piece", "default_piece", "music21_corpus", "open_library"]
