"""Train the transformer-VAE renderer on the processed dataset, with checkpoints and resume.

    python -m export.train [--config export/configs/renderer.toml] [--run DIR] [--fresh]

A run folder (default ``~/.cache/appliance/train/<config name>``) holds ``checkpoint.pt`` (written
every ``checkpoint_every`` steps; a run started again resumes from it) and ``train.log``.
"""

from __future__ import annotations

import json
import logging
import math
import time
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
import typer

from appliance.console import run_app
from appliance.errors import ApplianceError
from appliance.paths import REPO_ROOT, cache_dir
from appliance.render.features import PITCH_SCALE, score_features
from appliance.render.latent_prior import segment_ids
from appliance.render.normalise import Scaler
from export.dataset import Record, iter_records
from export.model import ModelConfig, Renderer, gaussian_nll, kl_divergence

DEFAULT_CONFIG = REPO_ROOT / "export" / "configs" / "renderer.toml"
log = logging.getLogger("export.train")


@dataclass
class TrainConfig:
    window: int = 256
    batch: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.01
    warmup_steps: int = 300
    steps: int = 9000
    max_minutes: float = 85.0
    beta: float = 0.2
    beta_warmup: int = 2000
    checkpoint_every: int = 250
    validate_every: int = 500
    log_every: int = 50
    seed: int = 1
    threads: int = 2
    prev_drop: float = 0.25  # share of windows whose past performance is hidden
    prev_noise: float = 0.15  # noise on the (normalised) past performance otherwise
    self_feed: float = 0.0  # share of windows that see the decoder's own past predictions
    relative_tempo: bool = False  # model log_bp relative to the score's marked tempo
    transpose: int = 0  # shift each training window by up to this many semitones


def load_config(path: Path) -> tuple[dict[str, Any], TrainConfig]:
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ApplianceError(f"cannot read the training config {path}: {exc}") from None
    known = {f.name for f in fields(TrainConfig)}
    unknown = set(raw.get("train", {})) - known
    if unknown:
        raise ApplianceError(f"{path}: unknown [train] keys {sorted(unknown)}")
    return dict(raw.get("model", {})), TrainConfig(**raw.get("train", {}))


