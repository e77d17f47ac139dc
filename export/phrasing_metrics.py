"""Phrasing measured directly on one performance of a score (pure numpy).

- **Phrase-end slowing**: for every phrase but the last (phrases as
  :mod:`appliance.render.phrasing` finds them in the score), the tempo over its final beat
  against the phrase's median tempo: ``exp(mean ln beat period at the end − median) − 1``
  (0.2 = the end is played 20 % slower). A performance's figure is the median over its phrases.
- **Closing ritardando**: the same over the last bar of the piece against the piece's median.
- **Median tempo**: quarters per minute at the piece's median beat period.
- **Velocity range**: 95th minus 5th percentile of MIDI velocity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from appliance.render.phrasing import find_phrases


@dataclass(frozen=True)
class Phrasing:
    phrase_end_slowing: float  # median over phrases (nan: no phrase to measure)
    closing_ritardando: float
    median_qpm: float
    velocity_range: float


def _slowing(log_bp: np.ndarray, end_rows: np.ndarray, all_rows: np.ndarray) -> float:
    if not end_rows.any() or all_rows.sum() < 2:
        return float("nan")
    return float(np.exp(log_bp[end_rows].mean() - np.median(log_bp[all_rows])) - 1.0)


def measure(notes: np.ndarray, expression: np.ndarray, keep: np.ndarray | None = None) -> Phrasing:
    """Phrasing figures of one performance; ``keep`` marks the notes to use (matched notes of a
    human performance); phrases are found on the whole score."""
    n = len(notes)
    keep = np.ones(n, dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
    if n == 0 or not keep.any():
        nan = float("nan")
        return Phrasing(nan, nan, nan, nan)
    log_bp = expression["log_bp"].astype(np.float64)
    g, beat, ends = find_phrases(notes)
    q = notes["onset_quarter"].astype(np.float64)
    next_onset = np.append(g.onset[1:], g.end[-1])
    end_groups = np.flatnonzero(ends)
    slowings = []
    start_q = float(g.onset[0])
    for k in end_groups[:-1]:
        end_q = float(next_onset[k])
        rows = keep & (q >= start_q) & (q < end_q)
        last = rows & (q >= end_q - beat[k])
        value = _slowing(log_bp, last, rows)
        if np.isfinite(value):
            slowings.append(value)
        start_q = end_q
    last_bar = keep & (notes["bar"] == notes["bar"].max())
    closing = _slowing(log_bp, last_bar, keep)
    velocity = expression["velocity"][keep].astype(np.float64)
    p5, p95 = np.percentile(velocity, [5, 95])
    return Phrasing(
        phrase_end_slowing=float(np.median(slowings)) if slowings else float("nan"),
        closing_ritardando=closing,
        median_qpm=float(60.0 / np.exp(np.median(log_bp[keep]))),
        velocity_range=float(p95 - p5),
    )


def spread(values: list[float]) -> tuple[float, float, float]:
    """(median, 25th, 75th percentile) of the finite values (nans when none)."""
    finite = np.asarray([v for v in values if np.isfinite(v)], dtype=np.float64)
    if len(finite) == 0:
        return float("nan"), float("nan"), float("nan")
    p25, p50, p75 = np.percentile(finite, [25, 50, 75])
    return float(p50), float(p25), float(p75)
