"""The one interface every renderer implements, and the stream that drives it.

A renderer is asked again and again for the expression of the next notes, given the score's
note table, a style and the expression of the notes already performed. The real-time engine
(and ``appliance render``) drive it through :class:`PerformanceStream`, which realises the
expression into timed notes and can take back notes not yet played to re-render them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np

from appliance.render.expression import (
    EXPRESSION_DTYPE,
    PERFORMED_DTYPE,
    TimingState,
    realise,
    state_after,
)
from appliance.score.notes import Score, onset_groups


@dataclass(frozen=True, eq=False)
class Style:
    """How to play.

    ``seed`` fixes a sampled style; ``vector`` is added to every note's style latents (a style
    set from a latent vector); ``latents`` gives every note's
    latents outright (for example encoded from a human performance); ``offsets`` are added per
    note (directions, see :mod:`appliance.directions.steer`); ``temperature`` scales the
    randomness of sampled expression and ``spread`` how far a sampled style strays from the
    score's most likely style (0: always that one; None: the renderer's default). Renderers
    without latents ignore what they cannot use.
    """

    seed: int | None = None
    vector: tuple[float, ...] | None = None
    latents: np.ndarray | None = None
    offsets: np.ndarray | None = None
    temperature: float | None = None
    spread: float | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Style):
            return NotImplemented
        return (
            self.seed == other.seed
            and self.vector == other.vector
            and self.temperature == other.temperature
            and self.spread == other.spread
            and _same_array(self.latents, other.latents)
            and _same_array(self.offsets, other.offsets)
        )

    def __hash__(self) -> int:
        return hash((self.seed, self.vector, self.temperature, self.spread))

    def with_offsets(self, offsets: np.ndarray | None) -> Style:
        return replace(self, offsets=offsets)


def _same_array(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is b
    return a is b or (a.shape == b.shape and np.array_equal(a, b))


class Renderer(ABC):
    """Score features + style + past performance → expression of the next notes."""

    name: ClassVar[str]
    # whether it takes per-note latent offsets (``Style.offsets``): directions need it
    steerable: ClassVar[bool] = False

    @abstractmethod
    def expression(
        self, notes: np.ndarray, style: Style, performed: np.ndarray, stop: int
    ) -> np.ndarray:
        """Expression (EXPRESSION_DTYPE) of ``notes[len(performed):stop]``.

        ``performed`` is the expression of ``notes[:len(performed)]`` as already rendered.
        Renderers must not look at the expression of notes they are not asked for.
        """


@dataclass
class Performance:
    """A rendered (or human) performance of a score: per-note expression and timing."""

    notes: np.ndarray
    expression: np.ndarray = field(default_factory=lambda: np.zeros(0, EXPRESSION_DTYPE))
    performed: np.ndarray = field(default_factory=lambda: np.zeros(0, PERFORMED_DTYPE))


class PerformanceStream:
    """Renders a score in chunks of whole onset groups, keeping what has been rendered."""

    def __init__(self, renderer: Renderer, score: Score, style: Style) -> None:
        self.renderer = renderer
        self.score = score
        self.style = style
        self._group, self._group_starts = onset_groups(score.notes)
        self._group_ends = np.append(self._group_starts[1:], len(score.notes))
        self._expression = np.zeros(0, EXPRESSION_DTYPE)
        self._performed = np.zeros(0, PERFORMED_DTYPE)
        self._state: TimingState | None = None  # timing after the last rendered group

    @property
    def rendered(self) -> int:
        return len(self._expression)

    @property
    def performed(self) -> np.ndarray:
        """Timing of the notes rendered so far (a read-only view, no copy)."""
        view = self._performed.view()
        view.flags.writeable = False
        return view

    @property
    def expression(self) -> np.ndarray:
        """Expression of the notes rendered so far (a read-only view, no copy)."""
        view = self._expression.view()
        view.flags.writeable = False
        return view

    @property
    def done(self) -> bool:
        return self.rendered >= len(self.score.notes)

    def render_next(self, count: int) -> np.ndarray:
        """Render at least ``count`` more notes (up to a whole onset group); return their timing."""
        start = self.rendered
        if start >= len(self.score.notes) or count <= 0:
            return np.zeros(0, PERFORMED_DTYPE)
        last = min(start + count, len(self.score.notes)) - 1
        stop = int(self._group_ends[self._group[last]])
        expr = self.renderer.expression(self.score.notes, self.style, self._expression, stop)
        if len(expr) != stop - start:
            raise RuntimeError(
                f"{self.renderer.name} returned {len(expr)} notes, not {stop - start}"
            )
        timing, self._state = realise(self.score.notes[start:stop], expr, self._state)
        self._expression = np.concatenate([self._expression, expr])
        self._performed = np.concatenate([self._performed, timing])
        return timing

    def render_to(self, stop: int) -> None:
        """Render until at least ``stop`` notes are rendered (or the score ends)."""
        while self.rendered < min(stop, len(self.score.notes)):
            self.render_next(stop - self.rendered)

    def rewind(self, keep: int) -> int:
        """Forget rendered notes from the first onset-group boundary at or after ``keep``.

        Returns how many notes stay rendered; the engine re-renders the rest (for example with a
        new style) so that only notes not yet played change.
        """
        if keep >= self.rendered:
            return self.rendered
        g = int(np.searchsorted(self._group_starts, keep, side="left"))
        cut = int(self._group_starts[g]) if g < len(self._group_starts) else self.rendered
        if cut >= self.rendered:
            return self.rendered
        self._expression = self._expression[:cut]
        self._performed = self._performed[:cut]
        if cut == 0:
            self._state = None
        else:
            a = int(self._group_starts[self._group[cut - 1]])
            self._state = state_after(
                self.score.notes[a:cut], self._expression[a:cut], self._performed["onset"][a:cut]
            )
        return cut

    def performance(self) -> Performance:
        n = self.rendered
        return Performance(self.score.notes[:n], self._expression.copy(), self._performed.copy())


def render_all(renderer: Renderer, score: Score, style: Style, chunk: int = 64) -> Performance:
    """Render a whole score, in streaming chunks as the engine would."""
    stream = PerformanceStream(renderer, score, style)
    while not stream.done:
        stream.render_next(chunk)
    return stream.performance()
