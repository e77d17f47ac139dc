"""The neural renderer end to end on a tiny model: train, export, quantise, stream."""

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from appliance.render.base import PerformanceStream, Style, render_all
from appliance.render.latent_prior import segment_ids
from appliance.render.neural import NeuralModel, NeuralRenderer
from appliance.score.notes import Score
from export.onnx_export import load_checkpoint
from export.train import train
from tests.conftest import TINY


def test_training_logs_checkpoints_and_resumes(tiny_run: Path, small_dataset: Path):
    state = torch.load(tiny_run / "checkpoint.pt", weights_only=False)
    assert state["step"] == 60
    history = state["history"]
    assert [h["step"] for h in history] == [30, 60]
    assert np.isfinite(history[-1]["val_nll"])
    log = (tiny_run / "train.log").read_text()
    assert "step 60" in log
    # Asking for more steps resumes from the checkpoint instead of starting again.
    config = tiny_run / "more.toml"
    config.write_text(TINY.read_text().replace("steps = 60", "steps = 70"))
    train(config, tiny_run, folder=small_dataset, splits=(None, None))
    assert torch.load(tiny_run / "checkpoint.pt", weights_only=False)["step"] == 70
    assert "resumed at step 60" in (tiny_run / "train.log").read_text()


def test_export_matches_pytorch(tiny_model):
    _out, meta = tiny_model
    for graph, diff in meta["parity_fp32_max_abs_diff"].items():
        assert diff <= 1e-4, graph


def test_cached_stepping_equals_the_full_causal_pass(tiny_run: Path):
    model, _ = load_checkpoint(tiny_run / "checkpoint.pt")
    cfg = model.cfg
    g = torch.Generator().manual_seed(0)
    score = torch.randn(1, 20, cfg.n_score, generator=g)
    prev = torch.randn(1, 20, 6, generator=g)
    z = torch.randn(1, 20, cfg.z_total + 3, generator=g)
    with torch.no_grad():
        full, _, _ = model.decoder(score, prev, z)
        p, k, v = model.decoder(score[:, :5], prev[:, :5], z[:, :5])
        outs = [p]
        for i in range(5, 20):
            p, kn, vn = model.decoder.step(
                score[:, i : i + 1], prev[:, i : i + 1], z[:, i : i + 1], k, v
            )
            k, v = torch.cat([k, kn], 3), torch.cat([v, vn], 3)
            outs.append(p)
    assert torch.allclose(torch.cat(outs, 1), full, atol=1e-5)


def test_int8_renderer_streams_deterministically(tiny_model, piece):
    folder, _ = tiny_model
    renderer = NeuralRenderer(NeuralModel(folder))
    score = Score(piece.notes[:300])
    style = Style(seed=5, temperature=0.0)
    whole = render_all(renderer, score, style, chunk=1000)
    chunked = render_all(NeuralRenderer(NeuralModel(folder)), score, style, chunk=7)
    assert np.allclose(whole.performed["onset"], chunked.performed["onset"], atol=1e-3)
    assert np.all(np.isfinite(whole.performed["onset"])) and np.all(
        np.diff(whole.performed["onset"]) > -5
    )
    other = render_all(renderer, score, Style(seed=6, temperature=0.0))
    assert not np.allclose(other.expression["velocity"], whole.expression["velocity"])
    sampled = render_all(renderer, score, Style(seed=5, temperature=1.0))
    assert not np.allclose(sampled.expression["velocity"], whole.expression["velocity"])


def test_style_change_rerenders_only_notes_not_yet_played(tiny_model, piece):
    folder, _ = tiny_model
    renderer = NeuralRenderer(NeuralModel(folder), context=32)
    stream = PerformanceStream(renderer, Score(piece.notes[:200]), Style(seed=1, temperature=0.3))
    for _ in range(5):
        stream.render_next(16)
    before = stream.performance()
    kept = stream.rewind(40)
    stream.style = Style(seed=1, temperature=0.3, vector=tuple([1.5] * renderer.model.sizes.total))
    while not stream.done:
        stream.render_next(16)
    after = stream.performance()
    assert np.array_equal(after.performed[:kept], before.performed[:kept])
    assert not np.allclose(
        after.expression["velocity"][kept:80], before.expression["velocity"][kept:80]
    )


