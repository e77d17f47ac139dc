"""Direction labels, the direction classifier over the renderer's latents, and steering vectors.

Labels (per note, one class or none per group) come from the score's markings; where a group has
no marking, from what the human performance did:

- dynamics: the marking in force (ppp→pp, fff→ff); unmarked notes by the bar's mean velocity
  relative to the performance (z-score bins −1.2, −0.5, 0, 0.5, 1.2 → pp … ff);
- dynamic change: hairpins only (unmarked: none);
- tempo: the tempo word (grave/largo/lento → largo, larghetto → adagio, andantino → andante,
  allegretto → moderato, vivace → allegro, prestissimo → presto); unmarked: the performed beat
  rate (beats of the time signature per minute: < 50, 70, 95, 115, 150 → largo … presto);
- tempo change: accelerando / ritardando / a tempo markings (unmarked: none);
- articulation: fermata > accent > staccato > tenuto > legato marks; unmarked notes played much
  shorter than written (log ratio < −0.8) count as staccato, held over (> 0) as legato.

The classifier is one softmax regression per group on the per-note latents (bar, beat and note
latents concatenated) encoded from each human performance. A steering vector of a class is the
mean latent of the notes the classifier finds most likely of that class minus the mean of those
it finds least likely. Classes with an opposite (pp/ff, p/f, crescendo/diminuendo,
accelerando/ritardando, largo/presto, adagio/allegro, legato/staccato) also get the axis they
share: half their own vector minus half the opposite's, both such differences. Which candidate a
class ships — how large a share counts as "most" and "least" likely (5, 10 or 25 %; or the top
10 % against all notes), own vector or axis — is chosen per class on the validation pieces: the
one that moves the rendered music the intended way most often, ties broken by how clearly its
weakest trials still move it (the 10th percentile of the change the intended way)
(:mod:`export.bench_directions` measures it; the test pieces stay unseen until the
benchmark).

    python -m export.directions fit      # writes models_onnx/renderer/directions.json
    python -m export.directions anchors  # writes models_onnx/renderer/descriptor_anchors.npy

The free-form descriptors' phrasings (:mod:`appliance.directions.descriptors`) ship embedded by
the sentence model beside the steering vectors (``descriptor_anchors.npy``, with
``descriptor_anchors.json``: the SHA-256 of the array, of the phrasing table and of the model's
files), so that the box embeds only the request; ``anchors`` rebuilds them after the table or
the sentence model changed.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import track
from rich.table import Table

from appliance.console import run_app
from appliance.directions.classes import GROUPS
from appliance.directions.descriptors import (
    ANCHORS_FILE,
    load_anchors,
    phrasing_texts,
    save_anchors,
)
from appliance.errors import ApplianceError
from appliance.nlp.embedding import DISTRIBUTION, MODEL_FILES, SentenceEmbedder, package_version
from appliance.paths import file_sha256, models_dir
from appliance.render.latent_prior import segment_mean
from appliance.render.neural import NeuralModel
from appliance.render.registry import NEURAL_FOLDER
from appliance.score import markings
from appliance.score.directions import beat_in_quarters
from export.dataset import Record, iter_records

if TYPE_CHECKING:
    from export.bench_directions import Trial

console = Console()
DIRECTIONS_FILE = "directions.json"
MAX_NOTES = 100_000
MAX_TRAIN_PERFORMANCES = 250
NONE = -1

_DYNAMIC_MAP = {
    "ppp": "pp",
    "pp": "pp",
    "p": "p",
    "mp": "mp",
    "mf": "mf",
    "f": "f",
    "ff": "ff",
    "fff": "ff",
}
_TEMPO_MAP = {
    "grave": "largo", "largo": "largo", "lento": "largo", "adagio": "adagio",
    "larghetto": "adagio", "andante": "andante", "andantino": "andante",
    "moderato": "moderato", "allegretto": "moderato", "allegro": "allegro",
    "vivace": "allegro", "presto": "presto", "prestissimo": "presto",
}  # fmt: skip
_DYNAMIC_Z = (-1.2, -0.5, 0.0, 0.5, 1.2)
_TEMPO_BPM = (50.0, 70.0, 95.0, 115.0, 150.0)


def _bar_mean(values: np.ndarray, bar: np.ndarray) -> np.ndarray:
    return segment_mean(values[:, None], bar)[:, 0]


def direction_labels(notes: np.ndarray, expression: np.ndarray) -> dict[str, np.ndarray]:
    """Class index within each group per note (NONE where the group says nothing)."""
    n = len(notes)
    labels = {g: np.full(n, NONE, np.int64) for g in GROUPS}
    dyn = GROUPS["dynamics"]
    marked = notes["dynamic"] >= 0
    for i in np.flatnonzero(marked):
        labels["dynamics"][i] = dyn.index(_DYNAMIC_MAP[markings.DYNAMICS[notes["dynamic"][i]]])
    vel = expression["velocity"].astype(np.float64)
    z = (_bar_mean(vel, notes["bar"]) - vel.mean()) / max(vel.std(), 1e-6)
    labels["dynamics"][~marked] = np.digitize(z[~marked], _DYNAMIC_Z)

    change = labels["dynamic_change"]
    change[notes["crescendo"]] = GROUPS["dynamic_change"].index("crescendo")
    change[notes["diminuendo"] & ~notes["crescendo"]] = GROUPS["dynamic_change"].index("diminuendo")

    tempo = GROUPS["tempo"]
    has_word = notes["tempo_word"] >= 0
    for i in np.flatnonzero(has_word):
        labels["tempo"][i] = tempo.index(_TEMPO_MAP[markings.TEMPO_WORDS[notes["tempo_word"][i]]])
    beat_q = beat_in_quarters(notes["ts_num"], notes["ts_den"])
    bpm = 60.0 / (np.exp(_bar_mean(expression["log_bp"].astype(np.float64), notes["bar"])) * beat_q)
    labels["tempo"][~has_word] = np.digitize(bpm[~has_word], _TEMPO_BPM)

    names = markings.TEMPO_CHANGES
    for name in ("accelerando", "ritardando", "a_tempo"):
        labels["tempo_change"][notes["tempo_change"] == names.index(name)] = GROUPS[
            "tempo_change"
        ].index(name)

    art = labels["articulation"]
    arts = GROUPS["articulation"]
    for name in ("legato", "tenuto", "staccato", "accent", "fermata"):  # later marks win
        art[notes[name]] = arts.index(name)
    unmarked = art == NONE
    log_art = expression["log_art"]
    art[unmarked & (log_art < -0.8)] = arts.index("staccato")
    art[unmarked & (log_art > 0.0)] = arts.index("legato")
    return labels


@dataclass
class LatentSet:
    latents: np.ndarray  # (n, z)
    labels: dict[str, np.ndarray]

    def sample(self, limit: int, seed: int = 0) -> LatentSet:
        """At most ``limit`` notes, drawn at random (fitting on millions of notes adds little)."""
        if len(self.latents) <= limit:
            return self
        keep = np.random.default_rng(seed).choice(len(self.latents), limit, replace=False)
        return LatentSet(self.latents[keep], {g: v[keep] for g, v in self.labels.items()})


def latent_set(model: NeuralModel, records: list[Record], matched_only: bool = True) -> LatentSet:
    zs, labels = [], {g: [] for g in GROUPS}  # type: ignore[var-annotated]
    for r in track(records, description="encoding performances"):
        z = model.encode(r.notes, r.expression)
        lab = direction_labels(r.notes, r.expression)
        keep = r.matched if matched_only else np.ones(len(r.notes), bool)
        zs.append(z[keep])
        for g in GROUPS:
            labels[g].append(lab[g][keep])
    return LatentSet(np.concatenate(zs), {g: np.concatenate(v) for g, v in labels.items()})


@dataclass
class Softmax:
    """Multinomial logistic regression (with a 'none' class last) fitted by gradient descent."""

    weights: np.ndarray  # (z + 1, k + 1)

    @classmethod
    def fit(
        cls, x: np.ndarray, y: np.ndarray, k: int, steps: int = 200, l2: float = 1e-3
    ) -> Softmax:
        y = np.where(y < 0, k, y)
        xb = np.concatenate([x, np.ones((len(x), 1), x.dtype)], axis=1).astype(np.float64)
        onehot = np.eye(k + 1)[y]
        counts = onehot.sum(axis=0)
        sample_w = (1.0 / np.maximum(counts, 1))[y]  # balanced classes
        sample_w /= sample_w.sum()
        w = np.zeros((xb.shape[1], k + 1))
        lr = 1.0
        for _ in range(steps):
            p = _softmax(xb @ w)
            grad = xb.T @ ((p - onehot) * sample_w[:, None]) + l2 * w
            w -= lr * grad
        return cls(w)

    def proba(self, x: np.ndarray) -> np.ndarray:
        xb = np.concatenate([x, np.ones((len(x), 1), x.dtype)], axis=1)
        return _softmax(xb.astype(np.float64) @ self.weights)


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return np.asarray(e / e.sum(axis=1, keepdims=True))


def macro_f1(y: np.ndarray, pred: np.ndarray, k: int) -> float:
    scores = []
    for c in range(k + 1):
        tp = np.sum((pred == c) & (y == c))
        fp = np.sum((pred == c) & (y != c))
        fn = np.sum((pred != c) & (y == c))
        if tp + fn == 0:
            continue
        scores.append(2 * tp / max(2 * tp + fp + fn, 1))
    return float(np.mean(scores)) if scores else 0.0


def fit(
    model: NeuralModel,
    folder: Path | None = None,
    splits: tuple[str | None, str | None, str | None] = ("train", "test", "validation"),
) -> dict[str, Any]:
    """Classifier figures per group on the second split, steering vectors from the first,
    their tail share chosen on the third."""
    records = list(iter_records(splits[0], folder=folder))
    if len(records) > MAX_TRAIN_PERFORMANCES:
        pick = np.random.default_rng(0).choice(len(records), MAX_TRAIN_PERFORMANCES, replace=False)
        records = [records[i] for i in sorted(pick)]
    train = latent_set(model, records).sample(MAX_NOTES)
    test = latent_set(model, list(iter_records(splits[1], folder=folder))).sample(MAX_NOTES)
    report: dict[str, Any] = {"groups": {}, "vectors": {}}
    candidates: dict[str, list[np.ndarray]] = {}
    for group, classes in GROUPS.items():
        k = len(classes)
        clf = Softmax.fit(train.latents, train.labels[group], k)
        y = np.where(test.labels[group] < 0, k, test.labels[group])
        train_y = np.where(train.labels[group] < 0, k, train.labels[group])
        prior = np.bincount(train_y, minlength=k + 1) / len(train_y)
        proba = clf.proba(test.latents)
        # Fitted class-balanced, the classifier favours no class; the accuracy decision weighs
        # its probabilities by the training frequencies again (Bayes' rule under the prior).
        balanced = proba.argmax(axis=1)
        weighted = (proba * prior).argmax(axis=1)
        majority = int(prior.argmax())
        report["groups"][group] = {
            "classes": [*classes, "none"],
            "accuracy": float(np.mean(weighted == y)),
            "macro_f1": macro_f1(y, balanced, k),
            "balanced_accuracy_decision": float(np.mean(balanced == y)),
            "weighted_macro_f1": macro_f1(y, weighted, k),
            "majority_accuracy": float(np.mean(y == majority)),
            "majority_macro_f1": macro_f1(y, np.full_like(y, majority), k),
        }
        proba = clf.proba(train.latents)
        for c, name in enumerate(classes):
            candidates[name] = steering_candidates(train.latents, proba[:, c])
    for a, b in OPPOSITES:
        own_a, own_b = candidates[a][: len(TAILS)], candidates[b][: len(TAILS)]
        candidates[a] += [(x - y) / 2 for x, y in zip(own_a, own_b, strict=True)]
        candidates[b] += [(y - x) / 2 for x, y in zip(own_a, own_b, strict=True)]
    chosen, shares, effects = calibrate(model, candidates, folder, splits[2])
    for name, k in chosen.items():
        report["vectors"][name] = [float(v) for v in candidates[name][k]]
    report["tails"] = {name: TAILS[k % len(TAILS)] for name, k in chosen.items()}
    report["axis"] = {name: k >= len(TAILS) for name, k in chosen.items()}
    report["validation_intended"] = shares
    report["effects"] = effects
    return report


# Shares of the most / least likely notes a steering vector compares; 1.0 on the low side means
# "all notes" (the most likely notes against the average: for middle levels such as andante or
# mp, whose least likely notes lie on both sides, that is the direction that means something).
TAILS = (0.05, 0.10, 0.25, 1.0)
CALIBRATION_TRIALS = 20
OPPOSITES = (
    ("pp", "ff"),
    ("p", "f"),
    ("crescendo", "diminuendo"),
    ("accelerando", "ritardando"),
    ("largo", "presto"),
    ("adagio", "allegro"),
    ("legato", "staccato"),
)


def steering_candidates(latents: np.ndarray, likelihood: np.ndarray) -> list[np.ndarray]:
    """Per tail share: mean latent of the most likely notes minus that of the least likely."""
    order = np.argsort(likelihood)
    out = []
    for share in TAILS:
        high = max(int(len(order) * min(share, 0.10 if share == 1.0 else share)), 1)
        low = max(int(len(order) * share), 1)
        out.append(latents[order[-high:]].mean(axis=0) - latents[order[:low]].mean(axis=0))
    return out


EFFECT_FEATURES = ("velocity", "beat_period", "articulation")


def effects_of(results: list[Trial]) -> dict[str, dict[str, float]]:
    """Per class, the median change of velocity, ln beat period and ln duration ratio over
    the two bars after it at strength 1 (what a level needs to know to reach itself)."""
    out: dict[str, dict[str, float]] = {}
    for name in dict.fromkeys(t.cls for t in results):
        rows = [t for t in results if t.cls == name and t.strength == 1.0]
        if rows:
            out[name] = {f: float(np.median([t.delta[f] for t in rows])) for f in EFFECT_FEATURES}
    return out


def calibrate(
    model: NeuralModel,
    candidates: dict[str, list[np.ndarray]],
    folder: Path | None,
    split: str | None,
    trials: int = CALIBRATION_TRIALS,
) -> tuple[dict[str, int], dict[str, float], dict[str, dict[str, float]]]:
    """Per class, the candidate that goes the intended way most often on ``split``'s pieces
    (ties: the one whose weakest trials are furthest from failing); also that share of trials
    and the chosen vector's effects."""
    from appliance.directions.steer import SteeringVectors
    from appliance.render.neural import NeuralRenderer
    from export.bench_directions import run_trials
    from export.evaluate import pieces

    by_piece = pieces(split, folder)
    if not by_piece:
        return {name: 1 for name in candidates}, {}, {}
    renderer = NeuralRenderer(model)
    scores: dict[str, list[tuple[float, float]]] = {name: [] for name in candidates}
    effects: dict[str, list[dict[str, float]]] = {name: [] for name in candidates}
    count = max(len(c) for c in candidates.values())
    for k in track(range(count), description="trying steering vector candidates"):
        names = tuple(name for name, c in candidates.items() if k < len(c))
        vectors = SteeringVectors(
            {name: c[min(k, len(c) - 1)].astype(np.float32) for name, c in candidates.items()}
        )
        results = run_trials(renderer, vectors, by_piece, (1.0,), trials, seed=k, classes=names)
        measured = effects_of(results)
        for name in names:
            rows = [t for t in results if t.cls == name]
            scores[name].append(_score(rows))
            effects[name].append(measured.get(name, {}))
    chosen = {name: max(range(len(r)), key=r.__getitem__) for name, r in scores.items()}
    return (
        chosen,
        {name: scores[name][k][0] for name, k in chosen.items()},
        {name: effects[name][k] for name, k in chosen.items() if effects[name][k]},
    )


