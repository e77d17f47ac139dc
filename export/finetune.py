"""Fine-tune the renderer on what listeners said, and add the result as a new model version.

    python -m export.finetune [--store FILE] [--archive A.zip …] [--parent VERSION] [--use]

The feedback in the box's memory (or in memory archives from several boxes, ``appliance data
export``) becomes training material (:mod:`export.feedback_data`). The decoder of the parent
version (its float32 ``weights.npz``) is trained further with three terms:

- **towards what was liked**: the likelihood of each liked rendering, and of each rendering
  moved the way a "too fast / too loud / …" asked, over the bars the feedback was about;
- **away from what was disliked**: the likelihood of a disliked rendering is pushed down, but
  never more than ``DISLIKE_MARGIN`` below what the parent model gave it (bounded, so a few
  dislikes cannot wreck the model);
- **stay itself elsewhere**: the new model's predictions on every note of the same windows are
  held close to the parent's (distillation), so that what nobody commented on keeps its quality.

The encoder and the latent prior stay the parent's, so styles, seeds and steering vectors keep
their meaning. The result is exported to int8 ONNX like the shipped model and added as a new
version (:mod:`appliance.render.versions`) made from the parent; ``--use`` makes the box play
with it (a running box switches between two notes). On the box it runs at low priority on one
thread (``appliance model finetune``).

**Several boxes, one bigger machine**: give every box's archive (``--archive`` repeated); the
same command runs under ``torchrun --nproc_per_node N -m export.finetune …`` on a machine with
several cores, GPUs or nodes (torch.distributed, gloo on CPUs): every process takes its share
of the feedback, gradients are averaged, and process 0 writes the model (``--model-out
FILE.zip`` for ``appliance model install FILE --sha256 …`` on every box).
"""

from __future__ import annotations

import copy
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import typer

from appliance.console import run_app
from appliance.directions.steer import SteeringVectors
from appliance.errors import ApplianceError
from appliance.library import open_library
from appliance.render.base import Style
from appliance.render.neural import NeuralModel, NeuralRenderer
from appliance.render.registry import steering_file
from appliance.render.versions import ModelVersion, ModelVersions
from appliance.store.store import Store
from export.feedback_data import Item, gather
from export.model import Renderer, gaussian_nll
from export.onnx_export import (
    WEIGHTS_FILE,
    export_fp32,
    load_weights,
    parity,
    quantise,
    save_weights,
)

log = logging.getLogger(__name__)

WINDOW = 256  # notes of context up to the last rated note
DISLIKE_MARGIN = 1.0  # nats per value: how far below the parent a disliked rendering may go
DISLIKE_WEIGHT = 0.3
DISTIL_WEIGHT = 1.0
WHOLE_DECODER_FROM = 200  # pieces of feedback
BIAS_LR = 1e-2  # learning rates: a shift of the outputs, the whole decoder
DECODER_LR = 3e-4


@dataclass(frozen=True)
class FinetuneConfig:
    steps: int = 0  # 0: 60 + 4 per piece of feedback, at most 400
    batch: int = 8
    lr: float = 0.0  # 0: BIAS_LR for a shift, DECODER_LR for the whole decoder
    seed: int = 0
    threads: int = 1

    def steps_for(self, items: int) -> int:
        return self.steps or min(400, 60 + 4 * items)


@dataclass
class Window:
    """One item's training window, as the decoder's inputs."""

    score: np.ndarray  # (t, n_score)
    prev: np.ndarray  # (t, 6)
    z: np.ndarray  # (t, z_total + 3)
    target: np.ndarray  # (t, 5) normalised
    rated: np.ndarray  # (t,) bool
    sign: float


def windows(items: list[Item], model: NeuralModel) -> list[Window]:
    """The decoder's inputs for each item: the ``WINDOW`` notes up to its last rated note."""
    renderer = NeuralRenderer(model)
    features: dict[int, np.ndarray] = {}
    out = []
    for item in items:
        notes = item.notes
        key = id(notes)
        if key not in features:
            features[key] = model.features(notes)
        end = int(np.flatnonzero(item.rated)[-1]) + 1
        start = max(0, end - WINDOW)
        style = Style(seed=item.seed, offsets=item.offsets)  # as it was rendered
        z = renderer.latents(notes, style, features[key])[start:end]
        target = model.scaler.normalise(item.target[start:end], notes[start:end])
        prev = np.zeros((end - start, 6), np.float32)
        if model.past == "hidden":
            prev[:, 5] = 1.0
        else:
            prev[1:, :5] = target[:-1]
            prev[0, 5] = 1.0
        out.append(
            Window(
                features[key][start:end],
                prev,
                z.astype(np.float32),
                target.astype(np.float32),
                item.rated[start:end],
                item.sign,
            )
        )
    return out


