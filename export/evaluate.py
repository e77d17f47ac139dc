"""Evaluate renderers on the test pieces against every human performance of each piece.

For each test piece, a renderer renders the score once (along the repeat path of the piece's
first performance); its per-note expression is compared with every human performance on the
notes both hold, as MAE and Pearson r per feature, averaged over performances, then pieces.
The human ceiling scores each human against the other humans of the piece (leave-one-out).

    python -m export.evaluate [--renderer NAME …] [--plot-piece KEY --plot out.png]
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console

from appliance.console import run_app
from appliance.errors import ApplianceError
from appliance.paths import REPO_ROOT
from appliance.render.base import Renderer, Style, render_all
from appliance.render.neural import NeuralModel, NeuralRenderer
from appliance.render.plot import Curve, plot_performances
from appliance.render.registry import RENDERERS, get_renderer
from appliance.score.notes import Score
from export.dataset import Record, iter_records
from export.metrics import FEATURES, average, compare, shared_notes
from export.phrasing_metrics import measure, spread

console = Console()
HUMAN = "human (leave-one-out)"
PHRASING_FIELDS = (
    "phrase_end_slowing",
    "four_bar_end_slowing",
    "closing_ritardando",
    "median_qpm",
    "velocity_range",
)


def pieces(split: str | None = "test", folder: Path | None = None) -> dict[str, list[Record]]:
    """Human performances by piece key (``split=None``: every split)."""
    by_piece: dict[str, list[Record]] = defaultdict(list)
    for record in iter_records(split, folder=folder):
        by_piece[record.piece].append(record)
    return dict(sorted(by_piece.items()))


def _against(
    expression: np.ndarray, notes: np.ndarray, human: Record
) -> dict[str, dict[str, float]]:
    ia, ib = shared_notes(notes["id"], human.notes["id"])
    keep = human.matched[ib]
    return compare(expression[ia[keep]], human.expression[ib[keep]])


def score_renderer(
    renderer: Renderer,
    by_piece: dict[str, list[Record]],
    seed: int = 0,
    temperature: float | None = None,
    spread: float | None = None,
) -> dict[str, Any]:
    per_piece, phrasing = {}, {}
    style = Style(seed=seed, temperature=temperature, spread=spread)
    for key, humans in by_piece.items():
        score = Score(notes=humans[0].notes, title=key)
        rendered = render_all(renderer, score, style)
        per_piece[key] = average([_against(rendered.expression, score.notes, h) for h in humans])
        phrasing[key] = asdict(measure(score.notes, rendered.performed))
    return {"overall": average(list(per_piece.values())), "pieces": per_piece, "phrasing": phrasing}


def score_reconstruction(
    model: NeuralModel,
    by_piece: dict[str, list[Record]],
    seed: int = 0,
    temperature: float | None = None,
) -> dict[str, Any]:
    """Each human's latents encoded, decoded on that human's notes, compared with that human."""
    per_piece = {}
    for key, humans in by_piece.items():
        results = []
        for h in humans:
            latents = model.encode(h.notes, h.expression)
            style = Style(seed=seed, latents=latents, temperature=temperature)
            rendered = render_all(NeuralRenderer(model), Score(notes=h.notes, title=key), style)
            results.append(_against(rendered.expression, h.notes, h))
        per_piece[key] = average(results)
    return {"overall": average(list(per_piece.values())), "pieces": per_piece}


def score_humans(by_piece: dict[str, list[Record]]) -> dict[str, Any]:
    per_piece: dict[str, Any] = {}
    phrasing: dict[str, dict[str, float]] = {}
    for key, humans in by_piece.items():
        per_human = []
        for i, h in enumerate(humans):
            others = []
            for j, other in enumerate(humans):
                if i == j:
                    continue
                ia, ib = shared_notes(h.notes["id"], other.notes["id"])
                keep = h.matched[ia] & other.matched[ib]
                others.append(compare(h.expression[ia[keep]], other.expression[ib[keep]]))
            per_human.append(average(others))
        per_piece[key] = average(per_human)
        each = [measure(h.notes, h.performed, h.matched) for h in humans]
        phrasing[key] = {
            field: spread([getattr(m, field) for m in each])[0] for field in PHRASING_FIELDS
        }
    return {"overall": average(list(per_piece.values())), "pieces": per_piece, "phrasing": phrasing}


def markdown_table(rows: dict[str, dict[str, dict[str, float]]]) -> str:
    """The metrics table, then each renderer's r as a fraction of the human ceiling."""
    features = list(FEATURES)
    head = "| renderer | " + " | ".join(f"{f} r | {f} MAE" for f in features) + " |"
    lines = [head, "|" + "---|" * (1 + 2 * len(features))]
    for name, m in rows.items():
        cells = [f"{m[f]['r']:.3f} | {m[f]['mae']:.3f}" for f in features]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    units = ", ".join(f"{f}: {u}" for f, (_c, u) in FEATURES.items())
    text = "\n".join(lines) + f"\n\nMAE units — {units}. A constant prediction has r = 0.\n"
    if HUMAN in rows:
        ceiling = rows[HUMAN]
        ratio_lines = [
            "| r / human ceiling | " + " | ".join(features) + " | mean |",
            "|" + "---|" * (len(features) + 2),
        ]
        for name, m in rows.items():
            if name == HUMAN:
                continue
            ratios = [m[f]["r"] / ceiling[f]["r"] if ceiling[f]["r"] > 0 else 0.0 for f in features]
            shown = " | ".join(f"{r:.2f}" for r in ratios)
            ratio_lines.append(f"| {name} | {shown} | {np.mean(ratios):.2f} |")
        text += "\n" + "\n".join(ratio_lines) + "\n"
    return text


