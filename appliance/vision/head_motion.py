"""Nods and shakes from the head's pitch and yaw over time (pure).

Absolute angles from one camera are unreliable (they come out smaller than the true rotation,
and people hold phones at all angles), so only motion counts. Each angle goes through a
turning-point detector with a dead band: a maximum is confirmed once the angle has come back
down by ``BAND`` degrees from it, a minimum once it has gone up by as much — noise smaller than
the band makes no turning points, and a slow drift makes none either.

- **Nod**: the pitch swings (each swing at least ``NOD_SWING`` degrees between turning points)
  while the yaw stays calmer. Each bottom of a nod is a beat; with ``NOD_BEATS`` beats whose
  intervals agree within ``REGULAR``, the nodding rate is the median interval's rate — the
  beat the music is asked to follow. The rate lasts ``NOD_HOLD`` seconds after the last beat.
- **Shake**: the yaw swings left-right-left (three turning points, each swing at least
  ``SHAKE_SWING`` degrees, all within ``SHAKE_WITHIN`` seconds) while the pitch stays calmer:
  one "no". After a shake, ``REFRACTORY`` seconds pass before the next can count.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass

import numpy as np

BAND = 1.5  # degrees: the dead band of the turning-point detector
NOD_SWING = 3.0  # degrees between a nod's top and bottom at least (as measured)
SHAKE_SWING = 5.0
SHAKE_WITHIN = 1.6  # seconds for left-right-left
NOD_BEATS = 3  # bottoms needed before a rate is given
REGULAR = 0.3  # intervals within this share of their median
MIN_RATE, MAX_RATE = 0.5, 3.5  # nods per second that count as a beat
NOD_HOLD = 1.5  # seconds a rate lasts after the last beat
REFRACTORY = 1.5


@dataclass(frozen=True)
class Turn:
    t: float
    value: float
    top: bool  # a maximum (else a minimum)


class Turns:
    """Turning points of one angle, confirmed with a dead band; each turn's time is refined
    between frames by a parabola through the extreme sample and its two neighbours."""

    def __init__(self, band: float = BAND) -> None:
        self.band = band
        self.turns: deque[Turn] = deque(maxlen=16)
        self._extreme: tuple[float, float] | None = None  # (t, value) of the running extreme
        self._before: tuple[float, float] | None = None  # the sample before it
        self._after: tuple[float, float] | None = None  # the sample after it
        self._last: tuple[float, float] | None = None
        self._rising: bool | None = None

    def add(self, t: float, value: float) -> Turn | None:
        last, self._last = self._last, (t, value)
        if self._extreme is None:
            self._extreme = (t, value)
            return None
        et, ev = self._extreme
        if self._rising is None:
            if abs(value - ev) >= self.band:
                self._rising = value > ev
                self._extreme, self._before, self._after = (t, value), last, None
            return None
        if (value > ev) == self._rising and value != ev:
            self._extreme, self._before, self._after = (t, value), last, None  # still going on
            return None
        if self._after is None:
            self._after = (t, value)
        if abs(value - ev) < self.band:
            return None
        turn = Turn(_vertex(self._before, (et, ev), self._after), ev, top=self._rising)
        self.turns.append(turn)
        self._rising = not self._rising
        self._extreme, self._before, self._after = (t, value), last, None
        return turn


def _vertex(
    before: tuple[float, float] | None, at: tuple[float, float], after: tuple[float, float] | None
) -> float:
    """The time of the extreme of the parabola through three samples (``at``'s time when a
    neighbour is missing or the three make no parabola)."""
    if before is None or after is None:
        return at[0]
    (t0, v0), (t1, v1), (t2, v2) = before, at, after
    d0, d2 = t0 - t1, t2 - t1
    a = (v0 - v1) / d0 if d0 else 0.0
    b = (v2 - v1) / d2 if d2 else 0.0
    curvature = (b - a) / (d2 - d0) if d2 != d0 else 0.0
    if curvature == 0.0:
        return t1
    slope = a - curvature * d0  # the derivative at t1
    shift = -slope / (2 * curvature)
    return t1 + max(d0, min(d2, shift))


@dataclass(frozen=True)
class Motion:
    """What the head did at one reading: a shake now, and the nodding rate (0 when none)."""

    shake: bool = False
    nod_rate: float = 0.0  # nods per second
    nod: bool = False  # a nod's bottom was confirmed at this reading


class HeadMotion:
    """Feed (t, pitch, yaw) per analysed frame; get nods and shakes."""

    def __init__(self) -> None:
        self.pitch = Turns()
        self.yaw = Turns()
        self._beats: deque[float] = deque(maxlen=8)
        self._last_shake = -1e9
        self._rate = 0.0

    def add(self, t: float, pitch: float, yaw: float) -> Motion:
        nod = self._nod(self.pitch.add(t, pitch), t)
        shake = self._shake(self.yaw.add(t, yaw), t)
        if shake:
            self._beats.clear()  # a shake is not a nod
        if self._beats and t - self._beats[-1] > NOD_HOLD:
            self._beats.clear()
        self._rate = _rate(list(self._beats)) if self._beats else 0.0
        return Motion(shake, self._rate, nod)

    def _nod(self, turn: Turn | None, t: float) -> bool:
        turns = self.pitch.turns
        if turn is None or len(turns) < 2:
            return False
        swing = abs(turns[-1].value - turns[-2].value)
        if swing < NOD_SWING or _other_swung_more(self.yaw, swing, turn.t):
            return False
        bottom = turn.top  # pitch grows as the head tips down: a maximum is a nod's bottom
        if bottom:
            self._beats.append(turn.t)
        return bottom

    def _shake(self, turn: Turn | None, t: float) -> bool:
        turns = list(self.yaw.turns)
        if turn is None or len(turns) < 3 or t - self._last_shake < REFRACTORY:
            return False
        a, b, c = turns[-3:]
        if c.t - a.t > SHAKE_WITHIN or c.t <= self._last_shake:
            return False
        swings = (abs(b.value - a.value), abs(c.value - b.value))
        if min(swings) < SHAKE_SWING or _other_swung_more(self.pitch, min(swings), c.t):
            return False
        self._last_shake = t
        return True


def _other_swung_more(other: Turns, swing: float, t: float) -> bool:
    """True when the other angle swung more than ``swing`` lately (then this is not a clean
    nod or shake but a roll of the whole head or the phone)."""
    recent = [turn for turn in other.turns if t - turn.t < SHAKE_WITHIN]
    if len(recent) < 2:
        return False
    other_swing = max(abs(b.value - a.value) for a, b in itertools.pairwise(recent))
    return other_swing > swing


def _rate(beats: list[float]) -> float:
    """Nods per second from the beat times, when regular enough; else 0."""
    if len(beats) < NOD_BEATS:
        return 0.0
    intervals = np.diff(beats[-(NOD_BEATS + 2) :])
    median = float(np.median(intervals))
    if median <= 0 or np.any(np.abs(intervals - median) > REGULAR * median):
        return 0.0
    rate = 1.0 / median
    return rate if MIN_RATE <= rate <= MAX_RATE else 0.0