def _batch(chosen: list[Window]) -> dict[str, torch.Tensor]:
    t = max(len(w.target) for w in chosen)

    def pad(name: str, width: int) -> torch.Tensor:
        out = np.zeros((len(chosen), t, width), np.float32)
        for i, w in enumerate(chosen):
            value = getattr(w, name)
            out[i, : len(value)] = value
        return torch.from_numpy(out)

    rated = np.zeros((len(chosen), t), bool)
    mask = np.zeros((len(chosen), t), bool)
    for i, w in enumerate(chosen):
        rated[i, : len(w.rated)] = w.rated
        mask[i, : len(w.rated)] = True
    return {
        "score": pad("score", chosen[0].score.shape[1]),
        "prev": pad("prev", 6),
        "z": pad("z", chosen[0].z.shape[1]),
        "target": pad("target", 5),
        "rated": torch.from_numpy(rated),
        "mask": torch.from_numpy(mask),
        "sign": torch.tensor([w.sign for w in chosen]),
    }


def loss_terms(
    model: Renderer, parent: Renderer, batch: dict[str, torch.Tensor]
) -> dict[str, torch.Tensor]:
    """The three terms (module docstring) for one batch."""
    params, _, _ = model.decoder(batch["score"], batch["prev"], batch["z"])
    with torch.no_grad():
        before, _, _ = parent.decoder(batch["score"], batch["prev"], batch["z"])
    liked = batch["rated"] & (batch["sign"] > 0)[:, None]
    disliked = batch["rated"] & (batch["sign"] < 0)[:, None]
    towards = gaussian_nll(params, batch["target"], liked)
    if bool(disliked.any()):
        floor = gaussian_nll(before, batch["target"], disliked) + DISLIKE_MARGIN
        away = -torch.minimum(gaussian_nll(params, batch["target"], disliked), floor)
    else:
        away = torch.zeros(())
    m = (batch["mask"] & ~batch["rated"])[..., None].to(params.dtype)  # what nobody rated
    distil = (((params - before) ** 2) * m).sum() / (m.sum() * params.shape[-1]).clamp(min=1.0)
    return {"towards": towards, "away": away, "distil": distil}


def trainable(model: Renderer, items: int) -> list[torch.nn.Parameter]:
    """What a fine-tune changes: with little feedback (under ``WHOLE_DECODER_FROM`` pieces)
    only the bias of the decoder's output layer — a shift of how the room likes things played
    (a little slower, softer …) that holds for every piece and leaves the shape of each
    performance as it was —; with more, the whole decoder. The encoder never (styles keep
    their meaning)."""
    for p in model.parameters():
        p.requires_grad_(False)
    decoder = model.decoder
    params = list(decoder.parameters()) if items >= WHOLE_DECODER_FROM else [decoder.head.bias]
    for p in params:
        p.requires_grad_(True)
    return params


def train(
    parent: Renderer,
    data: list[Window],
    cfg: FinetuneConfig,
    progress: Any = None,
) -> tuple[Renderer, dict[str, float]]:
    """Fine-tune a copy of ``parent``'s decoder on ``data``; returns it and the last losses."""
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    rank = torch.distributed.get_rank() if distributed else 0
    world = torch.distributed.get_world_size() if distributed else 1
    model = copy.deepcopy(parent)
    model.train()
    params = trainable(model, len(data))
    peak = cfg.lr or (DECODER_LR if len(data) >= WHOLE_DECODER_FROM else BIAS_LR)
    optimiser = torch.optim.AdamW(params, lr=peak, weight_decay=0.0)
    mine = data[rank::world] or data  # every process takes its share
    rng = np.random.default_rng(cfg.seed + rank)
    steps = cfg.steps_for(len(data))
    last: dict[str, float] = {}
    for step in range(steps):
        chosen = [mine[i] for i in rng.integers(0, len(mine), min(cfg.batch, len(mine)))]
        terms = loss_terms(model, parent, _batch(chosen))
        total = terms["towards"] + DISLIKE_WEIGHT * terms["away"] + DISTIL_WEIGHT * terms["distil"]
        optimiser.zero_grad()
        total.backward()
        if distributed:
            for p in params:
                if p.grad is not None:
                    torch.distributed.all_reduce(p.grad)
                    p.grad /= world
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        lr = peak * 0.5 * (1 + np.cos(np.pi * step / max(steps, 1)))
        for group in optimiser.param_groups:
            group["lr"] = lr
        optimiser.step()
        last = {k: float(v.detach()) for k, v in terms.items()}
        if progress is not None and (step % 20 == 0 or step == steps - 1):
            progress(step + 1, steps, last)
    model.eval()
    return model, last


def write_version(
    model: Renderer, parent: ModelVersion, note: str, details: dict[str, Any], into: Path
) -> Path:
    """Export ``model`` as a renderer folder like the parent's (int8 graphs, renderer.json with
    the parent's scaler and latent prior, the float32 weights)."""
    meta = json.loads((parent.folder / "renderer.json").read_text())
    work = into / "fp32"
    fp32 = export_fp32(model, work)
    meta["parity_fp32_max_abs_diff"] = parity(model, fp32)
    folder = into / "model"
    quantise(fp32, folder)
    meta["finetune"] = {"parent": parent.version, "note": note, **details}
    (folder / "renderer.json").write_text(json.dumps(meta, indent=1) + "\n")
    save_weights(model, folder / WEIGHTS_FILE)
    return folder


