"""The speech-recognition worker process: whisper.cpp, apart from the box's audio.

Run by :class:`appliance.speech.recognition.RecognitionWorker` as
``python -m appliance.speech.asr_worker [--threads N] [--preload en,de]`` and spoken to in
JSON lines (:mod:`appliance.workers.lines`):

- request ``{"id": n, "audio": <base64 of int16 16 kHz mono>, "language": "en", "prompt": …}``
- answer ``{"id": n, "text": …, "language": …, "seconds": <decode time>, "model": …}``, or
  ``{"id": n, "error": …}`` for a request it cannot take (never a crash).

It steps down below the box's priority first and loads the models for the preloaded languages
before it says ``{"ready": true}``; other languages' models load on first use.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import os
import sys
import time
from typing import Any

MAX_SECONDS = 30.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="appliance.speech.asr_worker")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--preload", default="en")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    from appliance.process_priority import yield_to_the_box
    from appliance.workers.heartbeat import start_heartbeat

    yield_to_the_box()
    start_heartbeat()  # a stopped process stops beating: restarted within 2 s

    import numpy as np

    from appliance.errors import ApplianceError
    from appliance.speech.recognise import Recogniser
    from appliance.workers.lines import answer_requests, encode

    out = sys.stdout.buffer
    recogniser = Recogniser(n_threads=max(1, args.threads))
    for language in filter(None, args.preload.split(",")):
        recogniser.transcribe(np.zeros(16_000, np.float32), language)  # loads, and warms up
    out.write(encode({"ready": True, "pid": os.getpid()}))
    out.flush()

    def answer(request: dict[str, Any]) -> dict[str, Any]:
        language = request.get("language")
        if not isinstance(language, str) or not language:
            return {"error": "no language"}
        audio = request.get("audio")
        if not isinstance(audio, str):
            return {"error": "no audio"}
        try:
            pcm = np.frombuffer(base64.b64decode(audio, validate=True), np.int16)
        except (binascii.Error, ValueError):
            return {"error": "the audio is not base64 int16"}
        samples = pcm[: int(MAX_SECONDS * 16_000)].astype(np.float32) / 32768.0
        prompt = request.get("prompt")
        started = time.monotonic()
        try:
            heard = recogniser.transcribe(
                samples, language, prompt if isinstance(prompt, str) else ""
            )
        except ApplianceError as exc:
            return {"error": str(exc)}
        return {
            "text": heard.text,
            "language": heard.language,
            "seconds": round(time.monotonic() - started, 3),
            "model": heard.model,
        }

    answer_requests(answer, sys.stdin.buffer, out)


if __name__ == "__main__":
    main()
