"""Expressions → direction mixtures: the one table, and how strongly a face shows each (pure).

- **smile** (mouthSmileLeft/Right, ½ each) → gentle: legato +1.0, p +0.5 — "smiling → gentler";
- **brows**, raised eyebrows and wide eyes (browInnerUp ½, browOuterUpLeft/Right and
  eyeWideLeft/Right ⅛ each) → growing, brighter: crescendo +1.0, allegro +0.3 — "eyebrows up →
  brighter, growing";
- **frown** (browDownLeft/Right, ½ each) → heavier: tenuto +1.0, f +0.7, adagio +0.5 —
  "frowning → heavier";
- **pursed** lips (mouthPucker ¾, mouthFunnel ¼) → pp +1.0 — "pursed lips → very soft".

A level is the weighted score above the person's neutral (:mod:`calibration`), as a share of
the way from neutral to ``FULL`` — 0 at neutral, 1 at a full expression, clipped. The strength
of each direction is its table strength × the level (at least ``MIN_STRENGTH`` of it). Levels
are read on the box's terms: the scores of other people differ, so the neutral is each
person's own and ``FULL`` is well below a posed photograph's score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from appliance.vision.features import INDEX


@dataclass(frozen=True)
class Expression:
    name: str
    reads: tuple[tuple[str, float], ...]  # blendshape → weight (the weights sum to 1)
    full: float  # the weighted score above neutral that counts as a full expression
    mixture: tuple[tuple[str, float], ...]  # direction class → strength at a full expression
    words: str  # what the phone shows (English; the phone says it in its own language)


TABLE: tuple[Expression, ...] = (
    Expression(
        "smile",
        (("mouthSmileLeft", 0.5), ("mouthSmileRight", 0.5)),
        0.6,
        (("legato", 1.0), ("p", 0.5)),
        "smiling → gentler",
    ),
    Expression(
        "brows",
        (
            ("browInnerUp", 0.5),
            ("browOuterUpLeft", 0.125),
            ("browOuterUpRight", 0.125),
            ("eyeWideLeft", 0.125),
            ("eyeWideRight", 0.125),
        ),
        0.4,
        (("crescendo", 1.0), ("allegro", 0.3)),
        "eyebrows up → brighter, growing",
    ),
    Expression(
        "frown",
        (("browDownLeft", 0.5), ("browDownRight", 0.5)),
        0.4,
        (("tenuto", 1.0), ("f", 0.7), ("adagio", 0.5)),
        "frowning → heavier",
    ),
    Expression(
        "pursed",
        (("mouthPucker", 0.75), ("mouthFunnel", 0.25)),
        0.5,
        (("pp", 1.0),),
        "pursed lips → very soft",
    ),
)
NAMES: tuple[str, ...] = tuple(e.name for e in TABLE)
BY_NAME: dict[str, Expression] = {e.name: e for e in TABLE}
NEUTRAL_WORDS = "neutral face"
NO_FACE_WORDS = "no face seen — hold the phone so the camera sees your face"
MIN_STRENGTH = 0.5  # a direction from a face is at least this share of the table's strength

_WEIGHTS = np.zeros((len(TABLE), len(INDEX)), np.float32)
for _row, _expression in enumerate(TABLE):
    for _name, _weight in _expression.reads:
        _WEIGHTS[_row, INDEX[_name]] = _weight
_FULL = np.array([e.full for e in TABLE], np.float32)


def raw_scores(scores: np.ndarray) -> np.ndarray:
    """Each expression's weighted blendshape score (TABLE order), before calibration."""
    return _WEIGHTS @ scores.astype(np.float32)


def levels(scores: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """How strongly each expression shows (TABLE order, 0…1): the weighted score above the
    weighted neutral, as a share of ``full``."""
    above = raw_scores(scores) - raw_scores(neutral)
    return np.clip(above / _FULL, 0.0, 1.0)


def mixture(name: str, level: float) -> tuple[tuple[str, float], ...]:
    """The directions an expression shown at ``level`` asks for: (class, strength)…"""
    share = MIN_STRENGTH + (1.0 - MIN_STRENGTH) * float(np.clip(level, 0.0, 1.0))
    return tuple((cls, round(strength * share, 2)) for cls, strength in BY_NAME[name].mixture)
