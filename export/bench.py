"""Benchmarks that print figures (``make bench``): no pass/fail on speed, machines are noisy.

- score loading time;
- each renderer's real-time factor (rendering time / playing time) over a whole piece,
  rendered in streaming chunks as the engine will;
- the neural renderer's latency to re-render the next two bars after a style change at random
  notes (p50/p95), and its peak memory (measured in a fresh process).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from appliance.console import run_app
from appliance.errors import ApplianceError
from appliance.library import default_piece
from appliance.render.base import PerformanceStream, Style, render_all
from appliance.render.neural import NeuralRenderer
from appliance.render.registry import RENDERERS, get_renderer
from appliance.score import load_score
from appliance.score.notes import Score

console = Console()
app = typer.Typer(add_completion=False, help=__doc__)


def real_time_factor(name: str, score: Score, repeat: int) -> tuple[float, float]:
    """(best rendering time / performance length, performance length in s)."""
    renderer = get_renderer(name)
    best, length = float("inf"), 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        perf = render_all(renderer, score, Style(seed=0), chunk=32)
        best = min(best, time.perf_counter() - start)
        length = float(np.max(perf.performed["onset"] + perf.performed["duration"]))
    return best / length, length


def rerender_latency(name: str, score: Score, trials: int, seed: int = 0) -> np.ndarray:
    """Seconds to re-render the next two bars after a style change at random notes."""
    renderer = get_renderer(name)
    stream = PerformanceStream(renderer, score, Style(seed=1))
    while not stream.done:
        stream.render_next(64)
    notes = score.notes
    rng = np.random.default_rng(seed)
    size = renderer.model.sizes.total if isinstance(renderer, NeuralRenderer) else 0
    out = []
    for _ in range(trials):
        at = int(rng.integers(1, len(notes) - 1))
        end_bar = notes["bar"][at] + 2
        count = int(np.searchsorted(notes["bar"], end_bar, side="left")) - at
        start = time.perf_counter()
        kept = stream.rewind(at)
        stream.style = Style(seed=1, vector=tuple(rng.normal(0, 1, size)) if size else None)
        stream.render_next(max(count + at - kept, 1))
        out.append(time.perf_counter() - start)
        while not stream.done:  # back to a whole rendering for the next trial
            stream.render_next(256)
    return np.asarray(out)


# Loads the score first, then resets the kernel's peak-RSS mark (clear_refs 5), so the peak
# after rendering minus the RSS before loading the model is the renderer's own share.
_MEMORY_PROBE = """
import json, sys
from appliance.score import load_score
from appliance.render.base import Style, render_all
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1])
score = load_score(sys.argv[1])
before = status("VmRSS:")
with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")
from appliance.render.registry import get_renderer
renderer = get_renderer(sys.argv[2])
render_all(renderer, score, Style(seed=0), chunk=32)
print(json.dumps({"before_kb": before, "peak_kb": status("VmHWM:")}))
"""


def peak_memory(name: str, path: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE, str(path), name],
        capture_output=True,
        text=True,
        check=True,
    )
    raw: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return raw


@app.command()
def main_cmd(
    score: Path = typer.Option(None, help="score to use (default: the box's default piece)"),
    repeat: int = typer.Option(3, help="runs per real-time factor (the best is printed)"),
    trials: int = typer.Option(50, help="style changes for the re-render latency"),
) -> None:
    """Print the figures."""
    path = score or default_piece()
    start = time.perf_counter()
    sc = load_score(path)
    load_s = time.perf_counter() - start
    table = Table(title=f"benchmarks on {path.name} ({len(sc.notes)} notes)")
    table.add_column("what")
    table.add_column("figure", justify="right")
    table.add_row("score load (s)", f"{load_s:.3f}")
    for name in RENDERERS:
        try:
            rtf, length = real_time_factor(name, sc, repeat)
        except ApplianceError as exc:
            table.add_row(f"{name}: real-time factor", f"unavailable ({exc})")
            continue
        table.add_row(f"{name}: real-time factor ({length:.0f} s piece)", f"{rtf:.4f}")
        if name == "neural":
            lat = rerender_latency(name, sc, trials) * 1000
            table.add_row(
                "neural: re-render next 2 bars after a style change (ms)",
                f"p50 {np.percentile(lat, 50):.1f}, p95 {np.percentile(lat, 95):.1f}",
            )
            mem = peak_memory(name, path)
            peak, share = mem["peak_kb"] / 1024, (mem["peak_kb"] - mem["before_kb"]) / 1024
            table.add_row(
                "neural: peak RSS of a process rendering the piece (MB)",
                f"{peak:.0f} (renderer's share {share:.0f})",
            )
    console.print(table)


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()
