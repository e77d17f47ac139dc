"""The ``appliance`` command line."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from appliance.console import run_app
from appliance.directions.interpret import Interpreter
from appliance.directions.steer import SteeringVectors
from appliance.directions.timeline import offsets_for, place
from appliance.errors import ApplianceError
from appliance.library import default_piece
from appliance.paths import data_dir
from appliance.render.base import Performance, Renderer, Style, render_all
from appliance.render.midi import write_midi
from appliance.render.neural import NeuralRenderer
from appliance.render.plot import Curve, plot_performances
from appliance.render.registry import (
    RENDERERS,
    default_renderer_name,
    get_renderer,
    steering_file,
)
from appliance.score import load_score, markings
from appliance.score.notes import Score

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="The expressive piano appliance."
)
console = Console()


def _render(score: Score, renderer: Renderer, style: Style) -> Performance:
    with console.status(f"rendering {len(score.notes)} notes with {renderer.name}…"):
        return render_all(renderer, score, style)


def _report(perf: Performance, out: Path) -> None:
    end = float((perf.performed["onset"] + perf.performed["duration"]).max())
    bpm = 60.0 / np.exp(np.median(perf.expression["log_bp"]))
    velocity = perf.performed["velocity"].mean()
    console.print(
        f"wrote [bold]{out}[/bold]: {len(perf.notes)} notes, "
        f"{int(end // 60)}:{end % 60:04.1f} min, median tempo {bpm:.0f} quarter notes/min, "
        f"mean velocity {velocity:.0f}"
    )


@app.command()
def render(
    score_path: Path = typer.Argument(
        ..., metavar="SCORE", help="MusicXML (.musicxml/.xml/.mxl) or MIDI"
    ),
    output: Path = typer.Option(..., "-o", "--output", help="performance MIDI to write"),
    renderer: str = typer.Option(
        None, help=f"one of {', '.join(RENDERERS)} (default: best available)"
    ),
    seed: int = typer.Option(0, help="style seed"),
    plot: Path = typer.Option(None, help="also draw tempo, velocity and piano roll to this PNG"),
    direct: list[str] = typer.Option(
        None,
        help='a direction at a bar, e.g. "softer@bar 8" or "like a lullaby@bar 1" (repeatable)',
    ),
) -> None:
    """Render a score to an expressive performance MIDI."""
    chosen = get_renderer(renderer)
    score = load_score(score_path)
    style = Style(seed=seed)
    if direct:
        if not isinstance(chosen, NeuralRenderer):
            raise ApplianceError("directions need the neural renderer (--renderer neural)")
        interpreter = Interpreter()
        placed = [place(spec, score.notes, interpreter=interpreter) for spec in direct]
        vectors = SteeringVectors.load(steering_file())
        style = style.with_offsets(offsets_for(score.notes, placed, vectors))
        for p in placed:
            asked = ", ".join(f"{d.cls} {d.strength:+.2f}" for d in p.parsed.directions)
            console.print(f"direction at note {p.note}: {p.text} → {asked or p.parsed.control}")
    perf = _render(score, chosen, style)
    write_midi(output, perf.notes, perf.performed)
    _report(perf, output)
    if plot:
        curve = Curve(chosen.name, perf.notes, perf.expression, perf.performed)
        plot_performances(plot, f"{score.title} ({chosen.name}, seed {seed})", curve)
        console.print(f"wrote {plot}")


@app.command("score")
def score_info(score_path: Path = typer.Argument(..., metavar="SCORE")) -> None:
    """Show what the box reads in a score: notes, bars and performance directions."""
    score = load_score(score_path)
    n = score.notes
    table = Table(title=f"{score.title} {('— ' + score.composer) if score.composer else ''}")
    table.add_column("what")
    table.add_column("value")
    table.add_row("notes", str(len(n)))
    table.add_row("bars", str(score.n_bars))
    table.add_row("length", f"{score.length_quarters:.1f} quarter notes")
    table.add_row(
        "time signatures",
        ", ".join(sorted({f"{a}/{b}" for a, b in zip(n["ts_num"], n["ts_den"], strict=True)})),
    )
    table.add_row(
        "dynamics",
        ", ".join(markings.DYNAMICS[i] for i in np.unique(n["dynamic"]) if i >= 0) or "none",
    )
    table.add_row(
        "tempo words",
        ", ".join(markings.TEMPO_WORDS[i] for i in np.unique(n["tempo_word"]) if i >= 0) or "none",
    )
    table.add_row(
        "tempo changes",
        ", ".join(markings.TEMPO_CHANGES[i] for i in np.unique(n["tempo_change"]) if i > 0)
        or "none",
    )
    marks = [
        f"{name} {int(n[name].sum())}"
        for name in (*markings.ARTICULATIONS, "crescendo", "diminuendo")
        if n[name].any()
    ]
    table.add_row("articulations (notes)", ", ".join(marks) or "none")
    console.print(table)


@app.command()
def renderers() -> None:
    """List the renderers and which one is the default."""
    default = default_renderer_name()
    for name in RENDERERS:
        console.print(f"{name}{'  (default)' if name == default else ''}")


@app.command()
def run(
    out: Path = typer.Option(None, help="folder for performances (default: the box's data folder)"),
    seed: int = typer.Option(None, help="style seed (default: random)"),
) -> None:
    """Start the appliance with its defaults.

    Until the real-time engine exists this renders the default piece with a random style and
    plays it to a MIDI file.
    """
    seed = random.randrange(1 << 31) if seed is None else seed
    folder = out or data_dir() / "performances"
    score = load_score(default_piece())
    renderer = get_renderer()
    perf = _render(score, renderer, Style(seed=seed))
    target = folder / f"{score.title}-{renderer.name}-{seed}.mid"
    write_midi(target, perf.notes, perf.performed)
    _report(perf, target)


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()
