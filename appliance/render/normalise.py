"""Scaling of expression targets for the neural renderer (shared by training and runtime)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from appliance.render.expression import FEATURES, MAX_BEAT_PERIOD, MIN_BEAT_PERIOD, marked_log_bp

# Plausible ranges: values outside (alignment slips, long fermatas) are clipped first.
CLIP: dict[str, tuple[float, float]] = {
    "log_bp": (float(np.log(MIN_BEAT_PERIOD)), float(np.log(MAX_BEAT_PERIOD))),
    "dev": (-1.0, 1.0),
    "log_art": (-4.0, 2.0),
    "velocity": (1.0, 127.0),
    "pedal": (0.0, 1.0),
}


@dataclass(frozen=True)
class Scaler:
    """Affine scaling of the five targets; with ``relative_tempo`` the model sees ``log_bp`` as
    the distance from the score's marked tempo (:func:`marked_log_bp`), so that a neutral
    prediction plays as written instead of at an average tempo."""

    mean: np.ndarray  # (5,)
    std: np.ndarray  # (5,)
    relative_tempo: bool = False

    @classmethod
    def fit(cls, expression: np.ndarray, notes: np.ndarray, relative_tempo: bool = False) -> Scaler:
        x = to_matrix(expression) - reference(notes, relative_tempo)
        return cls(x.mean(axis=0), np.maximum(x.std(axis=0), 1e-3), relative_tempo)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Scaler:
        return cls(
            np.asarray(raw["mean"], np.float32),
            np.asarray(raw["std"], np.float32),
            bool(raw.get("relative_tempo", False)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": [float(v) for v in self.mean],
            "std": [float(v) for v in self.std],
            "relative_tempo": self.relative_tempo,
        }

    def normalise(self, expression: np.ndarray, notes: np.ndarray) -> np.ndarray:
        """EXPRESSION_DTYPE rows of ``notes`` → (n, 5) model values."""
        x = to_matrix(expression) - reference(notes, self.relative_tempo)
        return ((x - self.mean) / self.std).astype(np.float32)

    def denormalise(self, values: np.ndarray, notes: np.ndarray) -> np.ndarray:
        """(n, 5) model values of ``notes`` → EXPRESSION_DTYPE rows, clipped to the plausible
        ranges."""
        from appliance.render.expression import EXPRESSION_DTYPE

        raw = values * self.std + self.mean + reference(notes, self.relative_tempo)
        out = np.zeros(len(values), EXPRESSION_DTYPE)
        for i, name in enumerate(FEATURES):
            lo, hi = CLIP[name]
            out[name] = np.clip(raw[:, i], lo, hi)
        return out

    def bounds(self, notes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per note, the plausible ranges in model values: (lo, hi), each (n, 5)."""
        lo = np.array([CLIP[f][0] for f in FEATURES], np.float32)
        hi = np.array([CLIP[f][1] for f in FEATURES], np.float32)
        ref = reference(notes, self.relative_tempo)
        return (lo - ref - self.mean) / self.std, (hi - ref - self.mean) / self.std


def reference(notes: np.ndarray, relative_tempo: bool) -> np.ndarray:
    """(n, 5) what the model's values are measured from: the marked tempo, or nothing."""
    ref = np.zeros((len(notes), len(FEATURES)), np.float32)
    if relative_tempo:
        ref[:, FEATURES.index("log_bp")] = marked_log_bp(notes)
    return ref


def to_matrix(expression: np.ndarray) -> np.ndarray:
    """EXPRESSION_DTYPE rows → clipped (n, 5) float32 matrix."""
    cols = [np.clip(expression[name].astype(np.float32), *CLIP[name]) for name in FEATURES]
    return np.stack(cols, axis=1) if len(expression) else np.zeros((0, len(FEATURES)), np.float32)
