"""Directions that name a level rather than a way: "mp", "andante", "a tempo", "tenuto".

"Switch to andante" slows a presto passage and quickens a largo one, so one fixed steering
vector cannot serve it. Such a request becomes a request for the way towards the level, using
the vectors of classes that have a way: faster (allegro, presto) or slower (adagio, largo),
louder (f, ff) or softer (p, pp) — of each pair the one that moves the music most per unit of
strength — and held longer (legato, against staccato).

Where the music is comes from the notes about to be played as planned before the direction
(``planned``), else from the bar just played. The strength is what the way's vector needs to
cover the gap, from its measured effect per unit of strength (``effects``, fitted with the
vectors), aiming at ``AIM`` of the gap so that a context where the vector acts strongly does not
overshoot (for a gap just over the tolerance, only into the middle of the band); the request's
strength scales the share of the way ("a bit more andante", 0.5: less than half of it; "much
more", 2: all of it). Within ``TOLERANCE`` of the level nothing changes: the music is already
there. Tenuto lengthens what is played (more the more detached it is), half with the legato
vector and half against staccato. With nothing played or planned yet, the class's own vector
is used.

How far a vector moves the music depends on the passage, so where the planned notes can be
rendered again with the direction (a preview), :func:`refine` corrects the strength from what
the preview measured (the steering does it, :mod:`steer`). Pure numpy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from appliance.score import markings
from appliance.score.directions import beat_in_quarters

TEMPO_LEVELS = {w: markings.TEMPO_WORD_BPM[w] for w in ("andante", "moderato")}
VELOCITY_LEVELS = {"mp": 64.0, "mf": 80.0}  # the usual MIDI velocities of the middle dynamics
# The classes that have a way, per way (the one with the largest measured effect is used).
FASTER, SLOWER = ("allegro", "presto"), ("adagio", "largo")
LOUDER, SOFTER = ("f", "ff"), ("p", "pp")
LONGER, DETACHED = "legato", "staccato"
LEVEL_CLASSES = (*TEMPO_LEVELS, *VELOCITY_LEVELS, "a_tempo", "tenuto")
# How close counts as "there": MIDI velocity, ln of the beat period (5 % in tempo).
TOLERANCE = {"velocity": 4.0, "beat_period": 0.05}
AIM = 0.8
MAX_FACTOR = 3.0  # at most this many times the request's strength (or 1, if weaker)
REFINE_LIMIT = 3.0  # a preview may change a level's strength by at most this factor
# Feature change per unit strength of the way vectors when the fitted file has none (rough
# figures of the shipped model's vectors): velocity, ln beat period.
DEFAULT_EFFECTS: dict[str, dict[str, float]] = {
    "allegro": {"beat_period": -0.1},
    "presto": {"beat_period": -0.1},
    "adagio": {"beat_period": 0.15},
    "largo": {"beat_period": 0.15},
    "f": {"velocity": 6.0},
    "ff": {"velocity": 6.0},
    "p": {"velocity": -6.0},
    "pp": {"velocity": -6.0},
}
ARTICULATION_SCALE = 0.5  # tenuto: ln duration ratio at which the whole strength is used
MIN_SHARE = 0.2
A_TEMPO_BARS = 8  # "a tempo" with no tempo direction to end: the tempo of this many bars

Effects = Mapping[str, Mapping[str, float]]


def _effect(effects: Effects | None, cls: str, feature: str, sign: float) -> float:
    """How far one unit of ``cls`` moves ``feature`` the way of ``sign`` (0: not that way)."""
    value = (effects or {}).get(cls, {}).get(feature)
    if value is None:
        value = DEFAULT_EFFECTS[cls][feature]
    return max(float(value) * sign, 0.0)


@dataclass(frozen=True)
class Move:
    """One steering vector and its strength; for a level, also what it aims for: the change
    of ``feature``'s value over the planned notes (:func:`span_value`) from ``current``."""

    cls: str
    strength: float
    feature: str | None = None
    current: float = 0.0
    wanted: float = 0.0
    limit: float = 0.0  # the largest strength it may take


def span_value(feature: str, expression: np.ndarray) -> float:
    """Where a span of notes is: mean velocity, or median ln beat period."""
    if feature == "velocity":
        return float(np.mean(expression["velocity"]))
    return float(np.median(expression["log_bp"]))


