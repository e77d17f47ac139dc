"""Baseline renderers every learned model must beat.

- ``deadpan``: the score's tempo, constant velocity, notated (legato) durations, no pedal.
- ``mean``: the training set's mean of every expression feature.
- ``linear``: a ridge regression from the score features of each note (fitted by
  ``python -m export.baselines fit``; weights ship in ``models_onnx/baselines.json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from appliance.errors import ApplianceError, reading_model_file
from appliance.render.base import Renderer, Style
from appliance.render.expression import EXPRESSION_DTYPE, FEATURES, marked_log_bp
from appliance.render.features import score_features

DEADPAN_VELOCITY = 64.0


class DeadpanRenderer(Renderer):
    name: ClassVar[str] = "deadpan"

    def expression(
        self, notes: np.ndarray, style: Style, performed: np.ndarray, stop: int
    ) -> np.ndarray:
        rows = notes[len(performed) : stop]
        out = np.zeros(len(rows), dtype=EXPRESSION_DTYPE)
        out["log_bp"] = marked_log_bp(rows)
        out["velocity"] = DEADPAN_VELOCITY
        return out


@dataclass(frozen=True)
class BaselineModel:
    """The fitted numbers behind the ``mean`` and ``linear`` baselines."""

    feature_names: list[str]
    mean: dict[str, float]
    weights: np.ndarray  # (n_features, n_targets)
    bias: np.ndarray  # (n_targets,)
    info: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> BaselineModel:
        with reading_model_file(path, "baseline model", "run `python -m export.baselines fit`"):
            raw = json.loads(path.read_text())
            return cls(
                feature_names=list(raw["feature_names"]),
                mean={k: float(v) for k, v in raw["mean"].items()},
                weights=np.asarray(raw["linear"]["weights"], dtype=np.float64),
                bias=np.asarray(raw["linear"]["bias"], dtype=np.float64),
                info=dict(raw.get("info", {})),
            )

    def save(self, path: Path) -> None:
        raw = {
            "feature_names": self.feature_names,
            "targets": list(FEATURES),
            "mean": self.mean,
            "linear": {"weights": self.weights.tolist(), "bias": self.bias.tolist()},
            "info": self.info,
        }
        path.write_text(json.dumps(raw, indent=1) + "\n")


class MeanRenderer(Renderer):
    name: ClassVar[str] = "mean"

    def __init__(self, model: BaselineModel) -> None:
        self.model = model

    def expression(
        self, notes: np.ndarray, style: Style, performed: np.ndarray, stop: int
    ) -> np.ndarray:
        out = np.zeros(stop - len(performed), dtype=EXPRESSION_DTYPE)
        for name in FEATURES:
            out[name] = self.model.mean[name]
        return out


class LinearRenderer(Renderer):
    name: ClassVar[str] = "linear"

    def __init__(self, model: BaselineModel) -> None:
        self.model = model
        self._notes: np.ndarray | None = None
        self._features = np.zeros((0, 0), np.float32)

    def _score_features(self, notes: np.ndarray) -> np.ndarray:
        """Features of the whole score, computed once per score (the stream asks many times)."""
        if notes is not self._notes:
            x, names = score_features(notes)
            if names != self.model.feature_names:
                raise ApplianceError(
                    "the linear baseline was fitted on other score features: refit it"
                )
            self._notes, self._features = notes, x
        return self._features

    def expression(
        self, notes: np.ndarray, style: Style, performed: np.ndarray, stop: int
    ) -> np.ndarray:
        start = len(performed)
        x = self._score_features(notes)
        y = x[start:stop].astype(np.float64) @ self.model.weights + self.model.bias
        out = np.zeros(stop - start, dtype=EXPRESSION_DTYPE)
        for i, name in enumerate(FEATURES):
            out[name] = y[:, i]
        out["velocity"] = np.clip(out["velocity"], 1, 127)
        out["pedal"] = np.clip(out["pedal"], 0, 1)
        return out