def _score(rows: list[Trial]) -> tuple[float, float]:
    """(share of trials going the intended way, 10th percentile of the change the intended
    way): the larger the better, in that order — the second favours vectors whose weakest
    trials still move the music clearly (candidates of one class share its units)."""
    from export.bench_directions import INTENT

    if not rows:
        return (0.0, -np.inf)
    name, sign = INTENT[rows[0].cls]
    change = np.array([t.delta[name] * sign for t in rows])
    return (float(np.mean([t.intended for t in rows])), float(np.quantile(change, 0.1)))


def measure_effects(
    model: NeuralModel, path: Path, folder: Path | None = None, split: str = "validation"
) -> dict[str, dict[str, float]]:
    """The effects of the steering vectors stored in ``path``, measured on ``split``."""
    from appliance.directions.steer import SteeringVectors
    from appliance.render.neural import NeuralRenderer
    from export.bench_directions import run_trials
    from export.evaluate import pieces

    vectors = SteeringVectors(SteeringVectors.load(path).vectors)  # levels: default effects
    results = run_trials(
        NeuralRenderer(model), vectors, pieces(split, folder), (1.0,), CALIBRATION_TRIALS
    )
    return effects_of(results)


app = typer.Typer(add_completion=False, help=__doc__)


@app.command("fit")
def fit_cmd(
    models: Path = typer.Option(None, help="folder holding renderer/ (default: models_onnx)"),
) -> None:
    """Fit the classifier, print its test figures, write the steering vectors."""
    folder = (models or models_dir()) / NEURAL_FOLDER
    report = fit(NeuralModel(folder))
    (folder / DIRECTIONS_FILE).write_text(json.dumps(report, indent=1) + "\n")
    _print(report)
    console.print(f"wrote {folder / DIRECTIONS_FILE}")