class NoteData:
    """All notes of a split, concatenated, with what a training window needs."""

    def __init__(
        self, records: list[Record], scaler: Scaler | None = None, relative_tempo: bool = False
    ) -> None:
        if not records:
            raise ApplianceError("no performances to train on: run `make dataset`")
        feats, targets, matched, beats, bars, starts = [], [], [], [], [], [0]
        for r in records:
            x, self.feature_names = score_features(r.notes)
            beat, bar = segment_ids(r.notes)
            feats.append(x)
            targets.append(r.expression)
            matched.append(r.matched)
            beats.append(beat)
            bars.append(bar)
            starts.append(starts[-1] + len(r.notes))
        expression = np.concatenate(targets)
        notes = np.concatenate([r.notes for r in records])
        self.matched = np.concatenate(matched)
        self.scaler = scaler or Scaler.fit(
            expression[self.matched], notes[self.matched], relative_tempo
        )
        self.score = np.concatenate(feats)
        self.perf = self.scaler.normalise(expression, notes)
        self.beat = np.concatenate(beats)
        self.bar = np.concatenate(bars)
        self.starts = np.asarray(starts)
        self.pitch_column = self.feature_names.index("pitch")

    @property
    def n_notes(self) -> int:
        return int(self.starts[-1])

    def windows(
        self, rng: np.random.Generator, count: int, length: int
    ) -> list[tuple[int, int, int]]:
        """(record start, window start, window end) of random windows, longer records likelier."""
        lengths = np.diff(self.starts)
        recs = rng.choice(len(lengths), size=count, p=lengths / lengths.sum())
        out = []
        for r in recs:
            a, n = int(self.starts[r]), int(lengths[r])
            s = int(rng.integers(0, max(n - length, 0) + 1))
            out.append((a, a + s, a + min(s + length, n)))
        return out

    def batch(
        self,
        windows: list[tuple[int, int, int]],
        rng: np.random.Generator | None = None,
        prev_drop: float = 0.0,
        prev_noise: float = 0.0,
        self_feed: float = 0.0,
        transpose: int = 0,
    ) -> dict[str, torch.Tensor]:
        """Tensors for some windows. With ``rng`` (training), a window's past performance is
        hidden with probability ``prev_drop`` (the decoder must then take tempo and dynamics
        from the latents and the score), replaced by the decoder's own predictions with
        probability ``self_feed`` (flagged here, done in the model), and otherwise blurred by
        Gaussian noise; each window is transposed by up to ``transpose`` semitones."""
        b, t = len(windows), max(e - s for _, s, e in windows)
        score = np.zeros((b, t, self.score.shape[1]), np.float32)
        perf = np.zeros((b, t, 5), np.float32)
        prev = np.zeros((b, t, 6), np.float32)
        beat = np.zeros((b, t), np.int64)
        bar = np.zeros((b, t), np.int64)
        mask = np.zeros((b, t), bool)
        loss_mask = np.zeros((b, t), bool)
        fed = np.zeros(b, bool)
        for i, (rec, s, e) in enumerate(windows):
            n = e - s
            score[i, :n] = self.score[s:e]
            if rng is not None and transpose > 0:
                shift = int(rng.integers(-transpose, transpose + 1))
                score[i, :n, self.pitch_column] += shift / PITCH_SCALE
            perf[i, :n] = self.perf[s:e]
            if s > rec:
                prev[i, 0, :5] = self.perf[s - 1]
            else:
                prev[i, 0, 5] = 1.0  # start of the piece
            prev[i, 1:n, :5] = self.perf[s : e - 1]
            u = rng.random() if rng is not None else 1.0
            if u < prev_drop:
                prev[i, :n] = 0.0
                prev[i, :n, 5] = 1.0  # nothing known, as at the start of a piece
            elif u < prev_drop + self_feed:
                fed[i] = True
            elif rng is not None and prev_noise > 0:
                prev[i, :n, :5] += rng.normal(0.0, prev_noise, (n, 5)).astype(np.float32)
            beat[i, :n] = self.beat[s:e] - self.beat[s]
            bar[i, :n] = self.bar[s:e] - self.bar[s]
            mask[i, :n] = True
            loss_mask[i, :n] = self.matched[s:e]
        as_t = torch.from_numpy
        return {
            "score": as_t(score),
            "perf": as_t(perf),
            "prev": as_t(prev),
            "beat_id": as_t(beat),
            "bar_id": as_t(bar),
            "mask": as_t(mask),
            "loss_mask": as_t(loss_mask),
            "self_feed": as_t(fed),
        }


