"""Score ↔ performance note alignments: reading, repairing, and picking the repeat path.

Pure functions over small arrays; the dataset builder does the file I/O.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from appliance.render.expression import MIN_DURATION, local_beat_period, notated_quarters
from appliance.score.notes import onset_groups
from appliance.score.unfold import Segment, occurrence_counts


@dataclass(frozen=True)
class Alignment:
    """Matched (score id, performance id) pairs, unplayed score ids, and extra played notes."""

    matches: list[tuple[str, str]]
    deletions: list[str]
    insertions: list[str]

    @classmethod
    def from_records(cls, records: Iterable[dict[str, str]]) -> Alignment:
        """From partitura's alignment dicts (label, score_id, performance_id)."""
        matches, deletions, insertions = [], [], []
        for r in records:
            label = r.get("label")
            if label == "match":
                matches.append((str(r["score_id"]), str(r["performance_id"])))
            elif label == "deletion":
                deletions.append(str(r["score_id"]))
            elif label == "insertion":
                insertions.append(str(r["performance_id"]))
        return cls(matches, deletions, insertions)

    @classmethod
    def from_asap_tsv(cls, path: Path) -> Alignment:
        """ASAP's note_alignment.tsv (xml_id, midi_id, …)."""
        records = []
        with path.open(newline="") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                xml_id, midi_id = row.get("xml_id", ""), row.get("midi_id", "")
                if xml_id == "insertion":
                    records.append({"label": "insertion", "performance_id": midi_id})
                elif midi_id == "deletion":
                    records.append({"label": "deletion", "score_id": xml_id})
                elif xml_id and midi_id:
                    records.append(
                        {"label": "match", "score_id": xml_id, "performance_id": midi_id}
                    )
        return cls.from_records(records)

    @property
    def score_ids(self) -> list[str]:
        return [s for s, _ in self.matches] + self.deletions


def split_occurrence(score_id: str) -> tuple[str, int]:
    """ "n12-2" → ("n12", 2); an id without "-k" is its first occurrence."""
    base, sep, k = score_id.rpartition("-")
    if sep and k.isdigit():
        return base, int(k)
    return score_id, 1


def map_tied(alignment: Alignment, tie_head: dict[str, str]) -> Alignment:
    """Point ids of tie continuations at the tie's first note; drop doubles."""

    def head(score_id: str) -> str:
        base, k = split_occurrence(score_id)
        return f"{tie_head.get(base, base)}-{k}"

    matches: list[tuple[str, str]] = []
    seen: set[str] = set()
    # Real heads first, so that a matched head wins over its matched continuation.
    for s, p in sorted(alignment.matches, key=lambda m: split_occurrence(m[0])[0] in tie_head):
        h = head(s)
        if h not in seen:
            seen.add(h)
            matches.append((h, p))
    deletions = []
    for s in alignment.deletions:
        h = head(s)
        if h not in seen:
            seen.add(h)
            deletions.append(h)
    return Alignment(matches, deletions, alignment.insertions)


def choose_path(
    written_ids: np.ndarray,
    written_onset_div: np.ndarray,
    candidates: Sequence[list[Segment]],
    aligned_ids: Iterable[str],
) -> tuple[int, float]:
    """The candidate path whose note occurrences best cover the aligned score ids.

    Returns (index of the best candidate, fraction of aligned ids it covers). Ties go to the
    shorter path. Scoring counts occurrences per written note: no score is built.
    """
    position = {str(i): k for k, i in enumerate(written_ids)}
    needed = np.zeros(len(written_ids), dtype=np.int64)
    total = 0
    for score_id in aligned_ids:
        base, k = split_occurrence(score_id)
        total += 1
        idx = position.get(base)
        if idx is not None:
            needed[idx] = max(needed[idx], k)
    best, best_key = 0, (-1.0, 0.0)
    for c, segments in enumerate(candidates):
        counts = occurrence_counts(written_onset_div, segments)
        covered = float(np.minimum(counts, needed).sum())
        key = (covered, -float(counts.sum()))
        if key > best_key:
            best, best_key = c, key
    return best, best_key[0] / max(total, 1)


def fill_missing(
    notes: np.ndarray,
    onset: np.ndarray,
    duration: np.ndarray,
    velocity: np.ndarray,
    matched: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Give unplayed score notes an onset, duration and velocity from their neighbours.

    Onsets follow the local tempo (performed onset-group times interpolated over score time),
    velocities and articulation (duration per notated quarter) are interpolated over score time.
    """
    onset, duration, velocity = onset.copy(), duration.copy(), velocity.astype(np.float64)
    missing = ~matched
    if not missing.any() or not matched.any():
        return onset, duration, velocity
    group, _ = onset_groups(notes)
    q = notes["onset_quarter"].astype(np.float64)
    n_groups = int(group.max()) + 1
    sums = np.bincount(group[matched], weights=onset[matched], minlength=n_groups)
    counts = np.bincount(group[matched], minlength=n_groups)
    played = counts > 0
    group_q = np.zeros(n_groups)
    group_q[group] = q
    group_t = np.divide(sums, counts, out=np.zeros(n_groups), where=played)
    pq, pt = group_q[played], group_t[played]
    if len(pq) >= 2:
        bp = local_beat_period(pq, pt)
        t_missing = np.interp(group_q, pq, pt)
        # Extrapolate with the edge tempo before the first and after the last played onset.
        before, after = group_q < pq[0], group_q > pq[-1]
        t_missing[before] = pt[0] - bp[0] * (pq[0] - group_q[before])
        t_missing[after] = pt[-1] + bp[-1] * (group_q[after] - pq[-1])
    else:
        t_missing = np.full(n_groups, pt[0] if len(pt) else 0.0)
    onset[missing] = t_missing[group[missing]]
    mq = q[matched]
    order = np.argsort(mq, kind="stable")
    velocity[missing] = np.interp(q[missing], mq[order], velocity[matched][order])
    per_quarter = duration[matched] / notated_quarters(notes[matched])
    duration[missing] = np.maximum(
        np.interp(q[missing], mq[order], per_quarter[order]) * notated_quarters(notes[missing]),
        MIN_DURATION,
    )
    return onset, duration, velocity


def pedal_at(times: np.ndarray, control_times: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Sustain-pedal depth (0–1) in force at each time, from CC64 events sorted by time."""
    if len(control_times) == 0:
        return np.zeros(len(times), dtype=np.float32)
    idx = np.searchsorted(control_times, times, side="right") - 1
    out = np.where(idx >= 0, values[np.clip(idx, 0, None)], 0.0) / 127.0
    return out.astype(np.float32)
