"""Scores the box can play out of the box (until the piece library lands: one default piece)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from appliance.errors import ApplianceError

# J. S. Bach, Prelude in C major BWV 846, from music21's corpus (public-domain work; the corpus
# is installed with music21 from PyPI).
DEFAULT_PIECE = ("bach", "bwv846.mxl")


def music21_corpus() -> Path:
    spec = importlib.util.find_spec("music21")
    if spec is None or spec.origin is None:
        raise ApplianceError("music21 is not installed: its corpus holds the default piece")
    return Path(spec.origin).parent / "corpus"


def default_piece() -> Path:
    path = music21_corpus().joinpath(*DEFAULT_PIECE)
    if not path.exists():
        raise ApplianceError(f"the default piece is missing from music21's corpus ({path})")
    return path
