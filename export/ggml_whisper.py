"""The pieces of a whisper.cpp (ggml) model file: header, mel filters, vocabulary, tensors.

Why: :mod:`export.whisper_convert` writes the box's speech models in the format whisper.cpp
loads, from numpy arrays, without torch. Everything is little-endian:

- int32 magic ``0x67676d6c`` and 11 int32 hyper-parameters (:class:`Hparams`);
- the mel filter bank: int32 80, int32 201, then 80 × 201 float32;
- the vocabulary: int32 count, then per token int32 length + raw bytes;
- each tensor: int32 n_dims, int32 name length, int32 type, dims in ggml order (numpy's
  reversed), the name, then the raw data (f32, f16 or q8_0 blocks).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import astuple, dataclass

import numpy as np

MAGIC = 0x67676D6C
GGML_F32 = 0
GGML_F16 = 1
GGML_Q8_0 = 8
# The file's "ftype": what the 2-D weights are stored as (quantised types add 1000 × version).
FTYPE_F16 = 1
FTYPE_Q8_0 = 7 + 1000 * 2
Q8_BLOCK = 32

SAMPLE_RATE = 16000
N_FFT = 400
N_MELS = 80


@dataclass(frozen=True)
class Hparams:
    """whisper.cpp's hyper-parameters, in the file's order."""

    n_vocab: int
    n_audio_ctx: int
    n_audio_state: int
    n_audio_head: int
    n_audio_layer: int
    n_text_ctx: int
    n_text_state: int
    n_text_head: int
    n_text_layer: int
    n_mels: int
    ftype: int

    def encode(self) -> bytes:
        return struct.pack("<12i", MAGIC, *astuple(self))

    @classmethod
    def decode(cls, data: bytes) -> Hparams:
        """The hyper-parameters at the start of a ggml file (ValueError if it is not one)."""
        magic, *values = struct.unpack_from("<12i", data)
        if magic != MAGIC:
            raise ValueError(f"not a ggml file (magic {magic:#x})")
        return cls(*values)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear to 1 kHz (3 mel per 200 Hz), logarithmic above."""
    linear = hz / (200.0 / 3.0)
    break_mel = 1000.0 / (200.0 / 3.0)
    log_step = np.log(6.4) / 27.0
    above = break_mel + np.log(np.maximum(hz, 1e-10) / 1000.0) / log_step
    return np.where(hz >= 1000.0, above, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    break_mel = 1000.0 / (200.0 / 3.0)
    log_step = np.log(6.4) / 27.0
    above = 1000.0 * np.exp(log_step * (mel - break_mel))
    return np.where(mel >= break_mel, above, mel * (200.0 / 3.0))


def mel_filters(
    sr: int = SAMPLE_RATE, n_fft: int = N_FFT, n_mels: int = N_MELS, fmax: float = 8000.0
) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) float32: triangular filters evenly spaced on Slaney's mel scale
    from 0 Hz to ``fmax``, each scaled to unit area (Slaney normalisation) — the bank Whisper
    was trained with."""
    bins = np.linspace(0.0, sr / 2.0, n_fft // 2 + 1)
    edges = _mel_to_hz(
        np.linspace(_hz_to_mel(np.array(0.0)), _hz_to_mel(np.array(fmax)), n_mels + 2)
    )
    widths = np.diff(edges)
    ramps = edges[:, None] - bins[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    bank = np.maximum(0.0, np.minimum(rising, falling))
    bank *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    return bank.astype(np.float32)


def _unicode_to_byte() -> dict[str, int]:
    """GPT-2's byte-level alphabet, inverted: each printable stand-in character → its byte.

    Printable Latin-1 bytes stand for themselves; the other 68 bytes (controls, space, …) are
    shifted to code points 256 and up, in byte order."""
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table = {chr(b): b for b in printable}
    shifted = (b for b in range(256) if b not in table.values())
    for offset, b in enumerate(shifted):
        table[chr(256 + offset)] = b
    return table


def token_bytes(tokens: Iterable[str]) -> list[bytes]:
    """Each vocabulary entry (GPT-2 byte-level text) as the raw bytes it stands for."""
    table = _unicode_to_byte()
    return [bytes(table[ch] for ch in token) for token in tokens]


def encode_vocabulary(tokens: list[bytes]) -> bytes:
    parts = [struct.pack("<i", len(tokens))]
    for token in tokens:
        parts.append(struct.pack("<i", len(token)))
        parts.append(token)
    return b"".join(parts)


def encode_mel_filters(bank: np.ndarray) -> bytes:
    return struct.pack("<2i", *bank.shape) + bank.astype("<f4").tobytes()


def quantise_q8_0(values: np.ndarray) -> bytes:
    """ggml's q8_0: each run of 32 values along the last axis becomes an f16 scale
    (max |x| / 127) followed by 32 int8 (x / scale, rounded half away from zero)."""
    if values.shape[-1] % Q8_BLOCK:
        raise ValueError(f"last dimension {values.shape[-1]} is not a multiple of {Q8_BLOCK}")
    blocks = values.astype(np.float32).reshape(-1, Q8_BLOCK)
    scale = np.abs(blocks).max(axis=1) / 127.0
    inverse = np.divide(1.0, scale, out=np.zeros_like(scale), where=scale > 0)
    scaled = blocks * inverse[:, None]
    quants = (np.sign(scaled) * np.floor(np.abs(scaled) + 0.5)).astype(np.int8)
    record = np.dtype([("d", "<f2"), ("qs", "i1", (Q8_BLOCK,))])
    out = np.empty(len(blocks), dtype=record)
    out["d"] = scale.astype(np.float16)
    out["qs"] = quants
    return out.tobytes()


def encode_tensor(name: str, values: np.ndarray, ggml_type: int) -> bytes:
    """One tensor record: header, name and data in ``ggml_type`` (f32, f16 or q8_0)."""
    if ggml_type == GGML_F32:
        data = np.ascontiguousarray(values, dtype="<f4").tobytes()
    elif ggml_type == GGML_F16:
        data = np.ascontiguousarray(values, dtype="<f2").tobytes()
    elif ggml_type == GGML_Q8_0:
        data = quantise_q8_0(values)
    else:
        raise ValueError(f"unsupported ggml type {ggml_type}")
    raw_name = name.encode("utf-8")
    dims = tuple(reversed(values.shape))
    header = struct.pack(f"<3i{len(dims)}i", len(dims), len(raw_name), ggml_type, *dims)
    return header + raw_name + data


@dataclass(frozen=True)
class TensorInfo:
    """A tensor record's header, as read back from a file (for checks and tests)."""

    name: str
    ggml_type: int
    dims: tuple[int, ...]


