"""Pictures of performances: tempo and velocity curves over the score, and a piano roll."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from appliance.render.phrasing import phrase_end_positions
from appliance.score.notes import onset_groups


@dataclass(frozen=True)
class Curve:
    """One performance to draw: its notes, expression and timing."""

    label: str
    notes: np.ndarray
    expression: np.ndarray
    performed: np.ndarray


def _group_curves(item: Curve) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    group, first = onset_groups(item.notes)
    q = item.notes["onset_quarter"][first]
    bpm = 60.0 / np.exp(item.expression["log_bp"][first].astype(np.float64))
    vel = np.bincount(group, weights=item.expression["velocity"]) / np.bincount(group)
    return q, bpm, vel


def plot_performances(
    path: Path, title: str, rendered: Curve, others: Sequence[Curve] = ()
) -> None:
    """Write a PNG: tempo curve, velocity curve (rendered bold, others thin) and piano roll."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(3, 1, figsize=(12, 9), constrained_layout=True)
    for i, item in enumerate(others):
        q, bpm, vel = _group_curves(item)
        kwargs = {"color": "0.6", "lw": 0.8, "alpha": 0.8, "label": "humans" if i == 0 else None}
        axes[0].plot(q, bpm, **kwargs)
        axes[1].plot(q, vel, **kwargs)
    q, bpm, vel = _group_curves(rendered)
    axes[0].plot(q, bpm, color="C3", lw=1.6, label=rendered.label)
    axes[1].plot(q, vel, color="C3", lw=1.6, label=rendered.label)
    ends = phrase_end_positions(rendered.notes)
    for k, at in enumerate(ends):
        axes[0].axvline(at, color="C0", lw=0.6, ls=":", label="phrase ends" if k == 0 else None)
    axes[0].set_ylabel("tempo (quarter notes / min)")
    axes[1].set_ylabel("velocity (mean per onset)")
    for ax in axes[:2]:
        ax.set_xlabel("score position (quarter notes)")
        ax.legend(loc="upper right")
        ax.grid(alpha=0.3)
    axes[0].set_title(title)
    perf = rendered.performed
    ax = axes[2]
    ax.hlines(
        rendered.notes["pitch"],
        perf["onset"],
        perf["onset"] + perf["duration"],
        colors=plt.cm.viridis(perf["velocity"] / 127.0),
        lw=2.5,
    )
    on = perf["pedal"] >= 0.5
    if on.any():
        ax.scatter(
            perf["onset"][on],
            np.full(on.sum(), rendered.notes["pitch"].min() - 3),
            s=2,
            c="k",
            label="pedal",
        )
    ax.set_xlabel("time (s)")
    ax.set_ylabel("pitch")
    ax.set_title(f"piano roll: {rendered.label} (colour = velocity)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
