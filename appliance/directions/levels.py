"""Directions that name a level rather than a way: "mp", "andante", "a tempo", "tenuto".

"Switch to andante" slows a presto passage and quickens a largo one, so one fixed steering
vector cannot serve it. Given how the music is being played just before the moment of the
direction, such a request becomes a request for the way towards that level, using the vectors
of classes that have a way: faster (allegro) or slower (adagio), louder (f) or softer (p), held
longer (legato). How far the music is from the level sets the strength (at least a fifth of it,
at most all of it). With nothing played yet, the class's own vector is used. Pure numpy.
"""

from __future__ import annotations

import numpy as np

from appliance.score import markings
from appliance.score.directions import beat_in_quarters

TEMPO_LEVELS = {"andante": markings.TEMPO_WORD_BPM["andante"], "moderato": 104.0}
VELOCITY_LEVELS = {"mp": 64.0, "mf": 80.0}  # the usual MIDI velocities of the middle dynamics
FASTER, SLOWER, LOUDER, SOFTER, LONGER = "allegro", "adagio", "f", "p", "legato"
TEMPO_SCALE = 0.25  # ln(tempo ratio) at which the whole strength is used
VELOCITY_SCALE = 20.0
ARTICULATION_SCALE = 0.5
MIN_SHARE = 0.2
LEVEL_CLASSES = (*TEMPO_LEVELS, *VELOCITY_LEVELS, "a_tempo", "tenuto")


def _share(gap: float, scale: float) -> float:
    return float(np.clip(abs(gap) / scale, MIN_SHARE, 1.0))


def resolve(
    cls: str, strength: float, notes: np.ndarray, played: np.ndarray | None
) -> list[tuple[str, float]]:
    """(class, strength) pairs whose vectors carry out ``cls`` from where the music is.

    ``played`` is the expression (EXPRESSION_DTYPE) of ``notes[:len(played)]`` as rendered."""
    if cls not in LEVEL_CLASSES or played is None or len(played) == 0:
        return [(cls, strength)]
    n = len(played)
    bar = notes["bar"][:n]
    recent = bar >= bar[-1]  # the bar being played
    log_bp = played["log_bp"].astype(np.float64)
    if cls in TEMPO_LEVELS or cls == "a_tempo":
        current = float(np.median(log_bp[recent]))
        if cls == "a_tempo":
            target = float(np.median(log_bp))
        else:
            beat_q = float(
                np.median(
                    beat_in_quarters(notes["ts_num"][:n][recent], notes["ts_den"][:n][recent])
                )
            )
            target = float(np.log(60.0 / (TEMPO_LEVELS[cls] * beat_q)))
        gap = current - target  # > 0: playing slower than the level
        return [(FASTER if gap > 0 else SLOWER, strength * _share(gap, TEMPO_SCALE))]
    if cls in VELOCITY_LEVELS:
        gap = float(np.mean(played["velocity"][recent])) - VELOCITY_LEVELS[cls]
        return [(SOFTER if gap > 0 else LOUDER, strength * _share(gap, VELOCITY_SCALE))]
    # tenuto: notes held their full value — lengthen what is played detached
    articulation = float(np.mean(played["log_art"][recent]))
    return [(LONGER, strength * _share(min(articulation, 0.0), ARTICULATION_SCALE))]
