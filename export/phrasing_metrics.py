"""Phrasing measured directly on one performance of a score (pure numpy), from its onsets.

Times are onset-group times (the median onset of a group's non-grace notes; for a human, of
its matched notes only); a *beat period* over a span is the time it took over the quarters it
covers.

- **Phrase-end slowing**: for every phrase but the last (phrases as
  :mod:`appliance.render.phrasing` finds them in the score), the beat period from one beat
  before the phrase's last onset to the first onset of the next phrase — the last notes and the
  breath after them — against the median beat period between the phrase's onsets
  (0.2 = 20 % slower). A performance's figure is the median over its phrases.
- **Four-bar end slowing**: the same, with the score cut into four-bar phrases instead (from the
  first full bar; the hypermeter a listener counts in much classical music), so that it can be
  set beside outside checks that measure at every fourth bar.
- **Closing ritardando**: the beat period over the last bar (from the bar before when the last
  bar holds a single onset, a final chord) against the piece's median.
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
    four_bar_end_slowing: float  # the same over four-bar phrases
    closing_ritardando: float
    median_qpm: float
    velocity_range: float


def _group_times(
    index: np.ndarray, n_groups: int, onset: np.ndarray, use: np.ndarray
) -> np.ndarray:
    """Median onset of the used notes of each group (nan where none is used)."""
    times = np.full(n_groups, np.nan)
    rows = np.flatnonzero(use)
    order = rows[np.argsort(index[rows], kind="stable")]
    bounds = np.searchsorted(index[order], np.arange(n_groups + 1))
    for k in range(n_groups):
        a, b = bounds[k], bounds[k + 1]
        if b > a:
            times[k] = float(np.median(onset[order[a:b]]))
    return times


def measure(notes: np.ndarray, performed: np.ndarray, keep: np.ndarray | None = None) -> Phrasing:
    """Phrasing figures of one performance (``performed``: onsets in seconds and velocities of
    ``notes``); ``keep`` marks the notes to use (a human's matched notes); phrases are found
    on the whole score."""
    n = len(notes)
    keep = np.ones(n, dtype=bool) if keep is None else np.asarray(keep, dtype=bool)
    nan = float("nan")
    if n == 0 or not keep.any():
        return Phrasing(nan, nan, nan, nan, nan)
    g, beat, ends = find_phrases(notes)
    n_groups = len(g.onset)
    main = keep & ~notes["is_grace"]
    times = _group_times(g.index, n_groups, performed["onset"].astype(np.float64), main)
    valid = np.flatnonzero(np.isfinite(times))
    velocity = performed["velocity"][keep].astype(np.float64)
    p5, p95 = np.percentile(velocity, [5, 95])
    if len(valid) < 3:
        return Phrasing(nan, nan, nan, nan, float(p95 - p5))
    q, t = g.onset[valid], times[valid]
    steps = np.diff(t) / np.maximum(np.diff(q), 1e-6)  # beat period from each onset to the next
    piece_median = float(np.median(steps))

    def span(a: int, b: int) -> float:  # positions into valid
        return float((t[b] - t[a]) / max(q[b] - q[a], 1e-6))

    def slowing(phrase_ends: np.ndarray) -> float:
        """Median slowing into the end of every phrase but the last."""
        slowings = []
        start = 0  # first group of the current phrase
        for k in np.flatnonzero(phrase_ends)[:-1]:
            inside = np.flatnonzero((valid >= start) & (valid <= k))
            start = k + 1
            if len(inside) < 3 or inside[-1] + 1 >= len(valid):
                continue
            last, after = int(inside[-1]), int(inside[-1]) + 1
            first = int(inside[np.searchsorted(q[inside], q[last] - beat[k] - 1e-6)])
            if first == last:
                first = last - 1 if last - 1 >= inside[0] else first
            if first == last:
                continue
            phrase_median = float(np.median(steps[inside[0] : last]))
            slowings.append(span(first, after) / phrase_median - 1.0)
        return float(np.median(slowings)) if slowings else nan

    closing = nan
    last_bar = int(g.bar.max())
    in_last_bar = np.flatnonzero(g.bar[valid] == last_bar)
    if len(in_last_bar):
        first = int(in_last_bar[0])
        if len(in_last_bar) < 2:  # a final chord alone: from the bar before
            before = np.flatnonzero(g.bar[valid] == last_bar - 1)
            first = int(before[0]) if len(before) else first
        if first < len(valid) - 1:
            closing = span(first, len(valid) - 1) / piece_median - 1.0
    return Phrasing(
        phrase_end_slowing=slowing(ends),
        four_bar_end_slowing=slowing(four_bar_ends(notes, g.bar)),
        closing_ritardando=closing,
        median_qpm=60.0 / piece_median,
        velocity_range=float(p95 - p5),
    )


def metric_bars(notes: np.ndarray) -> dict[int, float]:
    """Per bar index of the table: where the bar starts, counted in whole bars of its metre from
    the first bar — so a bar split in two by a repeat sign counts once, an upbeat as the part
    of a bar it is, and a bar with no onset (a tie or a rest across it) as a whole bar."""
    nominal = 4.0 * notes["ts_num"].astype(np.float64) / np.maximum(notes["ts_den"], 1)
    share = np.clip(notes["bar_length"].astype(np.float64) / np.maximum(nominal, 1e-6), 0.0, 4.0)
    per_bar = {int(b): float(s) for b, s in zip(notes["bar"], share, strict=True)}
    first, last = min(per_bar), max(per_bar)
    starts, position = {}, 0.0
    for bar in range(first, last + 1):
        starts[bar] = position
        position += per_bar.get(bar, 1.0)
    return starts


def four_bar_ends(notes: np.ndarray, group_bar: np.ndarray) -> np.ndarray:
    """Per onset group: whether the next group is in another four-bar phrase (bars counted in
    whole bars of the metre from the first full bar, an upbeat not counted), and the last."""
    n_groups = len(group_bar)
    ends = np.zeros(n_groups, dtype=bool)
    if n_groups == 0:
        return ends
    starts = metric_bars(notes)
    first_bar = min(starts)
    upbeat = starts.get(first_bar + 1, 1.0) - starts[first_bar]
    offset = upbeat if upbeat < 1.0 - 1e-6 else 0.0
    counted = np.floor(np.array([starts[int(b)] for b in group_bar]) - offset + 1e-6)
    block = np.floor_divide(np.maximum(counted, 0), 4)
    ends[:-1] = block[1:] != block[:-1]
    ends[-1] = True
    return ends


def spread(values: list[float]) -> tuple[float, float, float]:
    """(median, 25th, 75th percentile) of the finite values (nans when none)."""
    finite = np.asarray([v for v in values if np.isfinite(v)], dtype=np.float64)
    if len(finite) == 0:
        return float("nan"), float("nan"), float("nan")
    p25, p50, p75 = np.percentile(finite, [25, 50, 75])
    return float(p50), float(p25), float(p75)
