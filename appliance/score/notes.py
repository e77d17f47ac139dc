"""The note table: one row per score note, in playing order, with its performance directions.

This is the renderer's input. Times are in quarter notes (``*_quarter``) and in beats of the
time signature (``*_beat``), on the score's unfolded timeline (repeats as the score is played).
Ties are merged into their first note. Rows are sorted by onset, then pitch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

NOTE_DTYPE = np.dtype(
    [
        ("id", "U32"),  # MusicXML note id, with "-k" for its k-th occurrence when unfolded
        ("pitch", "i2"),  # MIDI pitch
        ("onset_quarter", "f8"),
        ("duration_quarter", "f8"),
        ("onset_beat", "f8"),
        ("duration_beat", "f8"),
        ("onset_div", "i8"),  # onset in the source part's divisions (original timeline)
        ("bar", "i4"),  # 0-based bar index on the unfolded timeline
        ("bar_number", "i4"),  # the bar number as written in the score
        ("bar_position", "f4"),  # quarters from the start of the bar
        ("bar_length", "f4"),  # quarters in the bar
        ("ts_num", "i2"),
        ("ts_den", "i2"),
        ("voice", "i2"),
        ("staff", "i2"),
        ("is_grace", "?"),
        ("is_downbeat", "?"),
        ("score_bpm", "f4"),  # tempo written in the score, quarter notes per minute (0: none)
        ("dynamic", "i1"),  # index into markings.DYNAMICS, -1 before any marking
        ("impulsive", "i1"),  # index into markings.IMPULSIVE (sf, fp on this note)
        ("crescendo", "?"),
        ("diminuendo", "?"),
        ("tempo_word", "i1"),  # index into markings.TEMPO_WORDS, -1 if none
        ("tempo_change", "i1"),  # index into markings.TEMPO_CHANGES
        ("staccato", "?"),
        ("tenuto", "?"),
        ("accent", "?"),
        ("fermata", "?"),
        ("legato", "?"),  # under a slur or a "legato" word
    ]
)


@dataclass(frozen=True)
class Score:
    """A loaded score: its note table and what is known about it."""

    notes: np.ndarray  # NOTE_DTYPE, sorted by (onset_quarter, pitch)
    title: str = ""
    composer: str = ""
    source: Path | None = None
    meta: dict[str, str] = field(default_factory=dict)
    bars: int = 0  # bars on the unfolded timeline (0: count the bars that notes start in)
    remarks: tuple[str, ...] = ()  # what reading changed or left out, one line each

    @property
    def n_bars(self) -> int:
        if self.bars:
            return self.bars
        return int(self.notes["bar"].max()) + 1 if len(self.notes) else 0

    @property
    def length_quarters(self) -> float:
        n = self.notes
        return float((n["onset_quarter"] + n["duration_quarter"]).max()) if len(n) else 0.0


def sort_notes(notes: np.ndarray) -> np.ndarray:
    """Playing order: by onset, grace notes before their main note, then by pitch."""
    order = np.lexsort((notes["pitch"], ~notes["is_grace"], notes["onset_quarter"]))
    return notes[order]


def onset_groups(notes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group notes that start together: (group index per note, first row of each group).

    ``notes`` must be in playing order.
    """
    onsets = notes["onset_quarter"]
    if len(onsets) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    new = np.empty(len(onsets), dtype=bool)
    new[0] = True
    new[1:] = np.abs(np.diff(onsets)) > 1e-6
    group = np.cumsum(new) - 1
    return group, np.flatnonzero(new)


def merge_unisons(notes: np.ndarray) -> np.ndarray:
    """One row per key strike: notes of the same pitch starting at the same time (a unison
    written in two voices or parts) become one note, as a piano plays them with one key.

    The longest copy is kept (a held note outlasts a short one); the articulation flags of
    all copies are combined. Grace notes merge only with grace notes. Row order is kept.
    """
    if len(notes) < 2:
        return notes
    key_order = np.lexsort(
        (-notes["duration_quarter"], notes["is_grace"], notes["pitch"], notes["onset_div"])
    )
    k = notes[key_order]
    same = (
        (k["onset_div"][1:] == k["onset_div"][:-1])
        & (k["pitch"][1:] == k["pitch"][:-1])
        & (k["is_grace"][1:] == k["is_grace"][:-1])
    )
    if not same.any():
        return notes
    head = np.cumsum(np.concatenate([[True], ~same])) - 1  # unison group per sorted row
    first = np.flatnonzero(np.concatenate([[True], ~same]))
    kept = k[first].copy()
    for flag in ("staccato", "tenuto", "accent", "fermata", "legato"):
        combined = np.zeros(len(first), dtype=bool)
        np.logical_or.at(combined, head, k[flag])
        kept[flag] = combined
    impulsive = np.zeros(len(first), dtype=np.int8)
    np.maximum.at(impulsive, head, k["impulsive"])
    kept["impulsive"] = impulsive
    return kept[np.argsort(key_order[first], kind="stable")]