def test_style_from_a_human_performance(tiny_model, piece):
    folder, _ = tiny_model
    model = NeuralModel(folder)
    notes = piece.notes[:120]
    latents = model.encode(notes, piece.expression[:120])
    assert latents.shape == (120, model.sizes.total)
    perf = render_all(NeuralRenderer(model), Score(notes), Style(latents=latents, temperature=0.0))
    assert np.all(np.isfinite(perf.expression["log_bp"]))


def test_harness_scores_both_neural_modes(tiny_model, small_dataset):
    from export.evaluate import pieces, score_reconstruction, score_renderer

    folder, _ = tiny_model
    model = NeuralModel(folder)
    by_piece = {k: v[:2] for k, v in pieces(None, small_dataset).items() if len(v) > 1}
    generation = score_renderer(NeuralRenderer(model), by_piece, temperature=0.0)["overall"]
    reconstruction = score_reconstruction(model, by_piece, temperature=0.0)["overall"]
    for result in (generation, reconstruction):
        assert all(np.isfinite(result[f]["mae"]) for f in result)


def test_bar_windows_cover_the_piece_in_whole_bars():
    from appliance.render.neural import bar_windows

    bar = np.repeat(np.arange(10), [3, 5, 2, 8, 1, 4, 4, 6, 2, 3])
    windows = bar_windows(bar, 10)
    assert windows[0][0] == 0 and windows[-1][1] == len(bar)
    assert all(b - a <= 10 for a, b in windows)
    assert all(a == b for (_, a), (b, _) in itertools.pairwise(windows))
    assert all(bar[a] != bar[a - 1] for a, _ in windows[1:])  # cuts fall on bar lines
    assert bar_windows(np.zeros(25, int), 10) == [(0, 10), (10, 20), (20, 25)]


def test_generation_samples_from_the_latent_prior_of_human_performances(tiny_model, piece):
    folder, meta = tiny_model
    model = NeuralModel(folder)
    prior = meta["latent_prior"]
    assert len(prior["std"]) == model.sizes.total and all(s > 0 for s in prior["std"])
    assert model.prior is not None
    mean = model.prior.mean(piece.notes, model.features(piece.notes))
    z = model.prior_latents(piece.notes, seed=3)
    note = slice(model.sizes.total - model.sizes.note, None)
    spread = (z - mean)[:, note].std(axis=0)
    assert np.allclose(spread, np.asarray(prior["std"])[note], rtol=0.25)
    _, bar = segment_ids(piece.notes)
    first_bar = bar == bar[0]
    assert np.allclose(mean[first_bar, : model.sizes.bar], mean[0, : model.sizes.bar])


def test_damaged_model_files_are_clear_errors(tiny_model, tmp_path):
    import shutil

    from appliance.errors import ApplianceError

    folder, _ = tiny_model
    broken = tmp_path / "renderer"
    shutil.copytree(folder, broken)
    (broken / "decoder_step.int8.onnx").write_bytes(b"not a model")
    with pytest.raises(ApplianceError, match="cannot be loaded"):
        NeuralModel(broken)
    (broken / "renderer.json").write_text("{ truncated")
    with pytest.raises(ApplianceError, match="not a valid"):
        NeuralModel(broken)
    with pytest.raises(ApplianceError, match="missing"):
        NeuralModel(tmp_path / "nowhere")


