"""Fit the ``mean`` and ``linear`` baselines on the training split.

The linear baseline is a ridge regression from each note's score features
(:func:`appliance.render.features.score_features`) to its five expression targets, fitted on
matched notes only. Both baselines are written to ``models_onnx/baselines.json``.

    python -m export.baselines fit [--ridge 1.0]
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.progress import track

from appliance.console import run_app
from appliance.errors import ApplianceError
from appliance.paths import models_dir
from appliance.render.baselines import BaselineModel
from appliance.render.expression import FEATURES
from appliance.render.features import score_features
from appliance.render.registry import BASELINES_FILE
from export.dataset import DATASET_VERSION, iter_records, load_manifest

console = Console()


def fit(ridge: float = 1.0, folder: Path | None = None, split: str = "train") -> BaselineModel:
    names_in_split = [
        n for n, e in load_manifest(folder)["performances"].items() if e.get("split") == split
    ]
    if not names_in_split:
        raise ApplianceError("no training performances: run `make dataset`")
    xtx: np.ndarray | None = None
    xty: np.ndarray | None = None
    sums = np.zeros(len(FEATURES))
    count = 0
    feature_names: list[str] = []
    for record in track(
        iter_records(split, folder=folder), total=len(names_in_split), description="fitting"
    ):
        x, feature_names = score_features(record.notes)
        keep = record.matched
        x = np.concatenate([x[keep], np.ones((int(keep.sum()), 1), np.float32)], axis=1).astype(
            np.float64
        )
        y = np.stack([record.expression[f][keep] for f in FEATURES], axis=1).astype(np.float64)
        xtx = x.T @ x if xtx is None else xtx + x.T @ x
        xty = x.T @ y if xty is None else xty + x.T @ y
        sums += y.sum(axis=0)
        count += len(y)
    assert xtx is not None and xty is not None
    penalty = ridge * np.eye(len(xtx))
    penalty[-1, -1] = 0.0  # no shrinkage of the intercept
    solution = np.linalg.solve(xtx + penalty, xty)
    info = {
        "dataset": DATASET_VERSION,
        "train_performances": len(names_in_split),
        "train_notes": count,
        "ridge": ridge,
        "fitted": dt.date.today().isoformat(),
    }
    return BaselineModel(
        feature_names=feature_names,
        mean={f: float(s / count) for f, s in zip(FEATURES, sums, strict=True)},
        weights=solution[:-1],
        bias=solution[-1],
        info=info,
    )


app = typer.Typer(add_completion=False, help=__doc__)


@app.command("fit")
def fit_cmd(ridge: float = typer.Option(1.0, help="L2 penalty of the linear baseline")) -> None:
    """Fit both baselines and write models_onnx/baselines.json."""
    model = fit(ridge)
    target = models_dir() / BASELINES_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    model.save(target)
    console.print(f"wrote {target} ({model.info['train_notes']} training notes)")


@app.command("show")
def show_cmd() -> None:
    """Print the fitted means."""
    model = BaselineModel.load(models_dir() / BASELINES_FILE)
    console.print(model.mean, model.info)


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()