def write_anchors(folder: Path) -> tuple[Path, int, float]:
    """Embed every descriptor phrasing (in a few batches) with the installed sentence model and
    store them in ``folder``; the file, the number of phrasings and the seconds it took."""
    embedder = SentenceEmbedder()
    texts = phrasing_texts()
    started = time.perf_counter()
    anchors = embedder.embed_many(texts)
    seconds = time.perf_counter() - started
    sums = {name: file_sha256(embedder.folder / name) for name in MODEL_FILES}
    model = {"package": DISTRIBUTION, "version": package_version(), "sha256": sums}
    path = folder / ANCHORS_FILE
    save_anchors(path, anchors, texts, model)
    load_anchors(path, texts, sums)  # what the box will check
    return path, len(texts), seconds


@app.command("anchors")
def anchors_cmd(
    models: Path = typer.Option(None, help="folder holding renderer/ (default: models_onnx)"),
) -> None:
    """Embed the free-form descriptors' phrasings with the sentence model and write them beside
    the steering vectors (the box then embeds only the request)."""
    path, count, seconds = write_anchors((models or models_dir()) / NEURAL_FOLDER)
    console.print(f"wrote {count} phrasing embeddings ({seconds:.1f} s) to {path}")


@app.command("effects")
def effects_cmd(
    models: Path = typer.Option(None, help="folder holding renderer/ (default: models_onnx)"),
) -> None:
    """Measure the stored steering vectors' effects on the validation pieces (what levels such
    as "mp" or "andante" use to reach themselves) and store them in the file."""
    folder = (models or models_dir()) / NEURAL_FOLDER
    path = folder / DIRECTIONS_FILE
    if not path.exists():
        raise ApplianceError(f"{path} is missing: run `python -m export.directions fit`")
    report = json.loads(path.read_text())
    report["effects"] = measure_effects(NeuralModel(folder), path)
    path.write_text(json.dumps(report, indent=1) + "\n")
    console.print(f"wrote the effects of {len(report['effects'])} classes to {path}")