def refine(move: Move, got: float) -> Move:
    """``move`` with the strength that would have changed its feature by ``wanted`` where its
    strength changed it by ``got`` (effects are about linear in strength at a given place).
    Unchanged when ``got`` says nothing about it (no change, or the wrong way)."""
    if move.feature is None or got * move.wanted <= 0 or abs(got) < 1e-9:
        return move
    factor = float(np.clip(move.wanted / got, 1 / REFINE_LIMIT, REFINE_LIMIT))
    strength = float(np.clip(move.strength * factor, -move.limit, move.limit))
    return replace(move, strength=strength)


def _towards(
    current: float,
    target: float,
    feature: str,
    up: tuple[str, ...],
    down: tuple[str, ...],
    strength: float,
    effects: Effects | None,
) -> list[Move]:
    """The move that brings ``feature`` from ``current`` to ``target`` (``up`` raises it)."""
    gap = current - target
    if abs(gap) <= TOLERANCE[feature]:
        return []
    sign = -1.0 if gap > 0 else 1.0
    ways = down if gap > 0 else up
    cls = max(ways, key=lambda c: _effect(effects, c, feature, sign))  # ties: the first
    size = _effect(effects, cls, feature, sign)
    if size <= 0:  # the measured effects say none of them moves it: the default figures
        size, cls = _effect(None, ways[0], feature, sign), ways[0]
    # strength 1: most of the way (AIM), 2: all of it; but for a gap just over the tolerance
    # only into the middle of the band
    share = min(AIM * abs(strength), 1.0)
    change = float(np.copysign(min(share * abs(gap), abs(gap) - TOLERANCE[feature] / 2), strength))
    limit = MAX_FACTOR * max(abs(strength), 1.0)
    amount = float(np.clip(change / size, -limit, limit))
    return [Move(cls, amount, feature, current, sign * change, limit)]


def moves(
    cls: str,
    strength: float,
    notes: np.ndarray,
    played: np.ndarray | None,
    planned: np.ndarray | None = None,
    effects: Effects | None = None,
    reference_log_bp: float | None = None,
) -> list[Move]:
    """The vectors (and strengths) that carry out ``cls`` from where the music is.

    ``played`` is the expression (EXPRESSION_DTYPE) of ``notes[:len(played)]`` as rendered,
    ``planned`` that of the notes right after, as they would be played without ``cls``.
    "a tempo" returns to ``reference_log_bp`` (default: the median beat period of the last
    ``A_TEMPO_BARS`` bars played)."""
    n = 0 if played is None else len(played)
    if cls not in LEVEL_CLASSES or (n == 0 and (planned is None or len(planned) == 0)):
        return [Move(cls, strength)]
    if planned is not None and len(planned):
        now, now_notes = planned, notes[n : n + len(planned)]
    else:
        assert played is not None
        bar = notes["bar"][:n]
        recent = bar >= bar[-1]  # the bar being played
        now, now_notes = played[recent], notes[:n][recent]
    if cls in TEMPO_LEVELS or cls == "a_tempo":
        if cls == "a_tempo":
            if reference_log_bp is None:
                if played is None or n == 0:
                    return []
                bar = notes["bar"][:n]
                section = bar >= bar[-1] - A_TEMPO_BARS  # the tempo of the last bars played
                reference_log_bp = float(np.median(played["log_bp"][section]))
            target = reference_log_bp
        else:
            beat_q = float(np.median(beat_in_quarters(now_notes["ts_num"], now_notes["ts_den"])))
            target = float(np.log(60.0 / (TEMPO_LEVELS[cls] * beat_q)))
        # the beat period falls as the music gets faster
        current = span_value("beat_period", now)
        return _towards(current, target, "beat_period", SLOWER, FASTER, strength, effects)
    if cls in VELOCITY_LEVELS:
        current = span_value("velocity", now)
        return _towards(
            current, VELOCITY_LEVELS[cls], "velocity", LOUDER, SOFTER, strength, effects
        )
    # tenuto: notes held their full value — lengthen what is played detached, half legato and
    # half "not staccato" (the two vectors that lengthen notes; together more surely than one)
    articulation = float(np.mean(now["log_art"]))
    share = float(np.clip(-min(articulation, 0.0) / ARTICULATION_SCALE, MIN_SHARE, 1.0))
    return [Move(LONGER, strength * share / 2), Move(DETACHED, -strength * share / 2)]
