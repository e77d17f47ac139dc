"""Agreement between two performances of the same score notes: MAE and Pearson r per feature."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

# Feature reported → (expression column, unit in reports).
FEATURES: dict[str, tuple[str, str]] = {
    "velocity": ("velocity", "MIDI velocity"),
    "beat_period": ("log_bp", "ln(s per quarter)"),
    "timing": ("dev", "s"),
    "articulation": ("log_art", "ln(duration ratio)"),
    "pedal": ("pedal", "0–1"),
}


def mae(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) == 0:
        return float("nan")
    return float(np.mean(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation; 0 when either side is constant (no curve to follow) or too short."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if len(a) < 3:
        return 0.0
    da, db = a - a.mean(), b - b.mean()
    denom = np.sqrt((da * da).sum() * (db * db).sum())
    if denom < 1e-12:
        return 0.0
    return float((da * db).sum() / denom)


def shared_notes(ids_a: np.ndarray, ids_b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (into a, into b) of the notes both tables hold, matched by id."""
    position = {str(i): k for k, i in enumerate(ids_b)}
    ia, ib = [], []
    for k, note_id in enumerate(ids_a):
        j = position.get(str(note_id))
        if j is not None:
            ia.append(k)
            ib.append(j)
    return np.asarray(ia, dtype=np.int64), np.asarray(ib, dtype=np.int64)


def compare(a: np.ndarray, b: np.ndarray) -> dict[str, dict[str, float]]:
    """Per feature {"mae": …, "r": …} between two expression arrays of the same notes."""
    out = {}
    for feature, (column, _unit) in FEATURES.items():
        out[feature] = {"mae": mae(a[column], b[column]), "r": pearson(a[column], b[column])}
    return out


def average(results: Sequence[Mapping[str, Mapping[str, float]]]) -> dict[str, dict[str, float]]:
    """Mean of per-feature metrics over several comparisons (NaNs ignored)."""
    out: dict[str, dict[str, float]] = {}
    for feature in FEATURES:
        out[feature] = {}
        for metric in ("mae", "r"):
            values = [r[feature][metric] for r in results if feature in r]
            finite = [v for v in values if np.isfinite(v)]
            out[feature][metric] = float(np.mean(finite)) if finite else float("nan")
    return out
