"""Does the box learn a listener's taste? Simulated listeners, instant adaptation, fine-tuning.

    python -m export.bench_learning [--events 20] [--big 300] [--quality/--no-quality]

A simulated listener has a hidden taste: how far from the renderer's own playing they want
the tempo, the loudness and the articulation (``slow, soft, legato``: 15 % longer beats,
10 velocity steps softer, notes 25 % longer; ``brisk, detached``: the opposite). They hear
the first ``BARS`` bars of a piece and, like a person with one thing on their mind, complain
about what is furthest from their taste ("too fast", "too loud", "too staccato" …) or, when
everything is near enough, say they like it.

The **distance to the taste** is the root mean square, over the three features, of what is
still missing, each in units of the taste's own step (0: exactly their taste; about 1 when
nothing has been learnt). It is measured on pieces and styles the listener never rated.

1. **At once**: 20 pieces of feedback, each learnt into the listener's taste
   (:mod:`appliance.learn.taste`) before the next performance, which starts with that taste.
2. **Fine-tuned**: the same number of pieces of feedback on performances played without a
   taste go into the memory, :mod:`export.finetune` makes a new model version, and the
   distance is measured with it (no taste applied).
3. **Quality** (``--quality``): the fine-tuned models against the parent on the test split,
   as ``make eval`` measures it (r and MAE per feature, generation mode).
4. **On the box**: a fine-tune on ``--big`` pieces of feedback at the lowest priority on one
   thread, while the box's audio producer plays in real time: its minutes, and the audio
   blocks made late.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import typer

from appliance.audio.producer import Producer
from appliance.audio.sinks import MemorySink
from appliance.audio.synth import Synth
from appliance.console import run_app
from appliance.directions.classes import Scope
from appliance.directions.steer import SteeringVectors
from appliance.directions.words import DirectionRequest, ParsedDirections
from appliance.learn.taste import Taste, directions_of, learn
from appliance.library import open_library
from appliance.library.catalog import Library, Piece
from appliance.perform.engine import Engine
from appliance.render.registry import neural_renderer, steering_file
from appliance.render.versions import ModelVersion, ModelVersions
from appliance.store.rows import FeedbackRow, PerformanceRow
from appliance.store.store import Store
from export.finetune import FinetuneConfig, finetune

BARS = 12  # bars a listener hears before saying something
CONTROL = 60.0  # seconds of music without a fine-tune, for comparison
TOLERANCE = 0.35  # of a step: near enough to like it
FEATURES = ("log_bp", "velocity", "log_art")
COMPLAINTS = {  # (feature, too much of it) → feedback kind
    ("log_bp", True): "too_slow",  # beats too long
    ("log_bp", False): "too_fast",
    ("velocity", True): "too_loud",
    ("velocity", False): "too_soft",
    ("log_art", True): "too_legato",  # notes held too long
    ("log_art", False): "too_staccato",
}


@dataclass(frozen=True)
class Listener:
    name: str
    want: dict[str, float]  # per feature: the change they want from the renderer's own playing

    def step(self, feature: str) -> float:
        return abs(self.want[feature])

    def missing(self, heard: dict[str, float]) -> dict[str, float]:
        """Per feature, what is still missing, in steps of their taste (+: too much)."""
        return {f: (heard[f] - self.want[f]) / self.step(f) for f in FEATURES}

    def distance(self, heard: dict[str, float]) -> float:
        missing = self.missing(heard)
        return float(np.sqrt(np.mean([m**2 for m in missing.values()])))

    def says(self, heard: dict[str, float], rng: np.random.Generator) -> str:
        """One thing on their mind: a feature that is off, the further off the likelier."""
        missing = self.missing(heard)
        off = [f for f in FEATURES if abs(missing[f]) >= TOLERANCE]
        if not off:
            return "like"
        weights = np.array([missing[f] ** 2 for f in off])
        feature = off[int(rng.choice(len(off), p=weights / weights.sum()))]
        return COMPLAINTS[(feature, missing[feature] > 0)]


LISTENERS = (
    Listener("slow, soft, legato", {"log_bp": 0.15, "velocity": -10.0, "log_art": 0.25}),
    Listener("brisk, detached", {"log_bp": -0.12, "velocity": 6.0, "log_art": -0.25}),
)


class Player:
    """The renderer as the box plays it (engine, steering), without sound."""

    def __init__(self, library: Library, version: ModelVersion) -> None:
        self.library = library
        self.renderer = neural_renderer(version)
        self.version = version.version
        self.vectors = SteeringVectors.load(steering_file(version))

    def play(
        self, piece: Piece, seed: int, directions: tuple[tuple[str, float], ...] = ()
    ) -> dict[str, float]:
        """Mean log beat period, velocity and log articulation of the first ``BARS`` bars."""
        engine = Engine(self.renderer, self.library, None, self.vectors)
        engine.load(piece, seed, play=False)
        if directions:
            requests = tuple(DirectionRequest(c, s, Scope.FROM_NOW) for c, s in directions)
            engine.apply(ParsedDirections(requests), "taste")
        current = engine.current
        assert current is not None
        notes = current.score.notes
        stop = int(np.searchsorted(notes["bar"], notes["bar"][0] + BARS))
        current.stream.render_to(max(stop, 1))
        expression = current.stream.expression[:stop]
        return {f: float(np.mean(expression[f])) for f in FEATURES}


def _change(heard: dict[str, float], own: dict[str, float]) -> dict[str, float]:
    return {f: heard[f] - own[f] for f in FEATURES}


def _held_out(pieces: list[Piece]) -> list[tuple[Piece, int]]:
    return [(p, 1000 + 2 * k + j) for k, p in enumerate(pieces[-3:]) for j in range(2)]


def at_once(
    player: Player, listener: Listener, pieces: list[Piece], events: int
) -> tuple[float, float, Taste, list[str]]:
    """(distance before, distance after, the taste learnt, what was said)."""
    taste, said = Taste(), []
    rated, rng = pieces[:-3], np.random.default_rng(1)
    for k in range(events):
        piece, seed = rated[k % len(rated)], k
        own = player.play(piece, seed)
        shown = directions_of(taste)
        heard = (
            _change(player.play(piece, seed, shown), own) if shown else dict.fromkeys(FEATURES, 0.0)
        )
        kind = listener.says(heard, rng)
        said.append(kind)
        taste = learn(taste, kind, shown)
    before, after = [], []
    for piece, seed in _held_out(pieces):
        own = player.play(piece, seed)
        before.append(listener.distance(dict.fromkeys(FEATURES, 0.0)))
        after.append(
            listener.distance(_change(player.play(piece, seed, directions_of(taste)), own))
        )
    return float(np.mean(before)), float(np.mean(after)), taste, said


def remember(
    store: Store, player: Player, listener: Listener, pieces: list[Piece], events: int
) -> list[str]:
    """Feedback on performances played without a taste, into the memory."""
    said = []
    rated, rng = pieces[:-3], np.random.default_rng(2)
    for k in range(events):
        piece, seed = rated[k % len(rated)], k
        kind = listener.says(dict.fromkeys(FEATURES, 0.0), rng)
        perf = PerformanceRow(piece_id=piece.id, seed=seed, model_version=player.version)
        store.put(perf)
        store.put(FeedbackRow(kind=kind, performance_id=perf.id, bar=BARS))
        said.append(kind)
    store.flush()
    return said


def _new_styles(pieces: list[Piece]) -> list[tuple[Piece, int]]:
    """The pieces the listener rated, in styles (seeds) they never heard."""
    return [(p, 2000 + k) for k, p in enumerate(pieces[:-3])]


def tuned_distance(
    parent: Player, tuned: Player, listener: Listener, trials: list[tuple[Piece, int]]
) -> tuple[float, float, dict[str, float]]:
    """(before, after, mean change per feature): the fine-tuned model's playing against the
    parent's."""
    after, changes = [], []
    for piece, seed in trials:
        change = _change(tuned.play(piece, seed), parent.play(piece, seed))
        changes.append(change)
        after.append(listener.distance(change))
    mean = {f: round(float(np.mean([c[f] for c in changes])), 3) for f in FEATURES}
    return listener.distance(dict.fromkeys(FEATURES, 0.0)), float(np.mean(after)), mean


