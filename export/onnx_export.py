"""Export a trained renderer to ONNX, check it against PyTorch, quantise it to int8.

Three graphs:

- ``encoder``: score features, performance, beat and bar ids → latent mean and log-variance
  per note (used to take the style of a human performance);
- ``decoder_context``: a causal pass over notes → distribution parameters, keys and values;
- ``decoder_step``: new notes after cached keys/values → their parameters, keys and values.

    python -m export.onnx_export [--checkpoint PATH] [--out models_onnx/renderer]
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
import typer
from torch import nn

from appliance.console import run_app
from appliance.errors import ApplianceError
from appliance.paths import cache_dir, models_dir
from appliance.render.latent_prior import LatentPrior, prior_inputs
from appliance.render.neural import NeuralModel
from export.dataset import iter_records
from export.model import ModelConfig, Renderer

GRAPHS = ("encoder", "decoder_context", "decoder_step")
WEIGHTS_FILE = "weights.npz"  # float32 weights beside the graphs, for fine-tuning
OPSET = 17


class _Encoder(nn.Module):
    def __init__(self, model: Renderer) -> None:
        super().__init__()
        self.encoder = model.encoder

    def forward(
        self, score: torch.Tensor, perf: torch.Tensor, beat_id: torch.Tensor, bar_id: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        mask = torch.ones_like(beat_id, dtype=torch.bool)
        out: tuple[torch.Tensor, torch.Tensor] = self.encoder(score, perf, beat_id, bar_id, mask)
        return out


class _Context(nn.Module):
    def __init__(self, model: Renderer) -> None:
        super().__init__()
        self.decoder = model.decoder

    def forward(
        self, score: torch.Tensor, prev: torch.Tensor, z: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out: tuple[torch.Tensor, torch.Tensor, torch.Tensor] = self.decoder(score, prev, z)
        return out


class _Step(nn.Module):
    def __init__(self, model: Renderer) -> None:
        super().__init__()
        self.decoder = model.decoder

    def forward(
        self,
        score: torch.Tensor,
        prev: torch.Tensor,
        z: torch.Tensor,
        past_k: torch.Tensor,
        past_v: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out: tuple[torch.Tensor, torch.Tensor, torch.Tensor] = self.decoder.step(
            score, prev, z, past_k, past_v
        )
        return out


def load_checkpoint(path: Path) -> tuple[Renderer, dict[str, Any]]:
    if not path.exists():
        raise ApplianceError(f"no checkpoint at {path}: train first (`make model`)")
    state = torch.load(path, weights_only=False, map_location="cpu")
    model = Renderer(ModelConfig(**state["model_config"]))
    model.load_state_dict(state["model"])
    model.eval()
    return model, state


def example_inputs(
    model: Renderer, n: int = 24, past: int = 16, seed: int = 0
) -> dict[str, tuple[torch.Tensor, ...]]:
    """Fixed inputs for export and the parity checks."""
    cfg = model.cfg
    g = torch.Generator().manual_seed(seed)
    score = torch.randn(1, n, cfg.n_score, generator=g)
    perf = torch.randn(1, n, 5, generator=g)
    prev = torch.randn(1, n, 6, generator=g)
    beat = (torch.arange(n) // 3)[None]
    bar = (torch.arange(n) // 10)[None]
    z = torch.randn(1, n, cfg.z_total + 3, generator=g)
    dh = cfg.d_model // cfg.n_heads
    pk = torch.randn(cfg.dec_layers, 1, cfg.n_heads, past, dh, generator=g)
    pv = torch.randn(cfg.dec_layers, 1, cfg.n_heads, past, dh, generator=g)
    return {
        "encoder": (score, perf, beat, bar),
        "decoder_context": (score, prev, z),
        "decoder_step": (score[:, :1], prev[:, :1], z[:, :1], pk, pv),
    }


_NAMES = {
    "encoder": (["score", "perf", "beat_id", "bar_id"], ["mu", "logvar"]),
    "decoder_context": (["score", "prev", "z"], ["params", "keys", "values"]),
    "decoder_step": (
        ["score", "prev", "z", "past_keys", "past_values"],
        ["params", "keys", "values"],
    ),
}
_DYNAMIC = {
    "encoder": {
        "score": {1: "n"},
        "perf": {1: "n"},
        "beat_id": {1: "n"},
        "bar_id": {1: "n"},
        "mu": {1: "n"},
        "logvar": {1: "n"},
    },
    "decoder_context": {
        "score": {1: "n"},
        "prev": {1: "n"},
        "z": {1: "n"},
        "params": {1: "n"},
        "keys": {3: "n"},
        "values": {3: "n"},
    },
    "decoder_step": {
        "score": {1: "n"},
        "prev": {1: "n"},
        "z": {1: "n"},
        "past_keys": {3: "past"},
        "past_values": {3: "past"},
        "params": {1: "n"},
        "keys": {3: "n"},
        "values": {3: "n"},
    },
}


def _module(model: Renderer, graph: str) -> nn.Module:
    wrapper: nn.Module = {"encoder": _Encoder, "decoder_context": _Context, "decoder_step": _Step}[
        graph
    ](model)
    return wrapper.eval()  # the exporter restores the wrapper's mode on all children afterwards


def export_fp32(model: Renderer, out: Path) -> dict[str, Path]:
    out.mkdir(parents=True, exist_ok=True)
    inputs = example_inputs(model)
    paths = {}
    for graph in GRAPHS:
        path = out / f"{graph}.fp32.onnx"
        names_in, names_out = _NAMES[graph]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                _module(model, graph),
                inputs[graph],
                str(path),
                input_names=names_in,
                output_names=names_out,
                dynamic_axes=_DYNAMIC[graph],
                opset_version=OPSET,
                dynamo=False,
            )
        paths[graph] = path
    return paths


def parity(model: Renderer, paths: dict[str, Path], seed: int = 1) -> dict[str, float]:
    """Max abs difference between PyTorch and each ONNX graph on fixed inputs (other sizes than
    the export's, to check the dynamic axes)."""
    import onnxruntime as ort

    inputs = example_inputs(model, n=37, past=50, seed=seed)
    out = {}
    for graph, path in paths.items():
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        names_in, _ = _NAMES[graph]
        feed = {k: v.numpy() for k, v in zip(names_in, inputs[graph], strict=True)}
        got = sess.run(None, feed)
        with torch.no_grad():
            want = _module(model, graph)(*inputs[graph])
        out[graph] = max(float(np.abs(g - w.numpy()).max()) for g, w in zip(got, want, strict=True))
    return out


def quantise(paths: dict[str, Path], out: Path) -> dict[str, Path]:
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    out.mkdir(parents=True, exist_ok=True)
    result = {}
    for graph, path in paths.items():
        pre = path.with_suffix(".pre.onnx")
        target = out / f"{graph}.int8.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quant_pre_process(str(path), str(pre), skip_symbolic_shape=True)
            quantize_dynamic(str(pre), str(target), weight_type=QuantType.QInt8)
        pre.unlink()
        result[graph] = target
    return result


def export(
    checkpoint: Path,
    out: Path,
    work: Path | None = None,
    folder: Path | None = None,
    prior_split: str | None = "train",
    runtime: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Export, check parity, quantise; write the int8 graphs and ``renderer.json`` into ``out``.

    ``folder``/``prior_split`` pick the performances the latent prior is fitted on; ``runtime``
    holds the generation settings the runtime reads (``past``, ``spread``: see
    :class:`appliance.render.neural.NeuralModel`)."""
    model, state = load_checkpoint(checkpoint)
    work = work or checkpoint.parent / "onnx"
    fp32 = export_fp32(model, work)
    diffs = parity(model, fp32)
    out.mkdir(parents=True, exist_ok=True)
    quantise(fp32, out)
    meta = {
        "model_config": state["model_config"],
        "scaler": state["scaler"],
        "feature_names": state["feature_names"],
        "parameters": state["parameters"],
        "trained_steps": state["step"],
        "train_config": state["train_config"],
        "parity_fp32_max_abs_diff": diffs,
        "graphs": {g: f"{g}.int8.onnx" for g in GRAPHS},
        "runtime": runtime or {},
    }
    (out / "renderer.json").write_text(json.dumps(meta, indent=1) + "\n")
    save_weights(model, out / WEIGHTS_FILE)
    meta["latent_prior"] = latent_prior(NeuralModel(out), folder, prior_split)
    (out / "renderer.json").write_text(json.dumps(meta, indent=1) + "\n")
    # The fp32 graphs stay beside the checkpoint with their own renderer.json, for comparison.
    fp32_meta = dict(meta, graphs={g: p.name for g, p in fp32.items()})
    (work / "renderer.json").write_text(json.dumps(fp32_meta, indent=1) + "\n")
    return meta


def save_weights(model: Renderer, path: Path) -> None:
    """The model's float32 weights as plain arrays (no optimiser state, no pickle), beside
    the int8 graphs: what a fine-tune on the box starts from (:mod:`export.finetune`)."""
    arrays = {name: t.detach().cpu().numpy() for name, t in model.state_dict().items()}
    with path.open("wb") as f:
        np.savez(f, **arrays)


def load_weights(path: Path, model_config: dict[str, Any]) -> Renderer:
    """A model rebuilt from :func:`save_weights`' file and its configuration."""
    model = Renderer(ModelConfig(**model_config))
    try:
        with np.load(path, allow_pickle=False) as data:
            state = {name: torch.from_numpy(data[name].copy()) for name in data.files}
        model.load_state_dict(state)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ApplianceError(f"{path}: not the weights of this model ({exc})") from None
    model.eval()
    return model


def latent_prior(
    model: NeuralModel, folder: Path | None = None, split: str | None = "train", count: int = 150
) -> dict[str, Any]:
    """The score-conditioned prior (:mod:`appliance.render.latent_prior`) fitted on the latents
    the encoder gives a sample of the training performances."""
    records = list(iter_records(split, folder=folder))
    if not records:
        raise ApplianceError("no performances to fit the latent prior on: run `make dataset`")
    step = max(len(records) // count, 1)
    inputs, latents = [], []
    for r in records[::step]:
        inputs.append(prior_inputs(r.notes, model.features(r.notes)))
        latents.append(model.encode(r.notes, r.expression))
    s = model.sizes
    return LatentPrior.fit(inputs, latents, (s.bar, s.beat, s.note)).to_dict()


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main_cmd(
    checkpoint: Path = typer.Option(cache_dir() / "train" / "renderer" / "checkpoint.pt"),
    out: Path = typer.Option(models_dir() / "renderer"),
    past: str = typer.Option(
        "own", help="generation feeds the decoder its own past ('own') or none ('hidden')"
    ),
    spread: float = typer.Option(1.0, help="default spread of sampled styles (0: most likely)"),
    tempo_anchor: float = typer.Option(
        0.0, help="draw the piece's tempo this far back to the marked tempo (0–1)"
    ),
) -> None:
    """Export the checkpoint to int8 ONNX in models_onnx/renderer/."""
    if past not in ("own", "hidden"):
        raise ApplianceError(f"--past must be 'own' or 'hidden', not {past!r}")
    if not 0.0 <= tempo_anchor <= 1.0:
        raise ApplianceError(f"--tempo-anchor must be between 0 and 1, not {tempo_anchor}")
    runtime = {"past": past, "spread": spread, "tempo_anchor": tempo_anchor}
    meta = export(checkpoint, out, runtime=runtime)
    print(json.dumps(meta["parity_fp32_max_abs_diff"], indent=1))
    print(f"wrote {out}")


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()
