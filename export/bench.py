"""Benchmarks that print figures (``make bench``): no pass/fail on speed, machines are noisy.

Today: score loading time and each renderer's real-time factor (rendering time / playing time)
over a whole piece, rendered in streaming chunks as the engine will.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from appliance.console import run_app
from appliance.library import default_piece
from appliance.render.base import Style, render_all
from appliance.render.registry import RENDERERS, get_renderer
from appliance.score import load_score

console = Console()
app = typer.Typer(add_completion=False, help=__doc__)


def _timed(fn, repeat: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


@app.command()
def main_cmd(
    score: Path = typer.Option(None, help="score to use (default: the box's default piece)"),
    repeat: int = typer.Option(3, help="runs per figure (the best is printed)"),
) -> None:
    """Print loading time and real-time factors."""
    path = score or default_piece()
    load_s, loaded = _timed(lambda: load_score(path), repeat)
    assert loaded is not None
    sc = load_score(path)
    table = Table(title=f"benchmarks on {path.name} ({len(sc.notes)} notes)")
    table.add_column("what")
    table.add_column("figure", justify="right")
    table.add_row("score load (s)", f"{load_s:.3f}")
    for name in RENDERERS:
        try:
            renderer = get_renderer(name)
        except Exception as exc:  # a missing model is reported, not fatal
            table.add_row(f"{name}: real-time factor", f"unavailable ({exc})")
            continue
        seconds, perf = _timed(lambda r=renderer: render_all(r, sc, Style(seed=0), chunk=32), repeat)
        performed = perf.performed  # type: ignore[attr-defined]
        length = float(np.max(performed["onset"] + performed["duration"]))
        table.add_row(f"{name}: real-time factor", f"{seconds / length:.5f}")
    console.print(table)


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()
