"""Directions in force → per-note offsets of the renderer's style latents.

Each direction adds ``strength × steering vector`` to the latents of the notes it covers,
faded in over one beat from the first note not yet played (so tempo and loudness move on
smoothly from where they are) and, when it ends, faded out over one beat:

- ``here``: to the end of the next bar, then fading back over one bar;
- ``from_now`` / ``until_told``: to the end of the piece (``until_told`` is also what the
  engine keeps for the next piece);
- undo ends the last direction, "back to normal" ends them all, both from the next note on.

Only notes at or after the moment a direction arrives change: the offsets of earlier notes are
left exactly as they were.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from appliance.directions.classes import CLASSES, Scope
from appliance.directions.levels import resolve
from appliance.directions.words import DirectionRequest
from appliance.errors import ApplianceError, reading_model_file

FADE_BEATS = 1.0
HERE_EXTRA_BARS = 1  # "here" holds to the end of the next bar
HERE_FADE_BARS = 1.0


@dataclass(frozen=True)
class SteeringVectors:
    vectors: dict[str, np.ndarray]

    @classmethod
    def load(cls, path: Path) -> SteeringVectors:
        with reading_model_file(
            path, "steering vector file", "run `python -m export.directions fit`"
        ):
            raw = json.loads(path.read_text())
            vectors = {k: np.asarray(v, np.float32) for k, v in raw["vectors"].items()}
        missing = set(CLASSES) - set(vectors)
        if missing:
            raise ApplianceError(f"{path} lacks steering vectors for {sorted(missing)}")
        return cls(vectors)

    @property
    def size(self) -> int:
        return len(next(iter(self.vectors.values())))


@dataclass
class _Active:
    request: DirectionRequest
    start: int  # first note affected
    vector: np.ndarray  # strength × steering vector(s) it stands for
    end: int | None = None  # first note of the fade-out, None while in force


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

    def apply(self, request: DirectionRequest, at: int, played: np.ndarray | None = None) -> None:
        """A direction from note ``at`` on (the first note not yet played). ``played``, the
        expression of the notes before ``at``, lets a level ("andante", "mp", "a tempo",
        "tenuto") move the music towards itself from where it is (:mod:`levels`)."""
        end = None
        if request.scope is Scope.HERE:
            bar = self.notes["bar"]
            last_bar = bar[min(at, len(bar) - 1)] + HERE_EXTRA_BARS
            end = int(np.searchsorted(bar, last_bar, side="right"))
        parts = resolve(request.cls, request.strength, self.notes, played)
        vector = np.zeros(self.vectors.size, np.float32)
        for cls, strength in parts:
            vector += strength * self.vectors.vectors[cls]
        self._active.append(_Active(request, at, vector, end))

    def undo(self, at: int) -> DirectionRequest | None:
        """End the most recent direction still in force, from note ``at`` on."""
        for a in reversed(self._active):
            if a.end is None or a.end > at:
                a.end = at
                return a.request
        return None

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
            down = np.clip(1.0 - (beat[a.end :] - t1) / max(fade, 1e-6), 0, 1)
            w[a.end :] = np.minimum(w[a.end :], down)
        return w

    def _bar_beats(self, at: int) -> float:
        return float(self.notes["ts_num"][at]) if self.notes["ts_num"][at] > 0 else 4.0
