"""The prior that generation samples style latents from, conditioned on the score.

A β-VAE's encoder puts the piece's overall tempo and loudness into the latents, so sampling
them from a standard normal would give every piece the same kind of tempo whatever its score
says. Instead, a ridge regression from each note's score features (and their mean over its bar)
predicts the latents the encoder gives human performances; generation samples around that
prediction with the spread of the residuals (a diagonal Gaussian). Bar and beat latents use the
prediction averaged over their bar or beat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


def segment_mean(values: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Mean of ``values`` rows over notes sharing an id, broadcast back to the notes."""
    ids = ids - ids.min()
    counts = np.maximum(np.bincount(ids), 1)[:, None]
    sums = np.zeros((int(ids.max()) + 1, values.shape[1]))
    np.add.at(sums, ids, values)
    return np.asarray((sums / counts)[ids])


def segment_ids(notes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Beat and bar index per note, from 0."""
    beat = np.floor(notes["onset_beat"] - notes["onset_beat"].min() + 1e-6).astype(np.int64)
    bar = (notes["bar"] - notes["bar"].min()).astype(np.int64)
    return beat, bar


def prior_inputs(notes: np.ndarray, features: np.ndarray) -> np.ndarray:
    """[note features, bar-mean features, 1] per note."""
    _, bar = segment_ids(notes)
    bias = np.ones((len(notes), 1))
    return np.concatenate([features, segment_mean(features, bar), bias], axis=1)


@dataclass(frozen=True)
class LatentPrior:
    weights: np.ndarray  # (2 * n_features + 1, n_latents)
    std: np.ndarray  # (n_latents,)
    sizes: tuple[int, int, int]  # bar, beat, note latent sizes

    @classmethod
    def fit(
        cls,
        inputs: list[np.ndarray],
        latents: list[np.ndarray],
        sizes: tuple[int, int, int],
        ridge: float = 10.0,
    ) -> LatentPrior:
        x = np.concatenate(inputs).astype(np.float64)
        z = np.concatenate(latents).astype(np.float64)
        penalty = ridge * np.eye(x.shape[1])
        penalty[-1, -1] = 0.0
        weights = np.linalg.solve(x.T @ x + penalty, x.T @ z)
        std = np.maximum((z - x @ weights).std(axis=0), 1e-3)
        return cls(weights, std, sizes)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> LatentPrior:
        sizes = tuple(int(v) for v in raw["sizes"])
        return cls(
            np.asarray(raw["weights"]), np.asarray(raw["std"]), (sizes[0], sizes[1], sizes[2])
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "weights": self.weights.tolist(),
            "std": self.std.tolist(),
            "sizes": list(self.sizes),
        }

    def mean(self, notes: np.ndarray, features: np.ndarray) -> np.ndarray:
        """Predicted latents per note (bar and beat parts constant within a bar / beat)."""
        mu = prior_inputs(notes, features) @ self.weights
        beat, bar = segment_ids(notes)
        b, t, _ = self.sizes
        mu[:, :b] = segment_mean(mu[:, :b], bar)
        mu[:, b : b + t] = segment_mean(mu[:, b : b + t], beat)
        return np.asarray(mu, np.float32)
