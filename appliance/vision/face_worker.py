"""The face-reading worker process: MediaPipe FaceLandmarker, apart from the box's audio.

Run by :class:`appliance.vision.landmarks.FaceWorker` as ``python -m
appliance.vision.face_worker`` and spoken to in JSON lines (:mod:`appliance.workers.lines`):

- request ``{"id": n, "stream": "phone-3", "width": w, "height": h, "rgb": <base64 of
  h×w×3 bytes>, "t_ms": <the frame's time in ms>}`` → answer ``{"id": n, "faces": [{"scores":
  {blendshape: score, …}, "matrix": [16 numbers, row-major], "area": <share of the frame>,
  "centre": [x, y]}, …], "seconds": <analysis time>}``, at most ``MAX_FACES`` faces;
- ``{"id": n, "forget": "phone-3"}`` drops that stream's tracking state;
- a request it cannot take gets ``{"id": n, "error": …}``, never a crash.

Each stream (a phone) has its own landmarker in VIDEO mode, so that tracking follows one
person's face from frame to frame. Making a landmarker takes about 0.3 s, so ``WARM`` are made
before the worker says it is ready, a forgotten stream's landmarker goes back to the pool, and
at most ``MAX_STREAMS`` exist (the least recently used stream's is taken). Images are analysed
and dropped: nothing here is kept or written.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import os
import sys
import time
from collections import OrderedDict
from typing import Any

MAX_FACES = 3
MAX_STREAMS = 8
WARM = 2  # landmarkers made at start
MAX_PIXELS = 1280 * 720


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(prog="appliance.vision.face_worker").parse_args(argv)
    from appliance.process_priority import yield_to_the_box
    from appliance.workers.heartbeat import start_heartbeat

    yield_to_the_box()
    start_heartbeat()  # a stopped process stops beating: restarted within 2 s

    import numpy as np

    from appliance.errors import ApplianceError
    from appliance.workers.lines import answer_requests, encode

    out = sys.stdout.buffer
    try:
        streams = _Streams()
        for i in range(WARM):  # loads, and warms up
            streams.analyse(f"warm-up {i}", np.zeros((192, 256, 3), np.uint8), 0)
        for i in range(WARM):
            streams.forget(f"warm-up {i}")
    except ApplianceError as exc:
        out.write(encode({"fatal": str(exc)}))
        out.flush()
        raise SystemExit(2) from None
    out.write(encode({"ready": True, "pid": os.getpid()}))
    out.flush()

    def answer(request: dict[str, Any]) -> dict[str, Any]:
        forget = request.get("forget")
        if isinstance(forget, str):
            streams.forget(forget)
            return {"forgotten": forget}
        stream, width, height = request.get("stream"), request.get("width"), request.get("height")
        rgb, stamp = request.get("rgb"), request.get("t_ms")
        if not isinstance(stream, str) or not isinstance(rgb, str):
            return {"error": "a frame needs a stream and rgb"}
        if not (isinstance(width, int) and isinstance(height, int) and isinstance(stamp, int)):
            return {"error": "width, height and t_ms are integers"}
        if not (width > 0 and height > 0 and width * height <= MAX_PIXELS):
            return {"error": f"the frame must be at most {MAX_PIXELS} pixels"}
        try:
            raw = base64.b64decode(rgb, validate=True)
        except (binascii.Error, ValueError):
            return {"error": "rgb is not base64"}
        if len(raw) != width * height * 3:
            return {"error": "rgb is not width × height × 3 bytes"}
        image = np.frombuffer(raw, np.uint8).reshape(height, width, 3)
        started = time.monotonic()
        faces = streams.analyse(stream, image, stamp)
        return {"faces": faces, "seconds": round(time.monotonic() - started, 4)}

    answer_requests(answer, sys.stdin.buffer, out)


class _Streams:
    """One VIDEO-mode landmarker per stream, least recently used dropped first."""

    def __init__(self) -> None:
        from mediapipe.tasks.python import BaseOptions, vision

        from appliance.vision.face_model import installed_model

        self._vision = vision
        model = installed_model().read_bytes()
        self._options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_buffer=model),
            running_mode=vision.RunningMode.VIDEO,
            num_faces=MAX_FACES,
            output_face_blendshapes=True,
            output_facial_transformation_matrixes=True,
        )
        self._open: OrderedDict[str, tuple[Any, int]] = OrderedDict()  # stream → (it, last ms)
        self._free: list[tuple[Any, int]] = []  # landmarkers of forgotten streams

    def analyse(self, stream: str, image: Any, stamp: int) -> list[dict[str, Any]]:
        import mediapipe as mp
        import numpy as np

        landmarker, last = self._open.pop(stream, (None, -1))
        if landmarker is None and self._free:
            landmarker, last = self._free.pop()
        elif landmarker is None and len(self._open) >= MAX_STREAMS:
            _, (landmarker, last) = self._open.popitem(last=False)
        elif landmarker is None:
            landmarker = self._vision.FaceLandmarker.create_from_options(self._options)
        stamp = max(stamp, last + 1)  # VIDEO mode wants strictly increasing times
        self._open[stream] = (landmarker, stamp)
        frame = mp.Image(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(image))
        result = landmarker.detect_for_video(frame, stamp)
        faces = []
        for i, points in enumerate(result.face_landmarks):
            xs = np.array([p.x for p in points])
            ys = np.array([p.y for p in points])
            area = float((xs.max() - xs.min()) * (ys.max() - ys.min()))
            scores = {c.category_name: round(float(c.score), 4) for c in result.face_blendshapes[i]}
            matrix = np.asarray(result.facial_transformation_matrixes[i], np.float64)
            faces.append(
                {
                    "scores": scores,
                    "matrix": [round(float(v), 5) for v in matrix.reshape(-1)],
                    "area": round(area, 5),
                    "centre": [round(float(xs.mean()), 4), round(float(ys.mean()), 4)],
                }
            )
        return faces

    def forget(self, stream: str) -> None:
        kept = self._open.pop(stream, None)
        if kept is not None:
            self._free.append(kept)


if __name__ == "__main__":
    main()
