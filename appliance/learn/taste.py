"""A listener's taste, learnt at once from their feedback (pure logic).

A taste is three signed levels, in steps of the gentle direction feedback gives
(:mod:`appliance.directions.gentle`): **tempo** (+ faster), **dynamics** (+ louder) and
**articulation** (+ more detached). Each piece of feedback moves it:

- "too fast", "too loud", "too staccato" … move their axis one step the way asked; a
  complaint the opposite way of the last one on that axis ("too slow" after "too fast") means
  the last step went too far, so that axis's step is halved (down to ``MIN_STEP``): a taste
  settles between the two instead of swinging;
- 👍 / "more like that" moves every axis a part of the way (``LIKE_RATE``) towards what the
  directions in force were doing when it was given (what was liked);
- 👎 moves every axis a part of the way away from what the directions in force were doing (with
  none in force there is nothing to learn from it on the axes);
- 👍 and 👎 also move the taste's **style** — a vector in the renderer's latent space, added to
  every note's latents when the person's pieces start — a part of the way towards (or away
  from) the style that was playing (how far its latents were from the score's most likely
  style, on average), so that "more like that" is remembered even with no direction in force;

and levels stay within ``MAX_LEVEL`` steps, the style within ``MAX_STYLE`` (its length). The
levels are played as gentle directions (:func:`directions_of`): the renderer's steering vectors
turn them into moves of the style latents; with the style vector, a person's taste is where in
the latent space their performances start. One taste
is kept per person (a phone's display name) and one for the room (everyone's feedback).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from appliance.directions.gentle import ASPECT_OF_KIND, GENTLE

AXES: tuple[str, ...] = ("tempo", "dynamics", "articulation")
MAX_LEVEL = 3.0  # steps either way
LIKE_RATE = 0.3  # of the way towards (like) or away from (dislike) what is in force
SHOWN = 0.25  # levels nearer 0 than this are not played
MIN_STEP = 0.25  # the smallest step a complaint moves an axis
MAX_STYLE = 2.0  # the longest a style vector may be (latent units)
STYLE_SHOWN = 0.05  # a style shorter than this is not played
MAX_STYLE_SIZE = 256  # latent dimensions kept at most

# what each direction class does on each axis, in steps per unit of strength
_AXIS_OF_CLASS: dict[str, tuple[str, float]] = {
    "largo": ("tempo", -4.0),
    "adagio": ("tempo", -3.0),
    "andante": ("tempo", -1.0),
    "allegro": ("tempo", 2.0),
    "presto": ("tempo", 4.0),
    "accelerando": ("tempo", 1.0),
    "ritardando": ("tempo", -1.0),
    "pp": ("dynamics", -4.0),
    "p": ("dynamics", -2.0),
    "mp": ("dynamics", -1.0),
    "mf": ("dynamics", 1.0),
    "f": ("dynamics", 2.0),
    "ff": ("dynamics", 4.0),
    "crescendo": ("dynamics", 1.0),
    "diminuendo": ("dynamics", -1.0),
    "legato": ("articulation", -2.0),
    "tenuto": ("articulation", -1.0),
    "staccato": ("articulation", 2.0),
}


@dataclass(frozen=True)
class Taste:
    tempo: float = 0.0
    dynamics: float = 0.0
    articulation: float = 0.0
    feedback: int = 0  # pieces of feedback it has learnt from
    steps: tuple[float, float, float] = (1.0, 1.0, 1.0)  # per axis: what a complaint moves
    last: tuple[int, int, int] = (0, 0, 0)  # per axis: the way the last complaint asked
    style: tuple[float, ...] = ()  # a latent vector added to the style (empty: none)

    def level(self, axis: str) -> float:
        return float(getattr(self, axis))

    def levels(self) -> dict[str, float]:
        return {axis: self.level(axis) for axis in AXES}

    @property
    def neutral(self) -> bool:
        return all(abs(self.level(axis)) < SHOWN for axis in AXES) and not self.has_style

    @property
    def has_style(self) -> bool:
        return math.hypot(*self.style) >= STYLE_SHOWN if self.style else False


def in_force_levels(directions: Iterable[tuple[str, float]]) -> dict[str, float]:
    """What (class, strength) directions in force do on each axis, in steps."""
    levels = dict.fromkeys(AXES, 0.0)
    for cls, strength in directions:
        axis_step = _AXIS_OF_CLASS.get(cls)
        if axis_step is not None:
            axis, per_unit = axis_step
            levels[axis] += per_unit * strength
    return levels


def _clamped(value: float) -> float:
    if not math.isfinite(value):
        return 0.0
    return max(-MAX_LEVEL, min(MAX_LEVEL, value))


def _style_towards(
    style: tuple[float, ...], playing: Sequence[float] | None, kind: str
) -> tuple[float, ...]:
    """The style vector after a 👍 (towards ``playing``) or 👎 (away from it)."""
    if playing is None or not len(playing) or len(playing) > MAX_STYLE_SIZE:
        return style
    now = [float(v) if math.isfinite(float(v)) else 0.0 for v in playing]
    old = list(style) if len(style) == len(now) else [0.0] * len(now)
    if kind == "like":
        new = [o + LIKE_RATE * (p - o) for o, p in zip(old, now, strict=True)]
    else:
        new = [o - LIKE_RATE * p for o, p in zip(old, now, strict=True)]
    length = math.hypot(*new)
    if length > MAX_STYLE:
        new = [v * MAX_STYLE / length for v in new]
    return tuple(new)


def learn(
    taste: Taste,
    kind: str,
    in_force: Iterable[tuple[str, float]] = (),
    playing: Sequence[float] | None = None,
) -> Taste:
    """The taste after one piece of feedback (``kind``: like, dislike, too_fast …), given the
    (class, strength) directions in force when it was given and the style ``playing`` then (a
    latent vector, see :mod:`appliance.perform.engine`'s ``style_now``; None: unknown)."""
    levels = taste.levels()
    style = taste.style
    steps, last = list(taste.steps), list(taste.last)
    if kind in ASPECT_OF_KIND:
        axis, want = ASPECT_OF_KIND[kind]
        i, way = AXES.index(axis), 1 if want == "more" else -1
        if last[i] == -way:  # the other way than last time: the last step went too far
            steps[i] = max(MIN_STEP, steps[i] / 2)
        last[i] = way
        levels[axis] += way * steps[i]
    elif kind in ("like", "dislike"):
        doing = in_force_levels(in_force)
        for axis in AXES:
            if kind == "like":
                levels[axis] += LIKE_RATE * (doing[axis] - levels[axis])
            else:
                levels[axis] -= LIKE_RATE * doing[axis]
        style = _style_towards(style, playing, kind)
    else:
        return taste
    clamped = {axis: _clamped(value) for axis, value in levels.items()}
    return replace(
        taste,
        **clamped,
        feedback=taste.feedback + 1,
        steps=(steps[0], steps[1], steps[2]),
        last=(last[0], last[1], last[2]),
        style=style,
    )


def directions_of(taste: Taste) -> tuple[tuple[str, float], ...]:
    """The gentle directions (class, strength) that play a taste: "allegro" with a signed
    strength for tempo (as feedback does), "p" or "f" for dynamics, "legato" or "staccato"
    for articulation."""
    out: list[tuple[str, float]] = []
    tempo, dynamics, articulation = taste.tempo, taste.dynamics, taste.articulation
    if abs(tempo) >= SHOWN:
        out.append(("allegro", round(GENTLE * tempo, 3)))
    if abs(dynamics) >= SHOWN:
        out.append(("f" if dynamics > 0 else "p", round(GENTLE * abs(dynamics), 3)))
    if abs(articulation) >= SHOWN:
        out.append(
            ("staccato" if articulation > 0 else "legato", round(GENTLE * abs(articulation), 3))
        )
    return tuple(out)


def to_dict(taste: Taste) -> dict[str, object]:
    return {
        **taste.levels(),
        "feedback": taste.feedback,
        "steps": list(taste.steps),
        "last": list(taste.last),
        "style": [round(v, 5) for v in taste.style],
    }


def from_dict(raw: object) -> Taste:
    """A taste from what :func:`to_dict` wrote (anything else: a neutral taste)."""
    if not isinstance(raw, dict):
        return Taste()
    try:
        levels = {axis: _clamped(float(raw.get(axis, 0.0))) for axis in AXES}
        count = max(0, int(raw.get("feedback", 0)))
        steps = [float(v) for v in raw.get("steps", (1.0, 1.0, 1.0))][:3]
        last = [int(v) for v in raw.get("last", (0, 0, 0))][:3]
        stored = raw.get("style", ())
        style = [float(v) for v in stored][:MAX_STYLE_SIZE] if isinstance(stored, list) else []
    except (TypeError, ValueError):
        return Taste()
    if not all(math.isfinite(v) for v in style) or math.hypot(*style) > MAX_STYLE * 1.001:
        style = []  # damaged: no style
    if len(steps) != 3 or len(last) != 3:
        return Taste()
    steps = [min(1.0, max(MIN_STEP, v)) if math.isfinite(v) else 1.0 for v in steps]
    last = [max(-1, min(1, v)) for v in last]
    return Taste(
        **levels,
        feedback=count,
        steps=(steps[0], steps[1], steps[2]),
        last=(last[0], last[1], last[2]),
        style=tuple(style),
    )
