"""Assembling the box's eyes: the face-reading worker and the thread that reads phones' faces.

Missing pieces are said once and left out (the model not installed, MediaPipe missing): the
box goes on without reading faces, and phones still talk and type.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable

from appliance.errors import ApplianceError
from appliance.perform.session import Session
from appliance.vision.face_reader import ALLEGRO_EFFECT
from appliance.vision.landmarks import FaceWorker
from appliance.vision.watching import Eyes


def open_eyes(session: Session, problem: Callable[[str], None]) -> Eyes | None:
    """The box's eyes for ``session``, started; None (said through ``problem``) when they
    cannot be had."""
    from appliance.vision.face_model import installed_model

    if importlib.util.find_spec("mediapipe") is None:
        problem("faces are not read: mediapipe is not installed")
        return None
    try:
        installed_model()
    except ApplianceError as exc:
        problem(f"faces are not read: {exc}")
        return None
    worker = FaceWorker(on_event=problem)
    worker.start()
    vectors = session.engine.vectors
    measured = (vectors.effects or {}).get("allegro", {}) if vectors is not None else {}
    effect = float(measured.get("beat_period", ALLEGRO_EFFECT))
    act = functools.partial(session.conductor.submit, via="face")  # remembered as the face's
    eyes = Eyes(worker, act, session.engine.tempo_now, allegro_effect=effect)
    eyes.start()
    return eyes


def close_eyes(eyes: Eyes | None) -> None:
    if eyes is not None:
        eyes.close()
        eyes.worker.close()
