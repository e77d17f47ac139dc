"""Speech → text with whisper.cpp (pywhispercpp), one model per language, loaded when first used.

Why these settings (measured, see ``python -m export.bench_asr``): the language is always given
(no detection pass), decoding is greedy with no temperature fallback (one fallback cost 24 s),
no timestamps and one segment (a command is one sentence), non-speech tokens suppressed (no
"[Music]"), and an initial prompt with the box's vocabulary. whisper.cpp's encoder always runs on
a 30-s window (1500 frames, 50 a second) unless ``audio_ctx`` shortens it: a command of a few
seconds is encoded about 3× faster with a context just longer than the audio.
"""

from __future__ import annotations

import math
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from appliance.errors import ApplianceError
from appliance.speech.whisper_models import ConvertedModel, model_for_language, verified_model_path

if TYPE_CHECKING:
    from pywhispercpp.model import Model

SAMPLE_RATE = 16_000
FRAMES_PER_SECOND = 50  # whisper's encoder frames per second of audio
FULL_CONTEXT = 1500  # 30 s
MAX_SECONDS = 30.0
MIN_SECONDS = 0.1  # shorter than this is not speech: an empty transcript
PAD_TO_SECONDS = 1.1  # whisper.cpp refuses input shorter than 1 s: pad with silence
# Reduced context: the audio plus a margin, in whole blocks, at least MIN_CONTEXT. Measured with
# the vocabulary prompt on espeak-ng commands: 256 and 512 frames read as well as 768, but 128
# and 384 gave nonsense for nearly every utterance (whisper.cpp), hence blocks of 256 frames.
CONTEXT_MARGIN_SECONDS = 1.0
CONTEXT_BLOCK = 256
MIN_CONTEXT = 512
# A command is a few tokens a second; a decoder stuck in a loop is stopped at this many.
TOKENS_BASE = 16
TOKENS_PER_SECOND = 12
REPEATS = 3  # a phrase said this many times in a row is a decoding loop: keep it once

# whisper's non-speech annotations: "[BLANK_AUDIO]", "(music)", "*laughs*", "♪".
_ARTEFACTS = re.compile(r"\[[^\]]*\]|\([^)]*\)|\*[^*]*\*|♪+")


@dataclass(frozen=True)
class Transcript:
    """What was heard: the text, its language, how long the audio and the decoding took, and
    which model heard it."""

    text: str
    language: str
    audio_seconds: float
    decode_seconds: float
    model: str


def audio_context(
    seconds: float, margin: float = CONTEXT_MARGIN_SECONDS, minimum: int = MIN_CONTEXT
) -> int:
    """The encoder frames to run for ``seconds`` of audio: the audio plus ``margin``, rounded up
    to a whole block, at least ``minimum`` and at most the full 30-s window."""
    frames = math.ceil((seconds + margin) * FRAMES_PER_SECOND)
    blocks = math.ceil(frames / CONTEXT_BLOCK) * CONTEXT_BLOCK
    return min(FULL_CONTEXT, max(minimum, blocks))


def max_tokens(seconds: float) -> int:
    """The most tokens a command of ``seconds`` can need (whisper.cpp's per-segment cap)."""
    return TOKENS_BASE + math.ceil(TOKENS_PER_SECOND * seconds)


def collapse_loops(words: list[str], repeats: int = REPEATS) -> list[str]:
    """``words`` with any phrase (up to 8 words) repeated ``repeats`` or more times in a row
    kept once — whisper's failure mode on short audio ("play play play play …")."""
    out: list[str] = []
    i = 0
    while i < len(words):
        for size in range(1, 9):
            phrase = [w.casefold() for w in words[i : i + size]]
            count = 1
            while [
                w.casefold() for w in words[i + count * size : i + (count + 1) * size]
            ] == phrase:
                count += 1
            if count >= repeats:
                out.extend(words[i : i + size])
                i += count * size
                break
        else:
            out.append(words[i])
            i += 1
    return out


