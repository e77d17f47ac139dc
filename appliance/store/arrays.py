"""float32 arrays as SQLite values: little-endian bytes plus the shape as a JSON list."""

from __future__ import annotations

import json
import math

import numpy as np

MAX_VALUES = 1 << 21  # 8 MB of float32: a long piece's per-note style latents fit easily
MAX_DIMS = 2


def as_float32(values: object, what: str) -> np.ndarray:
    """``values`` as a read-only, C-ordered float32 array of 1 or 2 dimensions and at most
    :data:`MAX_VALUES` finite values; ``ValueError`` naming ``what`` otherwise."""
    try:
        array = np.array(values, dtype="<f4", order="C")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be numbers ({exc})") from None
    if not 1 <= array.ndim <= MAX_DIMS:
        raise ValueError(f"{what} must have 1 or 2 dimensions, not {array.ndim}")
    if array.size > MAX_VALUES:
        raise ValueError(f"{what} has {array.size} values; at most {MAX_VALUES} are kept")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} must be finite numbers")
    array.setflags(write=False)
    return array


def encode(array: np.ndarray) -> tuple[bytes, str]:
    """The bytes and the shape (JSON) to store."""
    return array.astype("<f4", copy=False).tobytes(order="C"), json.dumps(list(array.shape))


def decode(blob: bytes, shape_json: str) -> np.ndarray:
    """The array stored as ``blob`` with ``shape_json``; ``ValueError`` when they disagree."""
    shape = json.loads(shape_json)
    if (
        not isinstance(shape, list)
        or not 1 <= len(shape) <= MAX_DIMS
        or not all(isinstance(n, int) and n >= 0 for n in shape)
    ):
        raise ValueError(f"not an array shape: {shape_json[:40]!r}")
    if len(blob) != 4 * math.prod(shape) or math.prod(shape) > MAX_VALUES:
        raise ValueError(f"{len(blob)} bytes do not hold a float32 array of shape {shape}")
    array = np.frombuffer(blob, dtype="<f4").reshape(shape)
    return array