def _tensor_bytes(ggml_type: int, dims: tuple[int, ...]) -> int:
    count = int(np.prod(dims))
    if ggml_type == GGML_F32:
        return 4 * count
    if ggml_type == GGML_F16:
        return 2 * count
    if ggml_type == GGML_Q8_0:
        return count // Q8_BLOCK * (2 + Q8_BLOCK)
    raise ValueError(f"unsupported ggml type {ggml_type}")


@dataclass(frozen=True)
class GgmlSummary:
    """What a ggml Whisper file holds, without its data."""

    hparams: Hparams
    mel_shape: tuple[int, int]
    vocabulary: list[bytes]
    tensors: list[TensorInfo]


def read_summary(data: bytes) -> GgmlSummary:
    """Walk a whole ggml Whisper file; ValueError if anything is out of place or left over."""
    hparams = Hparams.decode(data)
    at = 48
    n_mel, n_bins = struct.unpack_from("<2i", data, at)
    at += 8 + 4 * n_mel * n_bins
    (count,) = struct.unpack_from("<i", data, at)
    at += 4
    vocabulary = []
    for _ in range(count):
        (length,) = struct.unpack_from("<i", data, at)
        vocabulary.append(data[at + 4 : at + 4 + length])
        at += 4 + length
    tensors = []
    while at < len(data):
        n_dims, name_len, ggml_type = struct.unpack_from("<3i", data, at)
        dims = struct.unpack_from(f"<{n_dims}i", data, at + 12)
        at += 12 + 4 * n_dims
        name = data[at : at + name_len].decode("utf-8")
        at += name_len + _tensor_bytes(ggml_type, dims)
        tensors.append(TensorInfo(name, ggml_type, tuple(dims)))
    if at != len(data):
        raise ValueError("the last tensor runs past the end of the file")
    return GgmlSummary(hparams, (n_mel, n_bins), vocabulary, tensors)
