"""Directions in force → per-note offsets of the renderer's style latents.

Each direction adds ``strength × steering vector`` to the latents of the notes it covers,
faded in over two beats from the first note not yet played (so tempo and loudness move on
smoothly from where they are) and, when it ends, faded out over two beats:

- ``here``: to the end of the next bar, then fading back over one bar;
- ``from_now`` / ``until_told``: to the end of the piece (``until_told`` is also what the
  engine keeps for the next piece);
- undo ends the last direction, "back to normal" ends them all, both from the next note on;
- "a tempo" ends the tempo directions in force (the renderer's own tempo is the piece's); with
  none in force it moves the tempo back towards that of the music played so far (a level).

Levels ("mp", "andante", …) are resolved from where the music is (:mod:`levels`), using what
was played and, better, what is about to be played without the new direction (``planned``).

Only notes at or after the moment a direction arrives change: the offsets of earlier notes are
left exactly as they were.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from appliance.directions.classes import CLASSES, GROUP_OF, Scope
from appliance.directions.levels import Effects, Move, moves, refine, span_value
from appliance.directions.words import DirectionRequest
from appliance.errors import ApplianceError, reading_model_file

FADE_BEATS = 2.0
REFINE_STEPS = 2  # previews per level at most
REFINE_DONE = 0.1  # a correction smaller than this share of the strength ends them
Preview = Callable[[np.ndarray], np.ndarray]  # latent offsets → expression of planned notes
HERE_EXTRA_BARS = 1  # "here" holds to the end of the next bar
HERE_FADE_BARS = 1.0


TEMPO_CLASSES = frozenset(
    c for c in CLASSES if GROUP_OF[c] in ("tempo", "tempo_change") or c == "fermata"
)


@dataclass(frozen=True)
class SteeringVectors:
    vectors: dict[str, np.ndarray]
    # class → feature ("velocity", "beat_period", "articulation") → change per unit strength
    effects: Effects | None = None

    @classmethod
    def load(cls, path: Path) -> SteeringVectors:
        with reading_model_file(
            path, "steering vector file", "run `python -m export.directions fit`"
        ):
            raw = json.loads(path.read_text())
            vectors = {k: np.asarray(v, np.float32) for k, v in raw["vectors"].items()}
            effects = raw.get("effects")
        missing = set(CLASSES) - set(vectors)
        if missing:
            raise ApplianceError(f"{path} lacks steering vectors for {sorted(missing)}")
        return cls(vectors, effects)

    @property
    def size(self) -> int:
        return len(next(iter(self.vectors.values())))


@dataclass
class _Active:
    request: DirectionRequest
    start: int  # first note affected
    vector: np.ndarray  # strength × steering vector(s) it stands for
    end: int | None = None  # first note of the fade-out, None while in force
    ended: list[_Active] = field(default_factory=list)  # what "a tempo" ended (for undo)


class Steering:
    """The directions applied to one score, as latent offsets per note."""

    def __init__(self, notes: np.ndarray, vectors: SteeringVectors) -> None:
        self.notes = notes
        self.vectors = vectors
        self._active: list[_Active] = []
        beat = notes["onset_beat"].astype(np.float64)
        self._beat = beat

    @property
    def active(self) -> list[DirectionRequest]:
        return [a.request for a in self._active if a.end is None]

    def apply(
        self,
        request: DirectionRequest,
        at: int,
        played: np.ndarray | None = None,
        planned: np.ndarray | None = None,
        preview: Preview | None = None,
    ) -> None:
        """A direction from note ``at`` on (the first note not yet played). ``played``, the
        expression of the notes before ``at``, and ``planned``, that of the notes from ``at``
        on as they would sound without it, let a level ("andante", "mp", "a tempo", "tenuto")
        move the music towards itself from where it is (:mod:`levels`); ``preview`` (latent
        offsets → expression of the planned notes) lets it check how far it got and correct."""
        end = None
        if request.scope is Scope.HERE:
            bar = self.notes["bar"]
            last_bar = bar[min(at, len(bar) - 1)] + HERE_EXTRA_BARS
            end = int(np.searchsorted(bar, last_bar, side="right"))
        if request.cls == "a_tempo" and request.strength > 0:
            ended = self._end_tempo(at)
            if ended:  # back to the renderer's own tempo for the piece
                vector = np.zeros(self.vectors.size, np.float32)
                self._active.append(_Active(request, at, vector, end, ended))
                return
        parts = moves(
            request.cls, request.strength, self.notes, played, planned, self.vectors.effects
        )
        aimed = len(parts) == 1 and parts[0].feature is not None
        if aimed and preview is not None and planned is not None and len(planned):
            parts = [
                self._refined(parts[0], _Active(request, at, self._vector(parts), end), preview)
            ]
        self._active.append(_Active(request, at, self._vector(parts), end))

    def _vector(self, parts: list[Move]) -> np.ndarray:
        vector = np.zeros(self.vectors.size, np.float32)
        for m in parts:
            vector += m.strength * self.vectors.vectors[m.cls]
        return vector

    def _refined(self, move: Move, trial: _Active, preview: Preview) -> Move:
        """``move``'s strength corrected by rendering the planned notes with it (a level
        lands near itself wherever the vector acts more or less strongly than on average)."""
        base = self.offsets()
        for _ in range(REFINE_STEPS):
            trial.vector = self._vector([move])
            assert move.feature is not None
            got = span_value(
                move.feature, preview(base + self._weight(trial)[:, None] * trial.vector)
            )
            better = refine(move, got - move.current)
            if abs(better.strength - move.strength) <= REFINE_DONE * abs(move.strength):
                return better
            move = better
        return move

    def undo(self, at: int) -> DirectionRequest | None:
        """End the most recent direction still in force, from note ``at`` on."""
        for a in reversed(self._active):
            if a.end is None or a.end > at:
                a.end = at
                # undoing "a tempo" brings back what it ended, from here on
                self._active.extend(_Active(e.request, at, e.vector) for e in a.ended)
                return a.request
        return None

    def _end_tempo(self, at: int) -> list[_Active]:
        """End every tempo direction in force from note ``at`` on; those it ended."""
        ended = []
        for a in self._active:
            if a.request.cls in TEMPO_CLASSES and (a.end is None or a.end > at):
                a.end = at
                ended.append(a)
        return ended

    def restart(self, at: int) -> None:
        """The performance starts again at note ``at`` (stop and play, a seek back): directions
        still in force that were given later hold from ``at`` on; passing ones ("here") and
        those already ended there are dropped. Only "back to normal" clears them all."""
        kept = []
        for a in self._active:
            if a.start <= at:
                kept.append(a)
            elif a.end is None and a.request.scope is not Scope.HERE:
                a.start = at
                kept.append(a)
        self._active = kept

    def reset(self, at: int) -> None:
        """Back to normal: end every direction from note ``at`` on."""
        for a in self._active:
            if a.end is None or a.end > at:
                a.end = at

    def offsets(self) -> np.ndarray:
        """(n_notes × latent size) offsets of every direction applied so far."""
        out = np.zeros((len(self.notes), self.vectors.size), np.float32)
        for a in self._active:
            out += self._weight(a)[:, None] * a.vector[None]
        return out

    def _weight(self, a: _Active) -> np.ndarray:
        n = len(self.notes)
        w = np.zeros(n)
        if a.start >= n:
            return w
        beat = self._beat
        t0 = beat[a.start]
        w[a.start :] = np.clip((beat[a.start :] - t0) / FADE_BEATS + 1.0 / (FADE_BEATS * 4), 0, 1)
        if a.end is not None and a.end < n:
            fade = (
                FADE_BEATS
                if a.request.scope is not Scope.HERE
                else HERE_FADE_BARS * self._bar_beats(a.end)
            )
            t1 = beat[a.end]
            fade = max(fade, 1e-6)  # like the fade-in, the first note is a quarter beat in
            down = np.clip(1.0 - (beat[a.end :] - t1) / fade - 1.0 / (fade * 4), 0, 1)
            w[a.end :] = np.minimum(w[a.end :], down)
        return w

    def _bar_beats(self, at: int) -> float:
        return float(self.notes["ts_num"][at]) if self.notes["ts_num"][at] > 0 else 4.0
