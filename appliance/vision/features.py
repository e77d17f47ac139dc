"""What one analysed frame says about a face: blendshape scores, head pose, size (pure).

The worker (:mod:`appliance.vision.face_worker`) answers per face a dict of MediaPipe's 52
blendshape scores, the 4×4 facial transformation matrix, the face's share of the frame and its
centre. Here that becomes a :class:`Reading`: the scores as a vector in :data:`BLENDSHAPES`
order, and yaw, pitch and roll in degrees.

Angles: pitch positive when the head tips down (a nod goes down first), yaw positive when the
person turns to their own left, roll positive when the head tilts to their own left. A phone's
front camera often sends its picture mirrored; then yaw and roll change sign and the left/right
blendshapes swap, which :func:`reading` undoes when told ``mirrored``. The angles come out
smaller than the true rotation (about 65 % on test material), so the box uses their motion —
nods and shakes — never their absolute value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

# MediaPipe FaceLandmarker's blendshape categories, in its own order.
BLENDSHAPES: tuple[str, ...] = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft",
    "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight",
    "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft",
    "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen",
    "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight", "mouthRollLower",
    "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight",
)  # fmt: skip
INDEX: dict[str, int] = {name: i for i, name in enumerate(BLENDSHAPES)}


def _mirror_name(name: str) -> str:
    for a, b in (("Left", "Right"), ("Right", "Left")):
        if name.endswith(a):
            return name[: -len(a)] + b
    return name


MIRROR: tuple[int, ...] = tuple(INDEX[_mirror_name(n)] for n in BLENDSHAPES)


@dataclass(frozen=True)
class Reading:
    """One face in one analysed frame."""

    t: float  # seconds (the box's clock when the frame arrived)
    scores: np.ndarray  # float32 (52,), BLENDSHAPES order, 0…1
    yaw: float  # degrees
    pitch: float
    roll: float
    area: float  # share of the frame the face covers

    def score(self, name: str) -> float:
        return float(self.scores[INDEX[name]])

    def record(self) -> dict[str, Any]:
        """The reading as kept for the memory (numbers only, never an image)."""
        return {
            "t": round(self.t, 3),
            "blendshapes": [round(float(v), 4) for v in self.scores],
            "yaw": round(self.yaw, 2),
            "pitch": round(self.pitch, 2),
            "roll": round(self.roll, 2),
            "area": round(self.area, 4),
        }


def pose(matrix: Sequence[float] | np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) in degrees from MediaPipe's 4×4 facial transformation matrix
    (row-major), in the conventions above for an unmirrored camera picture."""
    m = np.asarray(matrix, np.float64).reshape(4, 4)[:3, :3]
    scale = np.linalg.norm(m, axis=0)
    r = m / np.where(scale > 1e-9, scale, 1.0)
    pitch = math.degrees(math.atan2(r[2, 1], r[2, 2]))
    yaw = math.degrees(math.asin(float(np.clip(-r[2, 0], -1.0, 1.0))))
    roll = math.degrees(math.atan2(r[1, 0], r[0, 0]))
    # the face model looks at the camera along −z: a head tipping down turns its nose down
    return -yaw, -pitch, roll


def reading(face: Mapping[str, Any], t: float, mirrored: bool = False) -> Reading | None:
    """A :class:`Reading` of one face from the worker's answer; None when malformed."""
    scores_in, matrix = face.get("scores"), face.get("matrix")
    if not isinstance(scores_in, Mapping) or not isinstance(matrix, list) or len(matrix) != 16:
        return None
    scores = np.zeros(len(BLENDSHAPES), np.float32)
    for name, value in scores_in.items():
        i = INDEX.get(name)
        if i is not None and isinstance(value, int | float) and _finite(value):
            scores[i] = float(np.clip(value, 0.0, 1.0))
    try:
        numbers = [float(v) for v in matrix]
    except (TypeError, ValueError, OverflowError):
        return None
    if not all(math.isfinite(v) for v in numbers):
        return None
    yaw, pitch, roll = pose(numbers)
    if mirrored:
        scores, yaw, roll = scores[list(MIRROR)], -yaw, -roll
    area = face.get("area")
    size = float(area) if isinstance(area, int | float) and _finite(area) else 0.0
    return Reading(t, scores, yaw, pitch, roll, size)


def largest(faces: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """Of several faces in a frame, the one that covers most of it (the person holding the
    phone, usually); None when there is none."""
    sized = [
        f
        for f in faces
        if isinstance(f, Mapping) and isinstance(f.get("area"), int | float) and _finite(f["area"])
    ]
    return max(sized, key=lambda f: float(f["area"]), default=None)


def _finite(value: float) -> bool:
    """A number a float can hold (not NaN, not infinite, not a huge integer)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False
