"""Scores: loading MusicXML and MIDI into the note table, with performance directions."""

from appliance.score.load import load_score, open_score
from appliance.score.notes import NOTE_DTYPE, Score, onset_groups, sort_notes

__all__ = ["NOTE_DTYPE", "Score", "load_score", "onset_groups", "open_score", "sort_notes"]