TEMPO_TOLERANCE = 0.10  # a rendered piece's median tempo within ±10 % of the humans' median


def phrasing_table(results: dict[str, dict[str, Any]]) -> str:
    """Markdown: phrase-end slowing, closing ritardando and velocity range per renderer (median
    and interquartile range over the pieces; humans: each piece's median performer), and the
    pieces whose median tempo is within ±10 % of the humans' median."""
    humans = results[HUMAN]["phrasing"]
    lines = [
        "| renderer | phrase-end slowing | four-bar end slowing | closing ritardando "
        "| velocity range (p5–p95) | median tempo within ±10 % of the humans' |",
        "|---|---|---|---|---|---|",
    ]

    def cell(values: list[float], percent: bool) -> str:
        mid, lo, hi = spread(values)
        if percent:  # rounded first, so that a rounding error shows as +0.0, not -0.0
            mid, lo, hi = (round(v * 100, 1) + 0.0 for v in (mid, lo, hi))
            return f"{mid:+.1f} % [{lo:+.1f}, {hi:+.1f}]"
        return f"{mid:.1f} [{lo:.1f}, {hi:.1f}]"

    for name, result in results.items():
        per_piece = result.get("phrasing")
        if not per_piece:
            continue
        keys = list(per_piece)
        row = [
            cell([per_piece[k]["phrase_end_slowing"] for k in keys], True),
            cell([per_piece[k]["four_bar_end_slowing"] for k in keys], True),
            cell([per_piece[k]["closing_ritardando"] for k in keys], True),
            cell([per_piece[k]["velocity_range"] for k in keys], False),
        ]
        if name == HUMAN:
            row.append("—")
        else:
            ratios = [per_piece[k]["median_qpm"] / humans[k]["median_qpm"] for k in keys]
            near = sum(abs(r - 1.0) <= TEMPO_TOLERANCE for r in ratios)
            med, lo, hi = spread(ratios)
            share = f"{near}/{len(keys)} ({near / len(keys):.0%})"
            row.append(f"{share}; ratio {med:.2f} [{lo:.2f}, {hi:.2f}]")
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def available_renderers() -> list[str]:
    """Every renderer whose model is present (the default set to evaluate)."""
    names = []
    for name in RENDERERS:
        try:
            get_renderer(name)
        except ApplianceError as exc:
            console.print(f"skipping {name}: {exc}")
            continue
        names.append(name)
    return names


def evaluate(
    renderer_names: list[str],
    split: str = "test",
    seed: int = 0,
    folder: Path | None = None,
    neural_fp32: Path | None = None,
    temperature: float | None = None,
    reconstruction: bool = True,
    spread: float | None = None,
    extra_spreads: tuple[float, ...] = (),
) -> dict[str, Any]:
    """Score the humans and each renderer; the neural renderer in generation mode (latents from
    the prior) and reconstruction mode (latents encoded from each human), and optionally its
    fp32 graphs beside the shipped int8 ones."""
    by_piece = pieces(split, folder)
    if not by_piece:
        raise ApplianceError(f"no {split} pieces in the dataset: run `make dataset`")
    results = {HUMAN: score_humans(by_piece)}
    for name in renderer_names:
        renderer = get_renderer(name)
        label = f"{name} (generation)" if isinstance(renderer, NeuralRenderer) else name
        results[label] = score_renderer(renderer, by_piece, seed, temperature, spread)
        if isinstance(renderer, NeuralRenderer):
            for extra in extra_spreads:
                results[f"{name} (generation, spread {extra:g})"] = score_renderer(
                    renderer, by_piece, seed, temperature, extra
                )
        if isinstance(renderer, NeuralRenderer) and reconstruction:
            results[f"{name} (reconstruction)"] = score_reconstruction(
                renderer.model, by_piece, seed, temperature
            )
    if neural_fp32 is not None:
        fp32 = NeuralModel(neural_fp32)
        results["neural fp32 (generation)"] = score_renderer(
            NeuralRenderer(fp32), by_piece, seed, temperature, spread
        )
        if reconstruction:
            results["neural fp32 (reconstruction)"] = score_reconstruction(
                fp32, by_piece, seed, temperature
            )
    n_perf = sum(len(v) for v in by_piece.values())
    return {"split": split, "pieces": len(by_piece), "performances": n_perf, "results": results}