def quality(versions: list[ModelVersion]) -> dict[str, dict[str, dict[str, float]]]:
    """r and MAE per feature on the test split, per version (as ``make eval`` measures them)."""
    from export.evaluate import pieces, score_renderer

    by_piece = pieces("test")
    return {v.version: score_renderer(neural_renderer(v), by_piece)["overall"] for v in versions}


class Discard(MemorySink):
    """An audio sink that keeps nothing (a long run would fill the memory)."""

    def write(self, block: np.ndarray) -> None:
        return None


def on_the_box(library: Library, parent: ModelVersion, big: int, work: Path) -> dict[str, float]:
    """A fine-tune of ``big`` pieces of feedback at the lowest priority while the music plays."""
    store = Store.open(work / "big.sqlite3")
    player = Player(library, parent)
    pieces = list(library.pieces.values())
    remember(store, player, LISTENERS[0], pieces, big)
    store.close()
    engine = Engine(
        neural_renderer(parent), library, None, SteeringVectors.load(steering_file(parent))
    )
    synth = Synth()
    producer = Producer(engine.advance, synth, [Discard()])
    engine.load(pieces[0], 1, play=False)
    engine.start()
    producer.start()
    engine.play()
    time.sleep(CONTROL)  # the same music without a fine-tune: what the machine does anyway
    control = {
        "control_blocks": float(producer.blocks),
        "control_late_blocks": float(producer.late_blocks),
        "control_most_late_ms": producer.most_late * 1000,
    }
    blocks, late = producer.blocks, producer.late_blocks
    producer.most_late = 0.0
    started = time.monotonic()
    env = {**os.environ, "APPLIANCE_DATA": str(work / "box")}
    done = subprocess.run(
        [sys.executable, "-m", "export.finetune", "--store", str(work / "big.sqlite3"),
         "--threads", "1", "--library", str(library.folder)],
        preexec_fn=lambda: os.nice(19), env=env, capture_output=True, text=True,
    )  # fmt: skip
    minutes = (time.monotonic() - started) / 60
    producer.stop()
    engine.close()
    if done.returncode != 0:
        raise SystemExit(done.stdout[-2000:] + done.stderr[-2000:])
    return {
        "minutes": minutes,
        "blocks": float(producer.blocks - blocks),
        "late_blocks": float(producer.late_blocks - late),
        "most_late_ms": producer.most_late * 1000,
        **control,
    }


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main_cmd(
    events: int = typer.Option(20, help="pieces of feedback per listener"),
    big: int = typer.Option(300, help="pieces of feedback for the on-the-box fine-tune (0: skip)"),
    with_quality: bool = typer.Option(
        True, "--quality/--no-quality", help="evaluate on the test split"
    ),
) -> None:
    """Print the distances before and after, the quality, and the on-the-box figures."""
    library = open_library()
    pieces = list(library.pieces.values())
    versions_root = Path(tempfile.mkdtemp(prefix="bench-learning-"))
    versions = ModelVersions(versions_root / "versions")
    parent_version = versions.shipped()
    parent = Player(library, parent_version)
    tuned_versions = []
    for listener in LISTENERS:
        before, after, taste, said = at_once(parent, listener, pieces, events)
        print(f"\n{listener.name}: wants {listener.want}")
        print(f"  at once, after {events} pieces of feedback: distance {before:.2f} → {after:.2f}")
        print(f"    said: {' '.join(said)}")
        print(f"    taste: {taste.levels()} → directions {directions_of(taste)}")
        store = Store.open(versions_root / f"{listener.name[:4]}.sqlite3")
        said = remember(store, parent, listener, pieces, events)
        started = time.monotonic()
        made, report = finetune(store, versions, SHIPPED_NAME, FinetuneConfig(), library.folder)
        store.close()
        assert made is not None
        tuned_versions.append(made)
        print(
            f"  fine-tuned on {events} ({' '.join(said)}): "
            f"{time.monotonic() - started:.0f} s, {report['steps']} steps"
        )
        tuned = Player(library, made)
        for label, trials in (
            ("rated pieces, new styles", _new_styles(pieces)),
            ("pieces never rated", _held_out(pieces)),
        ):
            t_before, t_after, change = tuned_distance(parent, tuned, listener, trials)
            print(f"    {label}: distance {t_before:.2f} → {t_after:.2f} (change {change})")
    if with_quality:
        print("\nquality on the test split (generation, int8; mean over the five features):")
        figures = quality([parent_version, *tuned_versions])
        base = figures[parent_version.version]
        for name, per_feature in figures.items():
            cells = []
            for feature, f in per_feature.items():
                b = base[feature]
                dr = (f["r"] - b["r"]) / abs(b["r"]) * 100
                dm = (f["mae"] - b["mae"]) / b["mae"] * 100
                cells.append(
                    f"{feature} r {f['r']:.3f} ({dr:+.1f} %) MAE {f['mae']:.3f} ({dm:+.1f} %)"
                )
            print(f"  {name}: " + "; ".join(cells))
    if big:
        with tempfile.TemporaryDirectory() as work:
            box = on_the_box(library, parent_version, big, Path(work))
        print(
            f"\non the box: fine-tune on {big} pieces of feedback at nice 19, one thread, while "
            f"playing: {box['minutes']:.1f} min; audio blocks {box['blocks']:.0f}, late "
            f"{box['late_blocks']:.0f} (at most {box['most_late_ms']:.0f} ms); the minute before "
            f"without it: {box['control_blocks']:.0f} blocks, late "
            f"{box['control_late_blocks']:.0f} (at most {box['control_most_late_ms']:.0f} ms)"
        )


SHIPPED_NAME = "shipped"


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()
