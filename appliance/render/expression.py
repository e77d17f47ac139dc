"""Per-note expression ↔ performed timing: the renderer's targets and how they become sound.

Five numbers describe how a score note is played:

- ``log_bp``: local tempo, the natural log of the beat period in seconds per quarter note,
  fitted over the onsets within ±``TEMPO_WINDOW`` quarters (a smooth tempo curve);
- ``dev``: onset deviation in seconds from the local tempo grid. The grid time of an onset
  group is the previous group's time plus the previous beat period times the score distance;
  a group's time is the median onset of its (non-grace) notes;
- ``log_art``: articulation, log of performed duration over notated duration at the local tempo
  (0 = exactly as written, < 0 = detached, > 0 = held over);
- ``velocity``: MIDI velocity; ``pedal``: sustain-pedal depth (0–1) when the note starts.

:func:`expression_from_performance` and :func:`realise` are exact inverses (up to a shift in
time), so human performances turn into targets and rendered targets into a performance by
the same rules. Both are pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from appliance.score import markings
from appliance.score.notes import onset_groups

EXPRESSION_DTYPE = np.dtype(
    [("log_bp", "f4"), ("dev", "f4"), ("log_art", "f4"), ("velocity", "f4"), ("pedal", "f4")]
)
PERFORMED_DTYPE = np.dtype(
    [("onset", "f8"), ("duration", "f8"), ("velocity", "i2"), ("pedal", "f4")]
)
FEATURES: tuple[str, ...] = EXPRESSION_DTYPE.names or ()

TEMPO_WINDOW = 1.5  # quarters either side of an onset for the local tempo fit
MIN_BEAT_PERIOD, MAX_BEAT_PERIOD = 0.08, 4.0  # seconds per quarter (750 … 15 qpm)
MIN_NOTATED_QUARTERS = 0.125  # grace notes and very short notes count as this long
MIN_DURATION = 0.02  # seconds


def marked_log_bp(notes: np.ndarray) -> np.ndarray:
    """Per note, ``log_bp`` of the score's own tempo (metronome mark or tempo word, else a
    default): what a deadpan rendition plays and what a relative tempo is measured against."""
    bpm = np.where(notes["score_bpm"] > 0, notes["score_bpm"], markings.DEFAULT_QUARTER_BPM)
    return np.log(60.0 / bpm).astype(np.float32)


@dataclass(frozen=True)
class TimingState:
    """Where the previous onset group stood: what the next group's grid time builds on."""

    onset_quarter: float
    time: float
    beat_period: float


def group_times(notes: np.ndarray, onsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per onset group: (score onset in quarters, performed time = median non-grace onset)."""
    group, first = onset_groups(notes)
    n_groups = len(first)
    times = np.empty(n_groups)
    main = ~notes["is_grace"]
    for g in range(n_groups):
        rows = group == g
        sel = rows & main
        times[g] = np.median(onsets[sel if sel.any() else rows])
    return notes["onset_quarter"][first].astype(np.float64), times


def local_beat_period(q: np.ndarray, t: np.ndarray, window: float = TEMPO_WINDOW) -> np.ndarray:
    """Slope of performed time over score time near each onset (seconds per quarter)."""
    n = len(q)
    if n < 2:
        return np.full(n, 0.5)
    lo = np.searchsorted(q, q - window, side="left")
    hi = np.searchsorted(q, q + window, side="right")
    idx = np.arange(n)
    lo = np.clip(np.minimum(lo, idx - 1), 0, None)
    hi = np.clip(np.maximum(hi, idx + 2), None, n)
    qc, tc = q - q.mean(), t - t.mean()

    def window_sum(x: np.ndarray) -> np.ndarray:
        c = np.concatenate([[0.0], np.cumsum(x)])
        return c[hi] - c[lo]

    count = (hi - lo).astype(np.float64)
    sq, st = window_sum(qc), window_sum(tc)
    sqq, sqt = window_sum(qc * qc), window_sum(qc * tc)
    var = count * sqq - sq * sq
    cov = count * sqt - sq * st
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(var > 1e-9, cov / np.where(var > 1e-9, var, 1.0), np.nan)
    fallback = np.nanmedian(slope) if np.isfinite(slope).any() else 0.5
    slope = np.where(np.isfinite(slope), slope, fallback)
    return np.clip(slope, MIN_BEAT_PERIOD, MAX_BEAT_PERIOD)


def notated_quarters(notes: np.ndarray) -> np.ndarray:
    return np.maximum(notes["duration_quarter"], MIN_NOTATED_QUARTERS)


def expression_from_performance(
    notes: np.ndarray,
    onset: np.ndarray,
    duration: np.ndarray,
    velocity: np.ndarray,
    pedal: np.ndarray,
) -> np.ndarray:
    """Targets for every score note from its performed onset, duration, velocity and pedal."""
    group, _ = onset_groups(notes)
    q, times = group_times(notes, onset)
    bp = local_beat_period(q, times)
    grid = np.empty_like(times)
    grid[0] = times[0]
    grid[1:] = times[:-1] + bp[:-1] * np.diff(q)
    out = np.zeros(len(notes), dtype=EXPRESSION_DTYPE)
    out["log_bp"] = np.log(bp[group])
    out["dev"] = onset - grid[group]
    ratio = np.maximum(duration, MIN_DURATION) / (notated_quarters(notes) * bp[group])
    out["log_art"] = np.log(ratio)
    out["velocity"] = velocity
    out["pedal"] = pedal
    return out


def state_after(group: np.ndarray, expression: np.ndarray, onsets: np.ndarray) -> TimingState:
    """The timing state after one performed onset group (its notes, expression and onsets)."""
    main = ~group["is_grace"]
    ref = float(np.median(onsets[main] if main.any() else onsets))
    bp = float(np.exp(expression["log_bp"].astype(np.float64)).mean())
    return TimingState(
        float(group["onset_quarter"][0]), ref, float(np.clip(bp, MIN_BEAT_PERIOD, MAX_BEAT_PERIOD))
    )


def realise(
    notes: np.ndarray, expression: np.ndarray, state: TimingState | None = None
) -> tuple[np.ndarray, TimingState]:
    """Performed onsets (s), durations, velocities and pedal for whole onset groups of notes.

    ``notes`` must start at an onset group and hold whole groups; ``state`` is where the
    previous group stood (None at the start of the piece, which starts at time 0).
    """
    out = np.zeros(len(notes), dtype=PERFORMED_DTYPE)
    if len(notes) == 0:
        return out, state or TimingState(0.0, 0.0, 0.5)
    _, first = onset_groups(notes)
    bounds = np.append(first, len(notes))
    prev = state
    bp_note = np.exp(expression["log_bp"].astype(np.float64))
    for g in range(len(first)):
        a, b = bounds[g], bounds[g + 1]
        q = float(notes["onset_quarter"][a])
        grid = 0.0 if prev is None else prev.time + prev.beat_period * (q - prev.onset_quarter)
        out["onset"][a:b] = grid + expression["dev"][a:b].astype(np.float64)
        prev = state_after(notes[a:b], expression[a:b], out["onset"][a:b])
    duration = np.exp(expression["log_art"].astype(np.float64)) * notated_quarters(notes) * bp_note
    out["duration"] = np.maximum(duration, MIN_DURATION)
    out["velocity"] = np.clip(np.rint(expression["velocity"]), 1, 127)
    out["pedal"] = np.clip(expression["pedal"], 0.0, 1.0)
    assert prev is not None
    return out, prev