def plot_piece(
    key: str,
    renderer_name: str | None,
    out: Path,
    split: str | None = "test",
    seed: int = 0,
    folder: Path | None = None,
) -> None:
    """Draw the renderer's tempo, velocity and piano roll beside every human of one piece."""
    by_piece = pieces(split, folder)
    if key not in by_piece:
        raise ApplianceError(
            f"no piece {key!r} in the {split} split (known: {', '.join(by_piece)})"
        )
    humans = by_piece[key]
    renderer = get_renderer(renderer_name)
    score = Score(notes=humans[0].notes, title=key)
    perf = render_all(renderer, score, Style(seed=seed))
    curves = [Curve(h.performer, h.notes, h.expression, h.performed) for h in humans]
    plot_performances(
        out,
        f"{key}: {renderer.name} vs {len(humans)} humans",
        Curve(renderer.name, perf.notes, perf.expression, perf.performed),
        curves,
    )


def pieces_table(results: dict[str, dict[str, Any]], name: str) -> str:
    """Markdown, one row per piece: the humans' figures (each piece's median performer) beside
    renderer ``name``'s — median tempo, phrase-end and four-bar end slowing, closing
    ritardando, velocity range."""
    humans, rendered = results[HUMAN]["phrasing"], results[name]["phrasing"]
    lines = [
        f"| piece | tempo, humans → {name} (ratio) | phrase-end slowing | four-bar end slowing "
        "| closing ritardando | velocity range |",
        "|---|---|---|---|---|---|",
    ]

    def pair(key: str, field: str, percent: bool) -> str:
        def shown(v: float) -> str:
            if not np.isfinite(v):
                return "—"
            return f"{round(v * 100):+d}" if percent else f"{v:.0f}"

        h, r = humans[key][field], rendered[key][field]
        if not (np.isfinite(h) or np.isfinite(r)):
            return "—"
        text = f"{shown(h)} → {shown(r)}"
        return text + " %" if percent else text

    for key in sorted(humans):
        if key not in rendered:
            continue
        ratio = rendered[key]["median_qpm"] / humans[key]["median_qpm"]
        if np.isfinite(ratio):
            mark = "" if abs(ratio - 1.0) <= TEMPO_TOLERANCE else " ✗"
            tempo = f"{pair(key, 'median_qpm', False)} ({ratio:.2f}{mark})"
        else:
            tempo = pair(key, "median_qpm", False)
        row = [
            tempo,
            pair(key, "phrase_end_slowing", True),
            pair(key, "four_bar_end_slowing", True),
            pair(key, "closing_ritardando", True),
            pair(key, "velocity_range", False),
        ]
        lines.append(f"| {key} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main_cmd(
    renderer: list[str] = typer.Option(None, help="renderers to score (default: all)"),
    split: str = typer.Option("test"),
    seed: int = typer.Option(0),
    out: Path = typer.Option(REPO_ROOT / "build" / "eval", help="folder for report.md/.json"),
    plot_piece_key: str = typer.Option("", "--plot-piece", help="piece key to plot"),
    plot: Path = typer.Option(None, help="PNG for --plot-piece"),
    fp32: Path = typer.Option(None, help="also score the fp32 neural graphs in this folder"),
    temperature: float = typer.Option(None, help="sampling temperature (default: renderer's)"),
    reconstruction: bool = typer.Option(True, help="also score neural reconstruction"),
    spread: float = typer.Option(None, help="spread of sampled styles (default: renderer's)"),
    also_spread: list[float] = typer.Option(
        None, help="also score neural generation at this style spread (repeatable)"
    ),
) -> None:
    """Print the evaluation table (markdown) and write it with a JSON file."""
    if plot_piece_key:
        target = plot or out / "piece.png"
        plot_piece(plot_piece_key, renderer[0] if renderer else None, target, split, seed)
        console.print(f"wrote {target}")
        return
    names = renderer or available_renderers()
    report = evaluate(
        names,
        split,
        seed,
        None,
        fp32,
        temperature,
        reconstruction,
        spread,
        tuple(also_spread or ()),
    )
    rows = {name: r["overall"] for name, r in report["results"].items()}
    table = markdown_table(rows) + "\nPhrasing (export/phrasing_metrics.py):\n\n"
    table += phrasing_table(report["results"])
    for name in report["results"]:
        if name.endswith("(generation)") and "fp32" not in name:
            table += f"\nPer piece (humans → {name}; ✗: tempo off by more than ±10 %):\n\n"
            table += pieces_table(report["results"], name)
    header = (
        f"{split.capitalize()} split: {report['pieces']} pieces, "
        f"{report['performances']} human performances.\n\n"
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.md").write_text(header + table)
    (out / "report.json").write_text(json.dumps(report, indent=1))
    print(header + table)
    console.print(f"wrote {out / 'report.md'} and {out / 'report.json'}")


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()