def clean_text(text: str) -> str:
    """The transcript without whisper's annotations, decoding loops and extra spaces."""
    words = _ARTEFACTS.sub(" ", text).split()
    return " ".join(collapse_loops(words)).strip()


def bounded_audio(audio: np.ndarray) -> np.ndarray:
    """``audio`` as contiguous float32 mono, cut to 30 s and padded to whisper.cpp's minimum.
    ApplianceError for anything but 1-D finite samples."""
    if audio.ndim != 1:
        raise ApplianceError(f"speech must be mono audio (got an array of shape {audio.shape})")
    samples = np.ascontiguousarray(audio[: int(MAX_SECONDS * SAMPLE_RATE)], dtype=np.float32)
    if not np.all(np.isfinite(samples)):
        raise ApplianceError("the speech audio contains invalid samples (NaN or infinity)")
    minimum = int(PAD_TO_SECONDS * SAMPLE_RATE)
    if len(samples) < minimum:
        samples = np.concatenate([samples, np.zeros(minimum - len(samples), dtype=np.float32)])
    return samples


def _load_model(path: str, n_threads: int) -> Model:
    """pywhispercpp's model for the file at ``path``. OpenMP's worker threads must sleep when
    idle (``OMP_WAIT_POLICY=PASSIVE``, read when the library loads): spinning made two-thread
    decoding about 5× slower on a busy two-core box."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from pywhispercpp.model import Model

    return Model(
        path,
        redirect_whispercpp_logs_to=None,
        n_threads=n_threads,
        print_progress=False,
        print_realtime=False,
        print_timestamps=False,
    )


class Recogniser:
    """Transcribes short utterances; each language's model is loaded on first use and kept.

    One transcription at a time (whisper.cpp's context is not shareable): callers on other
    threads wait. ``reduce_context`` False always encodes the full 30-s window; ``model_dir``:
    where the converted models are (else the cache)."""

    def __init__(
        self, n_threads: int = 2, reduce_context: bool = True, model_dir: Path | None = None
    ) -> None:
        self.n_threads = n_threads
        self.reduce_context = reduce_context
        self.model_dir = model_dir
        self._models: dict[str, Model] = {}
        self._lock = threading.Lock()

    def _model(self, spec: ConvertedModel) -> Model:
        model = self._models.get(spec.name)
        if model is None:
            model = _load_model(str(verified_model_path(spec, self.model_dir)), self.n_threads)
            self._models[spec.name] = model
        return model

    def preload(self, language: str) -> None:
        """Load ``language``'s model now (so that the first command is not slowed by it)."""
        with self._lock:
            self._model(model_for_language(language))

    def transcribe(
        self,
        audio: np.ndarray,
        language: str,
        prompt: str = "",
        model: ConvertedModel | None = None,
    ) -> Transcript:
        """What is said in ``audio`` (float32 16 kHz mono, −1…1) in ``language``; ``prompt``:
        words to expect (:func:`appliance.speech.prompt.build_prompt`). ``model`` overrides the
        language's usual model (for measurements)."""
        spec = model if model is not None else model_for_language(language)
        seconds = min(len(audio), int(MAX_SECONDS * SAMPLE_RATE)) / SAMPLE_RATE
        if seconds < MIN_SECONDS:
            return Transcript("", language, seconds, 0.0, spec.name)
        samples = bounded_audio(audio)
        context = audio_context(seconds) if self.reduce_context else 0
        with self._lock:
            whisper = self._model(spec)
            started = time.perf_counter()
            segments = whisper.transcribe(
                samples,
                language=language,
                detect_language=False,
                translate=False,
                no_context=True,
                no_timestamps=True,
                single_segment=True,
                suppress_nst=True,
                temperature=0.0,
                temperature_inc=0.0,
                audio_ctx=context,
                max_tokens=max_tokens(seconds),
                initial_prompt=prompt,
                n_threads=self.n_threads,
            )
            decode = time.perf_counter() - started
        text = clean_text(" ".join(segment.text for segment in segments))
        return Transcript(text, language, seconds, decode, spec.name)
