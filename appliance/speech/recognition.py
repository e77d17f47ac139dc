"""Speech recognition as the box uses it: a supervised worker process, asked with a time limit.

The box never runs whisper.cpp itself: :class:`RecognitionWorker` keeps
:mod:`appliance.speech.asr_worker` running (restarted when it dies or hangs) and turns an
utterance into text, or None when the worker could not answer in time — the phone is then told
"didn't catch that — please say it again".
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from appliance.threads import worker_environment
from appliance.workers.supervisor import Worker

MODULE = "appliance.speech.asr_worker"


@dataclass(frozen=True)
class Heard:
    text: str
    language: str
    seconds: float  # decoding time in the worker
    model: str


def time_limit(audio_seconds: float) -> float:
    """How long recognising ``audio_seconds`` of speech may take before the worker is taken
    for hung: generous (a busy 2-core box, the multilingual model), yet bounded."""
    return 6.0 + 1.5 * audio_seconds


class RecognitionWorker:
    def __init__(
        self,
        threads: int = 2,
        preload: tuple[str, ...] = ("en",),
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        self.worker = Worker(
            "speech recognition",
            MODULE,
            ["--threads", str(threads), "--preload", ",".join(preload)],
            env={**worker_environment(threads), "OMP_WAIT_POLICY": "PASSIVE"},
            on_event=on_event,
        )

    def start(self) -> None:
        self.worker.start()

    def close(self) -> None:
        self.worker.close()

    @property
    def ready(self) -> bool:
        return self.worker.ready

    def transcribe(
        self, audio: np.ndarray, language: str, prompt: str = "", timeout: float | None = None
    ) -> Heard | None:
        """The text of ``audio`` (float32 16 kHz mono) in ``language``; None when the worker
        could not say in time (it is restarted) or refused it."""
        pcm = (np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        seconds = len(audio) / 16_000
        answer = self.worker.call(
            {"audio": base64.b64encode(pcm).decode(), "language": language, "prompt": prompt},
            timeout if timeout is not None else time_limit(seconds),
        )
        if answer is None or "error" in answer or not isinstance(answer.get("text"), str):
            return None
        return Heard(
            answer["text"],
            str(answer.get("language", language)),
            float(answer.get("seconds", 0.0)),
            str(answer.get("model", "")),
        )