def _vectors(version: ModelVersion, model: NeuralModel) -> SteeringVectors | None:
    """The steering vectors the box plays the parent with (None when they cannot be read or
    do not fit its latents)."""
    try:
        vectors = SteeringVectors.load(steering_file(version))
    except (ApplianceError, OSError, ValueError, KeyError):
        return None
    return vectors if vectors.size == model.sizes.total else None


def finetune(
    store: Store,
    versions: ModelVersions,
    parent_name: str | None = None,
    cfg: FinetuneConfig | None = None,
    library_folder: Path | None = None,
    progress: Any = None,
) -> tuple[ModelVersion | None, dict[str, Any]]:
    """Fine-tune the parent version (the one playing by default) on the feedback in ``store``
    and add the result as a new version; (the version — None on processes other than 0 —,
    a report)."""
    cfg = cfg or FinetuneConfig()
    torch.manual_seed(cfg.seed)
    torch.set_num_threads(cfg.threads)
    parent = versions.get(parent_name) if parent_name else versions.active()[0]
    versions.verify(parent)
    weights = parent.folder / WEIGHTS_FILE
    if not weights.is_file():
        raise ApplianceError(
            f"model version {parent.version} has no {WEIGHTS_FILE} to fine-tune from"
        )
    onnx_model = NeuralModel(parent.folder)
    started = time.monotonic()
    gathered = gather(
        store,
        open_library(library_folder),
        NeuralRenderer(onnx_model),
        _vectors(parent, onnx_model),
    )
    if not gathered.items:
        why = "; ".join(f"{n}× {k}" for k, n in gathered.left_out.items()) or "none given yet"
        raise ApplianceError(f"there is no feedback to learn from ({why})")
    data = windows(gathered.items, onnx_model)
    base = load_weights(weights, onnx_model.meta["model_config"])
    model, last = train(base, data, cfg, progress)
    counts: dict[str, int] = {}
    for item in gathered.items:
        counts[item.kind] = counts.get(item.kind, 0) + 1
    report: dict[str, Any] = {
        "feedback": counts,
        "left_out": dict(gathered.left_out),
        "steps": cfg.steps_for(len(data)),
        "losses": last,
        "seconds": round(time.monotonic() - started, 1),
    }
    distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
    if distributed and torch.distributed.get_rank() != 0:
        return None, report
    n = len(gathered.items)
    note = f"fine-tuned on {n} piece{'s' * (n != 1)} of feedback"
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_version(model, parent, note, report, Path(tmp))
        version = versions.add(folder, parent.version, note)
    report["seconds"] = round(time.monotonic() - started, 1)
    return version, report


def _open_sources(store_path: Path | None, archives: list[Path], work: Path) -> Store:
    """The box's memory, or a scratch memory that merges the archives given."""
    if not archives:
        return Store.open(store_path)
    merged = Store.open(work / "merged.sqlite3")
    for archive in archives:
        merged.import_archive(archive)
    return merged


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main_cmd(
    store: Path = typer.Option(None, help="the memory to learn from (default: the box's)"),
    archive: list[Path] = typer.Option([], help="memory archives from boxes (repeatable)"),
    parent: str = typer.Option("", help="the version to start from (default: the one playing)"),
    steps: int = typer.Option(0, help="training steps (0: by the amount of feedback)"),
    threads: int = typer.Option(1, help="CPU threads"),
    use: bool = typer.Option(False, "--use", help="play with the new version at once"),
    model_out: Path = typer.Option(None, help="also write the new version as an archive"),
    library: Path = typer.Option(None, help="the library the pieces come from"),
) -> None:
    """Learn from the feedback; add (and optionally use) the new model version."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    if distributed:
        torch.distributed.init_process_group("gloo")
    versions = ModelVersions()
    try:
        with tempfile.TemporaryDirectory() as work:
            memory = _open_sources(store, archive, Path(work))
            try:

                def progress(step: int, total: int, losses: dict[str, float]) -> None:
                    shown = ", ".join(f"{k} {v:.3f}" for k, v in losses.items())
                    print(f"step {step}/{total}: {shown}", flush=True)

                cfg = FinetuneConfig(steps=steps, threads=threads)
                version, report = finetune(memory, versions, parent or None, cfg, library, progress)
            finally:
                memory.close()
    finally:
        if distributed:
            torch.distributed.destroy_process_group()
    if version is None:
        return
    print(json.dumps(report, indent=1))
    print(f"new model version {version.version} ({version.note})")
    if model_out is not None:
        sha = versions.export(version.version, model_out)
        print(f"wrote {model_out}\nsha256 {sha}")
    if use:
        versions.use(version.version)
        print(f"model version {version.version} is chosen")


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()
