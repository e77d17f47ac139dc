"""Voice activity: the probability that a 32-ms piece of 16 kHz audio is speech.

Silero VAD's ONNX model (MIT, shipped inside the PyPI package ``silero-vad``; read from there
and run with onnxruntime — no torch). The model is recurrent: it keeps a state between pieces,
and each piece is given with the last 64 samples of the one before as context.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from appliance.errors import ApplianceError
from appliance.paths import checked_file
from appliance.speech.downsample import SPEECH_RATE

CHUNK = 512  # samples per piece at 16 kHz (32 ms), as the model takes them
CONTEXT = 64
PACKAGE = "silero-vad==6.2.3"
MODEL_SHA256 = "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"


def model_path() -> Path:
    """The ONNX file inside the installed ``silero-vad`` package, checked. The package is
    found, not imported: importing it would load torch (seconds, and hundreds of MB)."""
    import importlib.util

    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise ApplianceError(
            f"the voice-activity model is missing: install {PACKAGE} (`make run` does)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.onnx"
    return checked_file(path, MODEL_SHA256, "the voice-activity model", f"reinstall {PACKAGE}")


class VoiceActivity:
    """Speech probabilities, piece by piece, for one stream of audio."""

    def __init__(self, path: Path | None = None) -> None:
        import onnxruntime as ort

        from appliance.threads import onnx_session_options

        self._session = ort.InferenceSession(
            str(path or model_path()),
            onnx_session_options(1),
            providers=["CPUExecutionProvider"],
        )
        self._sr = np.array(SPEECH_RATE, dtype=np.int64)
        self.reset()

    def reset(self) -> None:
        self._state = np.zeros((2, 1, 128), np.float32)
        self._context = np.zeros(CONTEXT, np.float32)

    def __call__(self, chunk: np.ndarray) -> float:
        """The probability (0…1) that ``chunk`` (CHUNK float32 samples) is speech."""
        if chunk.shape != (CHUNK,):
            raise ValueError(f"voice activity takes {CHUNK} samples at a time")
        x = np.concatenate([self._context, chunk.astype(np.float32)])[None, :]
        out, self._state = self._session.run(
            None, {"input": x, "state": self._state, "sr": self._sr}
        )
        self._context = x[0, -CONTEXT:]
        return float(out.reshape(-1)[0])