def losses(model: Renderer, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    params, mu, logvar = model(
        batch["score"],
        batch["perf"],
        batch["prev"],
        batch["beat_id"],
        batch["bar_id"],
        batch["mask"],
        batch["self_feed"],
    )
    nll = gaussian_nll(params, batch["perf"], batch["loss_mask"])
    kl = kl_divergence(mu, logvar, batch["mask"], batch["beat_id"], batch["bar_id"], model.cfg)
    return nll, kl


def lr_at(step: int, cfg: TrainConfig, minutes: float = 0.0) -> float:
    """Warm-up, then a cosine down to 5 % over whichever budget runs out first: the steps or
    the minutes (so that a run stopped by the clock still ends with a low learning rate)."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    by_steps = (step - cfg.warmup_steps) / max(cfg.steps - cfg.warmup_steps, 1)
    by_time = minutes / cfg.max_minutes if cfg.max_minutes > 0 else 0.0
    progress = min(max(by_steps, by_time), 1.0)
    return cfg.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def validate(model: Renderer, data: NoteData, cfg: TrainConfig) -> dict[str, float]:
    model.eval()
    rng = np.random.default_rng(1234)
    windows = data.windows(rng, 64, cfg.window)
    nlls, kls = [], []
    for i in range(0, len(windows), cfg.batch):
        nll, kl = losses(model, data.batch(windows[i : i + cfg.batch]))
        nlls.append(float(nll))
        kls.append(float(kl))
    model.train()
    return {"val_nll": float(np.mean(nlls)), "val_kl": float(np.mean(kls))}


def train(
    config: Path,
    run: Path | None = None,
    fresh: bool = False,
    folder: Path | None = None,
    splits: tuple[str | None, str | None] = ("train", "validation"),
) -> Path:
    """Train (or resume) a run; return the run folder holding ``checkpoint.pt``.

    ``folder`` and ``splits`` pick the data (the tests train on a few performances of any split).
    """
    model_raw, cfg = load_config(config)
    run = run or cache_dir() / "train" / config.stem
    run.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(run / "train.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    ckpt_path = run / "checkpoint.pt"

    train_data = NoteData(
        list(iter_records(splits[0], folder=folder)), relative_tempo=cfg.relative_tempo
    )
    val_records = list(iter_records(splits[1], folder=folder))
    val_data = NoteData(val_records, train_data.scaler) if val_records else train_data
    mcfg = ModelConfig(n_score=train_data.score.shape[1], **model_raw)
    model = Renderer(mcfg)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    step, history, trained = 0, [], 0.0  # trained: seconds of training before this run
    if ckpt_path.exists() and not fresh:
        state = torch.load(ckpt_path, weights_only=False)
        if state["model_config"] != mcfg.to_dict():
            raise ApplianceError(f"{ckpt_path} was trained with another model config: use --fresh")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        step, history = state["step"], state["history"]
        trained = float(state.get("trained_seconds", 0.0))
        log.info("resumed at step %d after %.1f minutes", step, trained / 60)
    n_params = sum(p.numel() for p in model.parameters())
    log.info(
        "notes: train %d, validation %d; parameters %d",
        train_data.n_notes,
        val_data.n_notes,
        n_params,
    )

    def save() -> None:
        state = {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "step": step,
            "history": history,
            "model_config": mcfg.to_dict(),
            "train_config": cfg.__dict__,
            "scaler": train_data.scaler.to_dict(),
            "feature_names": train_data.feature_names,
            "parameters": n_params,
            "trained_seconds": trained + time.monotonic() - started,
        }
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save(state, tmp)
        tmp.replace(ckpt_path)

    rng = np.random.default_rng(cfg.seed + step)
    started, notes_seen, t_log = time.monotonic(), 0, time.monotonic()
    model.train()

    def minutes() -> float:
        return (trained + time.monotonic() - started) / 60

    while step < cfg.steps and minutes() < cfg.max_minutes:
        for group in opt.param_groups:
            group["lr"] = lr_at(step, cfg, minutes())
        windows = train_data.windows(rng, cfg.batch, cfg.window)
        batch = train_data.batch(
            windows, rng, cfg.prev_drop, cfg.prev_noise, cfg.self_feed, cfg.transpose
        )
        nll, kl = losses(model, batch)
        beta = cfg.beta * min(1.0, step / max(cfg.beta_warmup, 1))
        loss = nll + beta * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        notes_seen += int(batch["mask"].sum())
        if step % cfg.log_every == 0:
            rate = notes_seen / (time.monotonic() - t_log)
            log.info(
                "step %d loss %.4f nll %.4f kl %.4f beta %.3f notes/s %.0f",
                step,
                loss.item(),
                nll.item(),
                kl.item(),
                beta,
                rate,
            )
            notes_seen, t_log = 0, time.monotonic()
        if step % cfg.validate_every == 0 or step == cfg.steps:
            metrics = {"step": step, **validate(model, val_data, cfg)}
            history.append(metrics)
            log.info("validation %s", json.dumps(metrics))
        if step % cfg.checkpoint_every == 0:
            save()
    save()
    log.info("stopped at step %d", step)
    log.removeHandler(handler)
    return run


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main_cmd(
    config: Path = typer.Option(DEFAULT_CONFIG, help="training config (TOML)"),
    run: Path = typer.Option(None, help="run folder (checkpoint and log)"),
    fresh: bool = typer.Option(False, help="start again instead of resuming"),
) -> None:
    """Train or resume the renderer; progress goes to the run's train.log."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    folder = train(config, run, fresh)
    print(f"checkpoint: {folder / 'checkpoint.pt'}")


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()
