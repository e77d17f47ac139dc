"""Scaling of expression targets for the neural renderer (shared by training and runtime)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from appliance.render.expression import FEATURES, MAX_BEAT_PERIOD, MIN_BEAT_PERIOD

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
    mean: np.ndarray  # (5,)
    std: np.ndarray  # (5,)

    @classmethod
    def fit(cls, expression: np.ndarray) -> Scaler:
        x = to_matrix(expression)
        return cls(x.mean(axis=0), np.maximum(x.std(axis=0), 1e-3))

    @classmethod
    def from_dict(cls, raw: dict[str, list[float]]) -> Scaler:
        return cls(np.asarray(raw["mean"], np.float32), np.asarray(raw["std"], np.float32))

    def to_dict(self) -> dict[str, list[float]]:
        return {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]}

    def normalise(self, expression: np.ndarray) -> np.ndarray:
        return ((to_matrix(expression) - self.mean) / self.std).astype(np.float32)

    def denormalise(self, values: np.ndarray) -> np.ndarray:
        """(n, 5) normalised values → EXPRESSION_DTYPE rows, clipped to the plausible ranges."""
        from appliance.render.expression import EXPRESSION_DTYPE

        raw = values * self.std + self.mean
        out = np.zeros(len(values), EXPRESSION_DTYPE)
        for i, name in enumerate(FEATURES):
            lo, hi = CLIP[name]
            out[name] = np.clip(raw[:, i], lo, hi)
        return out


def to_matrix(expression: np.ndarray) -> np.ndarray:
    """EXPRESSION_DTYPE rows → clipped (n, 5) float32 matrix."""
    cols = [np.clip(expression[name].astype(np.float32), *CLIP[name]) for name in FEATURES]
    return np.stack(cols, axis=1) if len(expression) else np.zeros((0, len(FEATURES)), np.float32)
