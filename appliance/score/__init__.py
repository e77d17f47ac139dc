"""Scores: loading MusicXML and MIDI into the note table, with performance directions.

:func:`load_score` reads a file from outside in a child process with memory and time limits
(:mod:`appliance.score.sandbox`); :func:`load_trusted_score` reads one checked before, here.
"""

from appliance.score.load import load_trusted_score, open_score
from appliance.score.notes import NOTE_DTYPE, Score, onset_groups, sort_notes
from appliance.score.sandbox import load_score

__all__ = [
    "NOTE_DTYPE",
    "Score",
    "load_score",
    "load_trusted_score",
    "onset_groups",
    "open_score",
    "sort_notes",
]
