"""The key of a piece, estimated from its notes (Krumhansl–Kessler profiles; pure numpy)."""

from __future__ import annotations

import numpy as np

NAMES = ("C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B")
_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def estimate_key(notes: np.ndarray) -> str:
    """ "E♭ major", "A minor", … from the duration-weighted pitch classes ("" without notes)."""
    if len(notes) == 0:
        return ""
    weights = np.maximum(notes["duration_quarter"].astype(np.float64), 0.0625)
    hist = np.bincount(notes["pitch"] % 12, weights=weights, minlength=12)
    if not hist.any():
        return ""
    best, name = -2.0, ""
    for tonic in range(12):
        for profile, mode in ((_MAJOR, "major"), (_MINOR, "minor")):
            r = float(np.corrcoef(hist, np.roll(profile, tonic))[0, 1])
            if r > best:
                best, name = r, f"{NAMES[tonic]} {mode}"
    return name
