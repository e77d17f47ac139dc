"""Face reading as the box uses it: a supervised worker process, asked with a time limit.

The box never runs MediaPipe itself: :class:`FaceWorker` keeps
:mod:`appliance.vision.face_worker` running (restarted when it dies or hangs) and turns a
frame into the faces in it, or None when the worker could not answer in time — that frame is
then simply skipped; the next one is newer anyway.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import numpy as np

from appliance.threads import worker_environment
from appliance.workers.supervisor import Worker

MODULE = "appliance.vision.face_worker"
TIMEOUT = 0.5  # seconds a frame may take before it is skipped
HUNG_AFTER = 3.0  # seconds without an answer before the worker is taken for hung


class FaceWorker:
    def __init__(self, on_event: Callable[[str], None] | None = None) -> None:
        self.worker = Worker(
            "face reading",
            MODULE,
            env={**worker_environment(1), "OMP_WAIT_POLICY": "PASSIVE"},
            on_event=on_event,
            ready_timeout=60.0,
        )

    def start(self) -> None:
        self.worker.start()

    def close(self) -> None:
        self.worker.close()

    @property
    def ready(self) -> bool:
        return self.worker.ready

    def faces(
        self, stream: str, rgb: np.ndarray, t_ms: int, timeout: float = TIMEOUT
    ) -> list[dict[str, Any]] | None:
        """The faces in ``rgb`` (H×W×3 uint8), a frame of ``stream`` at ``t_ms``; None when
        the worker could not say in time or refused the frame."""
        height, width = rgb.shape[:2]
        answer = self.worker.call(
            {
                "stream": stream,
                "width": int(width),
                "height": int(height),
                "rgb": base64.b64encode(np.ascontiguousarray(rgb, np.uint8).tobytes()).decode(),
                "t_ms": int(t_ms),
            },
            timeout,
            hung_after=HUNG_AFTER,
        )
        if answer is None or not isinstance(answer.get("faces"), list):
            return None
        return [f for f in answer["faces"] if isinstance(f, dict)]

    def forget(self, stream: str) -> None:
        """Drop the tracking state of ``stream`` (a phone let go of its button)."""
        self.worker.call({"forget": stream}, TIMEOUT, hung_after=HUNG_AFTER)
