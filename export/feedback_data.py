"""What listeners said, turned into training material for a fine-tune (:mod:`export.finetune`).

Each piece of feedback in the box's memory names the performance it was about (the piece, the
style's seed and the directions in force when it started) and the bar it was given at. The
performance is rendered again by the parent model with that seed and those directions (as
latent offsets, :func:`in_force_offsets`), and the notes of the last ``BARS`` bars up to that
bar become one :class:`Item`:

- **like** (👍, "more like that"): the rendering itself is the target — play like this;
- **too fast / too slow / too loud / too soft / too staccato / too legato**: the rendering with
  that one feature moved the way the listener asked (``SHIFT``) is the target;
- **dislike** (👎): no target; the rendering is something to move away from.

Feedback about a piece this library does not have, or with no performance, is left out (and
counted).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from appliance.directions.classes import Scope
from appliance.directions.gentle import ASPECT_OF_KIND
from appliance.directions.steer import Steering, SteeringVectors
from appliance.directions.words import DirectionRequest
from appliance.errors import ApplianceError
from appliance.library.catalog import Library
from appliance.render.base import Style, render_all
from appliance.render.expression import EXPRESSION_DTYPE
from appliance.render.neural import NeuralRenderer
from appliance.score.notes import Score
from appliance.store.rows import FeedbackRow, PerformanceRow
from appliance.store.store import Store

BARS = 4  # bars up to the one the feedback was given at
# (feature, want) → (expression field, change in its own units): what "a little" means
SHIFT: dict[tuple[str, str], tuple[str, float]] = {
    ("tempo", "less"): ("log_bp", +0.12),  # 12 % longer beats
    ("tempo", "more"): ("log_bp", -0.12),
    ("dynamics", "less"): ("velocity", -8.0),
    ("dynamics", "more"): ("velocity", +8.0),
    ("articulation", "less"): ("log_art", +0.2),  # longer notes: less detached
    ("articulation", "more"): ("log_art", -0.2),
}
POSITIVE, NEGATIVE = 1.0, -1.0


@dataclass(frozen=True, eq=False)
class Item:
    """One piece of feedback as training material."""

    kind: str
    notes: np.ndarray  # the whole score's note table
    seed: int
    rated: np.ndarray  # bool per note: the notes the feedback is about
    target: np.ndarray  # EXPRESSION_DTYPE per note: what to play (the rendering elsewhere)
    sign: float  # POSITIVE: move towards the target; NEGATIVE: away from the rendering
    offsets: np.ndarray | None = None  # latent offsets of the directions in force (per note)


@dataclass
class Gathered:
    items: list[Item]
    left_out: Counter[str]  # why feedback was not used


def target_of(kind: str, rendered: np.ndarray, rated: np.ndarray) -> tuple[np.ndarray, float]:
    """(target expression, sign) of one kind of feedback about a rendering."""
    target = rendered.copy()
    if kind == "like":
        return target, POSITIVE
    if kind == "dislike":
        return target, NEGATIVE
    aspect = ASPECT_OF_KIND.get(kind)
    if aspect is None:
        raise ValueError(f"unknown feedback kind {kind!r}")
    name, change = SHIFT[aspect]
    target[name][rated] += change
    return target, POSITIVE


def rated_notes(notes: np.ndarray, bar: int, bars: int = BARS) -> np.ndarray:
    """The notes of the ``bars`` bars (as written) up to and including ``bar``; the last bars
    of the piece when ``bar`` is not in it."""
    numbers = notes["bar_number"]
    if bar <= 0 or not (numbers == bar).any():
        bar = int(numbers.max())
    return (numbers <= bar) & (numbers > bar - bars)


def in_force_offsets(
    notes: np.ndarray, directions: list[object], vectors: SteeringVectors | None
) -> np.ndarray | None:
    """The latent offsets of the directions a performance row says were in force (each
    ``[class, strength, scope]``, from the first note), as the box's steering makes them; None
    when there are none (or no vectors). A direction the vectors do not know is passed over."""
    if vectors is None or not directions:
        return None
    steering = Steering(notes, vectors)
    for entry in directions:
        if not isinstance(entry, (list, tuple)) or len(entry) != 3:
            continue
        try:
            request = DirectionRequest(str(entry[0]), float(entry[1]), Scope(entry[2]))
            steering.apply(request, 0)
        except (TypeError, ValueError, KeyError, ApplianceError):
            continue
    offsets = steering.offsets()
    return offsets if offsets.any() else None


def gather(
    store: Store,
    library: Library,
    renderer: NeuralRenderer,
    vectors: SteeringVectors | None = None,
) -> Gathered:
    """Every usable piece of feedback in ``store`` as an :class:`Item` (renderings made with
    ``renderer`` and the directions in force steered by ``vectors``, cached per
    performance)."""
    left_out: Counter[str] = Counter()
    items: list[Item] = []
    rendered: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray | None]] = {}
    for fb in store.all(FeedbackRow):
        if fb.performance_id is None:
            left_out["no performance named"] += 1
            continue
        perf = store.get(PerformanceRow, fb.performance_id)
        if perf is None:
            left_out["its performance is not in the memory"] += 1
            continue
        if fb.kind not in ASPECT_OF_KIND and fb.kind not in ("like", "dislike"):
            left_out[f"kind {fb.kind!r} is not used"] += 1
            continue
        if perf.id not in rendered:
            try:
                rendered[perf.id] = _render(perf, library, renderer, vectors)
            except ApplianceError as exc:
                left_out[f"piece not playable here ({exc})"[:120]] += 1
                continue
        notes, expression, offsets = rendered[perf.id]
        rated = rated_notes(notes, fb.bar)
        target, sign = target_of(fb.kind, expression, rated)
        items.append(Item(fb.kind, notes, perf.seed or 0, rated, target, sign, offsets))
    return Gathered(items, left_out)


def _render(
    perf: PerformanceRow,
    library: Library,
    renderer: NeuralRenderer,
    vectors: SteeringVectors | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    piece = library.pieces.get(perf.piece_id)
    if piece is None:
        raise ApplianceError(f"no piece {perf.piece_id!r} in this library")
    score = library.load(piece)
    offsets = in_force_offsets(score.notes, list(perf.directions), vectors)
    style = Style(seed=perf.seed, offsets=offsets)
    done = render_all(renderer, Score(notes=score.notes, title=piece.title), style)
    expression = np.asarray(done.expression, EXPRESSION_DTYPE)
    return score.notes, expression, offsets
