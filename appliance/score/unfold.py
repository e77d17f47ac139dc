"""Unfolding repeats on the note table, given the segments of a path through the score.

A segment is a stretch of the written score (in the source part's divisions) that is played
once; a path is the list of segments in playing order. This module only moves rows: it never
needs the score object, so it is fast enough to try thousands of repeat variants.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Segment:
    start_div: int
    end_div: int
    start_quarter: float
    end_quarter: float
    start_beat: float
    end_beat: float
    start_bar: int  # index of the bar holding start_div
    end_bar: int  # one past the index of the bar holding end_div - 1


def occurrence_counts(onset_div: np.ndarray, segments: Sequence[Segment]) -> np.ndarray:
    """How many times each note is played along ``segments``."""
    counts = np.zeros(len(onset_div), dtype=np.int32)
    for seg in segments:
        counts += (onset_div >= seg.start_div) & (onset_div < seg.end_div)
    return counts


def unfold(base: np.ndarray, segments: Sequence[Segment]) -> np.ndarray:
    """Lay the written notes out along ``segments``; ids get "-k" for the k-th time played."""
    pieces = []
    quarter_offset = beat_offset = 0.0
    bar_offset = 0
    for seg in segments:
        inside = (base["onset_div"] >= seg.start_div) & (base["onset_div"] < seg.end_div)
        part = base[inside].copy()
        part["onset_quarter"] += quarter_offset - seg.start_quarter
        part["onset_beat"] += beat_offset - seg.start_beat
        part["bar"] += bar_offset - seg.start_bar
        pieces.append(part)
        quarter_offset += seg.end_quarter - seg.start_quarter
        beat_offset += seg.end_beat - seg.start_beat
        bar_offset += seg.end_bar - seg.start_bar
    if not pieces:
        return base[:0].copy()
    out = np.concatenate(pieces)
    seen: dict[str, int] = {}
    ids = out["id"]
    for i, note_id in enumerate(ids):
        k = seen.get(note_id, 0) + 1
        seen[note_id] = k
        ids[i] = f"{note_id}-{k}"
    return out