def _hidden_copy(folder: Path, tmp_path: Path) -> Path:
    import json
    import shutil

    out = tmp_path / "hidden"
    shutil.copytree(folder, out)
    meta = json.loads((out / "renderer.json").read_text())
    meta["runtime"] = {"past": "hidden", "spread": 0.5}
    (out / "renderer.json").write_text(json.dumps(meta))
    return out


def test_hidden_past_renders_in_block_passes_whatever_the_chunks(tiny_model, piece, tmp_path):
    folder = _hidden_copy(tiny_model[0], tmp_path)
    model = NeuralModel(folder)
    renderer = NeuralRenderer(model, context=64)
    score = Score(piece.notes[:150])
    style = Style(seed=3, temperature=0.0)
    whole = render_all(renderer, score, style, chunk=1000)
    chunked = render_all(NeuralRenderer(NeuralModel(folder), context=64), score, style, chunk=7)
    for name in whole.expression.dtype.names:
        assert np.allclose(whole.expression[name], chunked.expression[name], atol=1e-5), name
    # Each block of 32 notes is one causal pass that starts a block earlier.
    from appliance.render.neural import _Session

    s = _Session(model, score.notes)
    s.z[:] = renderer.latents(score.notes, style, s.features)
    got = renderer._windowed(s, 0, 150)
    context = model.sessions["decoder_context"]

    def full(a: int, b: int) -> np.ndarray:
        prev = np.zeros((1, b - a, 6), np.float32)
        prev[..., 5] = 1.0
        feed = {"score": s.features[None, a:b], "prev": prev, "z": s.z[None, a:b]}
        return context.run(None, feed)[0][0]

    assert np.allclose(got[:32], full(0, 32), atol=1e-6)
    assert np.allclose(got[32:64], full(0, 64)[32:], atol=1e-6)
    assert np.allclose(got[128:150], full(96, 150)[32:], atol=1e-6)
    assert s.keys.size == 0  # no key/value cache is kept on this path


def test_the_tempo_anchor_draws_the_piece_back_to_its_marked_tempo(tiny_model, piece, tmp_path):
    from appliance.render.expression import marked_log_bp

    folder = _hidden_copy(tiny_model[0], tmp_path)
    score = Score(piece.notes[:150])
    style = Style(seed=3, temperature=0.0, spread=0.0)  # the most likely style

    def rendered(anchor: float) -> np.ndarray:
        meta = json.loads((folder / "renderer.json").read_text())
        meta["runtime"]["tempo_anchor"] = anchor
        (folder / "renderer.json").write_text(json.dumps(meta))
        return render_all(NeuralRenderer(NeuralModel(folder), context=64), score, style).expression

    free, half, full = rendered(0.0), rendered(0.5), rendered(1.0)
    drift = np.median(free["log_bp"] - marked_log_bp(score.notes))
    assert abs(drift) > 1e-4  # the tiny model strays from the marking: something to draw back
    # One shift for every note, a part of the way (or all of it) back to the marked tempo; the
    # phrasing around it and everything else stay as they were.
    shift = half["log_bp"] - free["log_bp"]
    assert np.allclose(shift, -0.5 * drift, atol=2e-6)
    assert np.median(full["log_bp"] - marked_log_bp(score.notes)) == pytest.approx(0, abs=2e-6)
    for name in ("dev", "log_art", "velocity", "pedal"):
        assert np.array_equal(free[name], half[name]), name
    # Latents given outright (encoded from a human) keep their own tempo.
    model = NeuralModel(folder)
    given = Style(
        seed=3, temperature=0.0, latents=model.encode(piece.notes[:150], piece.expression[:150])
    )
    anchored = render_all(NeuralRenderer(model, context=64), score, given).expression
    meta = json.loads((folder / "renderer.json").read_text())
    meta["runtime"]["tempo_anchor"] = 0.0
    (folder / "renderer.json").write_text(json.dumps(meta))
    plain = render_all(NeuralRenderer(NeuralModel(folder), context=64), score, given).expression
    assert np.array_equal(anchored["log_bp"], plain["log_bp"])