@app.command("show")
def show_cmd(models: Path = typer.Option(None, help="folder holding renderer/")) -> None:
    """Print the classifier's test figures stored with the steering vectors."""
    path = (models or models_dir()) / NEURAL_FOLDER / DIRECTIONS_FILE
    if not path.exists():
        raise ApplianceError(f"{path} is missing: run `python -m export.directions fit`")
    _print(json.loads(path.read_text()))


def _print(report: dict[str, Any]) -> None:
    table = Table(title="direction classifier on the test split (per note)")
    cols = ("group", "accuracy", "majority", "macro-F1", "majority macro-F1")
    for col in cols:
        table.add_column(col, justify="right")
    for group, m in report["groups"].items():
        table.add_row(
            group,
            f"{m['accuracy']:.3f}",
            f"{m['majority_accuracy']:.3f}",
            f"{m['macro_f1']:.3f}",
            f"{m['majority_macro_f1']:.3f}",
        )
    console.print(table)
    console.print(
        "accuracy: decision weighted by the training class frequencies; macro-F1: the "
        "class-balanced decision (the one the steering vectors come from)",
        style="dim",
    )
    shares = report.get("validation_intended")
    if shares:
        console.print(
            "steering tail share per class (validation share of trials going the intended way): "
            + ", ".join(f"{c} {report['tails'][c]:.0%} ({v:.0%})" for c, v in shares.items())
        )


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()
