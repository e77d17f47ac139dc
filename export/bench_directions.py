"""Measured effect of every direction class (printed tables, part of ``make bench``), and what
a direction costs the engine's render thread.

On held-out (test) pieces, at random notes, the neural renderer renders the next two bars with
and without a direction applied at that note (same style and random draws, so the difference is
the direction's alone) and measures the targeted feature over those bars:

| classes | intended change |
|---|---|
| pp, p | mean velocity down |
| f, ff, accent | mean velocity up |
| mp, mf | mean velocity closer to the level's usual velocity (64, 80) |
| crescendo / diminuendo | velocity slope over the two bars up / down |
| largo, adagio, fermata | beat period up (slower) |
| allegro, presto | beat period down (faster) |
| andante, moderato | local tempo closer to the word's usual tempo (84, 104 beats/min) |
| accelerando / ritardando | slope of the beat period down / up |
| a tempo | median beat period closer to the tempo it returns to (below) |
| staccato | duration ratio down; legato, tenuto: up |

The middle levels (mp, mf, andante, moderato) ask for a level, not a direction: "switch to
andante" slows a presto passage and quickens a largo one, so they count when the music moves
towards that level. A trial counts as going the intended way when the measured change has the
intended sign; for a level, also when the music was already within the levels' tolerance of it
(4 velocity steps, 5 % in tempo) and stays there. Every other "a tempo" trial has a tempo change
(ritardando, accelerando, largo, adagio, allegro or presto) in force from two bars before, and
"a tempo" is the tempo the renderer plays the coming bars at without that change; the others
have none, and "a tempo" is the tempo of the last eight bars played.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from appliance.console import run_app
from appliance.directions.classes import CLASSES, Scope
from appliance.directions.levels import A_TEMPO_BARS, LEVEL_CLASSES, TOLERANCE, VELOCITY_LEVELS
from appliance.directions.steer import Steering, SteeringVectors
from appliance.directions.timeline import look_ahead, previewer
from appliance.directions.words import DirectionRequest
from appliance.perform.engine import RENDER_CHUNK, RERENDER_MARGIN
from appliance.render.base import PerformanceStream, Style
from appliance.render.neural import NeuralRenderer
from appliance.render.registry import get_renderer, steering_file
from appliance.score import markings
from appliance.score.directions import beat_in_quarters
from appliance.score.notes import Score
from export.dataset import Record
from export.evaluate import pieces

console = Console(width=160)  # wide enough for the tables in a log file
BARS = 2

# class → (measure, intended sign)
INTENT: dict[str, tuple[str, float]] = {
    **{c: ("velocity", -1.0) for c in ("pp", "p")},
    **{c: ("velocity", 1.0) for c in ("f", "ff", "accent")},
    "mp": ("to_mp", -1.0),
    "mf": ("to_mf", -1.0),
    "crescendo": ("velocity_slope", 1.0),
    "diminuendo": ("velocity_slope", -1.0),
    **{c: ("beat_period", 1.0) for c in ("largo", "adagio", "fermata")},
    **{c: ("beat_period", -1.0) for c in ("allegro", "presto")},
    "andante": ("to_andante", -1.0),
    "moderato": ("to_moderato", -1.0),
    "accelerando": ("tempo_slope", -1.0),
    "ritardando": ("tempo_slope", 1.0),
    "a_tempo": ("tempo_distance", -1.0),
    "staccato": ("articulation", -1.0),
    "legato": ("articulation", 1.0),
    "tenuto": ("articulation", 1.0),
}
MEASURES = (
    "velocity",
    "velocity_slope",
    "beat_period",
    "tempo_slope",
    "tempo_distance",
    "articulation",
    "to_mp",
    "to_mf",
    "to_andante",
    "to_moderato",
)


def _slope(y: np.ndarray) -> float:
    if len(y) < 2:
        return 0.0
    x = np.arange(len(y), dtype=np.float64)
    return float(np.polyfit(x, y.astype(np.float64), 1)[0])


def measure(
    expr: np.ndarray, reference_log_bp: float, notes: np.ndarray | None = None
) -> dict[str, float]:
    """The features a direction may move, over a span of rendered notes (``notes``: the span's
    score notes, for the distance to a tempo word's usual tempo in its beats)."""
    log_bp = expr["log_bp"].astype(np.float64)
    beat_q = 1.0
    if notes is not None and len(notes):
        beat_q = float(np.median(beat_in_quarters(notes["ts_num"], notes["ts_den"])))
    velocity = float(expr["velocity"].mean())

    tempo = float(np.median(log_bp))

    def to_word(word: str) -> float:
        return abs(tempo - float(np.log(60.0 / (markings.TEMPO_WORD_BPM[word] * beat_q))))

    return {
        "to_mp": abs(velocity - VELOCITY_LEVELS["mp"]),
        "to_mf": abs(velocity - VELOCITY_LEVELS["mf"]),
        "to_andante": to_word("andante"),
        "to_moderato": to_word("moderato"),
        "velocity": float(expr["velocity"].mean()),
        "velocity_slope": _slope(expr["velocity"]) * len(expr),
        "beat_period": float(np.mean(log_bp)),
        "tempo_slope": _slope(log_bp) * len(expr),
        "tempo_distance": abs(tempo - reference_log_bp),
        "articulation": float(expr["log_art"].mean()),
    }


@dataclass
class Trial:
    cls: str
    strength: float
    without: dict[str, float]  # the measures without the direction
    with_: dict[str, float]  # and with it

    @property
    def delta(self) -> dict[str, float]:
        """With the direction minus without, per measure."""
        return {m: self.with_[m] - self.without[m] for m in MEASURES}

    @property
    def intended(self) -> bool:
        """The targeted feature moved the intended way; for a level, the music came closer to
        it, or was already there (within the levels' tolerance) and stayed there."""
        name, sign = INTENT[self.cls]
        if name in LEVEL_MEASURES:
            tol = TOLERANCE["velocity" if name in ("to_mp", "to_mf") else "beat_period"]
            if self.without[name] <= tol:
                return self.with_[name] <= tol
        return self.delta[name] * sign > 0


# "a tempo" returns from a tempo change: every other trial has one of these in force from
# two bars before (the rest: none, so "a tempo" is a level, the piece's tempo so far).
TEMPO_CHANGES = ("ritardando", "accelerando", "largo", "adagio", "allegro", "presto")
LEVEL_MEASURES = {"to_mp", "to_mf", "to_andante", "to_moderato", "tempo_distance"}


def run_trials(
    renderer: NeuralRenderer,
    vectors: SteeringVectors,
    by_piece: dict[str, list[Record]],
    strengths: tuple[float, ...],
    trials: int,
    seed: int = 0,
    classes: tuple[str, ...] = CLASSES,
) -> list[Trial]:
    rng = np.random.default_rng(seed)
    keys = sorted(by_piece)
    out: list[Trial] = []
    streams: dict[str, PerformanceStream] = {}
    for cls in classes:
        for t in range(trials):
            key = keys[(t + CLASSES.index(cls)) % len(keys)]
            notes = by_piece[key][0].notes
            base_style = Style(seed=seed, temperature=0.0)
            stream = streams.get(key)
            if stream is None:
                stream = streams[key] = PerformanceStream(
                    renderer, Score(notes, title=key), base_style
                )
            at = int(rng.integers(1, max(len(notes) - 64, 2)))
            end_bar = notes["bar"][at] + BARS
            stop = int(np.searchsorted(notes["bar"], end_bar, side="left"))
            if stop <= at:
                continue
            before = Steering(notes, vectors)
            stream.style = base_style
            change = TEMPO_CHANGES[t // 2 % len(TEMPO_CHANGES)]
            changed_at = int(np.searchsorted(notes["bar"], notes["bar"][at] - BARS, side="left"))
            # Render the piece up to the chosen note (whole onset groups: may pass it).
            stream.rewind(at)
            stream.render_to(at)
            start = stream.rendered
            if stop <= start:
                continue
            # "a tempo" returns to the tempo of the last bars played, or, after a tempo change,
            # to the tempo the renderer plays the coming bars at without it.
            bar = notes["bar"][:start]
            section = bar >= bar[-1] - A_TEMPO_BARS
            reference = float(np.median(stream.expression["log_bp"][:start][section]))
            if cls == "a_tempo" and t % 2 == 0 and 0 < changed_at < at:
                reference = float(
                    np.median(_render_span(stream, base_style, start, stop)["log_bp"])
                )
                before.apply(DirectionRequest(change, 1.0, Scope.FROM_NOW), changed_at)
                stream.style = base_style.with_offsets(before.offsets())
                stream.rewind(changed_at)
                stream.render_to(start)
            played = stream.expression[:start].copy()
            base = _render_span(stream, stream.style, start, stop)
            for strength in strengths:
                steering = copy.deepcopy(before)
                preview = previewer(stream, base_style, start, stop - start)
                request = DirectionRequest(cls, strength, Scope.FROM_NOW)
                steering.apply(request, start, played, base, preview)
                directed = _render_span(
                    stream, base_style.with_offsets(steering.offsets()), start, stop
                )
                span = notes[start:stop]
                was = measure(base, reference, span)
                now = measure(directed, reference, span)
                out.append(Trial(cls, strength, was, now))
            stream.style = base_style
    return out


def _render_span(stream: PerformanceStream, style: Style, start: int, stop: int) -> np.ndarray:
    stream.rewind(start)
    stream.style = style
    stream.render_next(stop - start)
    return stream.performance().expression[start:stop]


def effect_table(trials: list[Trial], strength: float) -> Table:
    table = Table(title=f"direction effects over the next {BARS} bars, strength {strength}")
    for col in (
        "class",
        "trials",
        "intended way",
        "median change of its feature",
        "side effects (median size of the change)",
    ):
        table.add_column(col)
    for cls in CLASSES:
        rows = [t for t in trials if t.cls == cls and t.strength == strength]
        if not rows:
            continue
        name, _ = INTENT[cls]
        share = np.mean([t.intended for t in rows])
        target = np.median([t.delta[name] for t in rows])
        side = {
            m: float(np.median([abs(t.delta[m]) for t in rows]))
            for m in ("velocity", "beat_period", "articulation")
            if m != name
        }
        table.add_row(
            cls,
            str(len(rows)),
            f"{share:.0%}",
            _describe(name, target),
            ", ".join(_describe(m, v) for m, v in side.items()),
        )
    return table


def _describe(measure_name: str, value: float) -> str:
    if measure_name == "velocity":
        return f"velocity {value:+.1f}"
    if measure_name == "velocity_slope":
        return f"velocity rise over the span {value:+.1f}"
    if measure_name == "beat_period":
        return f"tempo {100 * (np.exp(-value) - 1):+.1f} %"
    if measure_name == "tempo_slope":
        return f"tempo change over the span {100 * (np.exp(-value) - 1):+.1f} %"
    if measure_name == "tempo_distance":
        return f"distance from the tempo to return to {value:+.3f} (ln)"
    if measure_name in ("to_mp", "to_mf"):
        return f"distance from {measure_name[3:]} velocity {value:+.1f}"
    if measure_name in ("to_andante", "to_moderato"):
        return f"distance from {measure_name[3:]} tempo {value:+.3f} (ln)"
    return f"duration ratio ×{np.exp(value):.2f}"


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main_cmd(
    trials: int = typer.Option(40, help="random positions per class"),
    split: str = typer.Option("test"),
) -> None:
    """Print the effect table at strength 1, then the intended-way share at 0.5 / 1 / 2."""
    renderer = get_renderer("neural")
    assert isinstance(renderer, NeuralRenderer)
    vectors = SteeringVectors.load(steering_file())
    by_piece = pieces(split)
    strengths = (0.5, 1.0, 2.0)
    results = run_trials(renderer, vectors, by_piece, strengths, trials)
    console.print(effect_table(results, 1.0))
    table = Table(title="effect grows with strength (median change of the targeted feature)")
    table.add_column("class")
    for s in strengths:
        table.add_column(f"strength {s}")
    for cls in CLASSES:
        name, _ = INTENT[cls]
        cells = []
        for s in strengths:
            rows = [t for t in results if t.cls == cls and t.strength == s]
            share = np.mean([t.intended for t in rows]) if rows else float("nan")
            cells.append(
                f"{_describe(name, float(np.median([t.delta[name] for t in rows])))} ({share:.0%})"
            )
        table.add_row(cls, *cells)
    console.print(table)
    for words, cost in command_costs(renderer, vectors, by_piece, trials).items():
        console.print(
            f"time from a command to its first re-rendered notes, {words}: "
            f"p50 {np.median(cost):.1f} ms, p95 {np.quantile(cost, 0.95):.1f} ms "
            f"(the engine keeps notes due within {RERENDER_MARGIN * 1000:.0f} ms as they are)"
        )


def command_costs(
    renderer: NeuralRenderer,
    vectors: SteeringVectors,
    by_piece: dict[str, list[Record]],
    trials: int,
    seed: int = 1,
) -> dict[str, list[float]]:
    """Milliseconds the engine's render thread spends on a direction before the first notes
    are re-rendered: a way ("p") re-renders once; a level ("andante") first renders the next two
    bars as planned, previews them with the direction up to twice, then re-renders."""
    rng = np.random.default_rng(seed)
    keys = sorted(by_piece)
    out: dict[str, list[float]] = {"a way (p)": [], "a level (andante)": []}
    for t in range(trials):
        notes = by_piece[keys[t % len(keys)]][0].notes
        at = int(rng.integers(1, max(len(notes) - 64, 2)))
        for label, cls in (("a way (p)", "p"), ("a level (andante)", "andante")):
            stream = PerformanceStream(renderer, Score(notes), Style(seed=seed))
            stream.render_to(at)
            at = stream.rendered
            steering = Steering(notes, vectors)
            begin = time.perf_counter()
            played = ahead = preview = None
            if cls in LEVEL_CLASSES:  # as the engine: only a level looks back and ahead
                played = stream.expression[:at].copy()
                ahead, preview = look_ahead(stream, stream.style, steering.offsets(), at)
            steering.apply(DirectionRequest(cls, 1.0, Scope.FROM_NOW), at, played, ahead, preview)
            stream.style = stream.style.with_offsets(steering.offsets())
            stream.rewind(at)
            stream.render_next(RENDER_CHUNK)
            out[label].append(1000 * (time.perf_counter() - begin))
    return out


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()
