"""The offline sentence model: tokenizer rules, real embeddings, clear errors."""

from pathlib import Path

import numpy as np
import pytest

from appliance.errors import ApplianceError
from appliance.nlp.embedding import SentenceEmbedder, load_safetensors, model_folder
from appliance.nlp.wordpiece import WordPiece, basic_words


@pytest.fixture(scope="module")
def embedder() -> SentenceEmbedder:
    return SentenceEmbedder()


def test_basic_words_lowercase_strip_accents_and_split_punctuation():
    assert basic_words("Más rápido, BITTE!") == ["mas", "rapido", ",", "bitte", "!"]
    assert basic_words("a\tb\x00c 中文") == ["a", "bc", "中", "文"]


def test_wordpiece_cuts_greedily_and_gives_unk_for_uncuttable_words():
    wp = WordPiece({"[CLS]": 0, "[SEP]": 1, "[UNK]": 2, "lull": 3, "##aby": 4, "##a": 5, "by": 6})
    assert wp.pieces("lullaby") == ["lull", "##aby"]
    assert wp.pieces("xyz") == ["[UNK]"]
    assert wp.encode("Lullaby xyz") == [0, 3, 4, 2, 1]
    assert wp.encode("lullaby " * 10, max_tokens=4) == [0, 3, 4, 1]


def test_real_vocabulary_encodes_with_cls_and_sep(embedder: SentenceEmbedder):
    ids = embedder.tokenizer.encode("Play it like a lullaby")
    assert ids[0] == embedder.tokenizer.vocab["[CLS]"]
    assert ids[-1] == embedder.tokenizer.vocab["[SEP]"]
    assert embedder.tokenizer.vocab["[UNK]"] not in ids


def test_embeddings_are_unit_vectors_and_follow_meaning(embedder: SentenceEmbedder):
    a, b, c = embedder.embed_many(
        ["a quiet song to put a baby to sleep", "a gentle lullaby", "the stock market fell"]
    )
    assert a.shape == (384,)
    assert np.allclose([np.linalg.norm(v) for v in (a, b, c)], 1.0, atol=1e-5)
    assert a @ b > a @ c + 0.2
    assert np.array_equal(embedder.embed("a gentle lullaby"), b)


def test_missing_or_damaged_model_files_give_clear_errors(tmp_path: Path):
    with pytest.raises(ApplianceError, match="missing"):
        SentenceEmbedder(tmp_path)
    for name in ("config.json", "vocab.txt"):
        (tmp_path / name).write_bytes((model_folder() / name).read_bytes())
    (tmp_path / "model.safetensors").write_bytes(b"\x05\x00")
    with pytest.raises(ApplianceError, match="safetensors"):
        SentenceEmbedder(tmp_path)


def test_safetensors_reader_gives_the_stored_tensors(tmp_path: Path):
    import json
    import struct

    data = np.arange(6, dtype="<f4").reshape(2, 3)
    header = json.dumps({"w": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}})
    path = tmp_path / "t.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header.encode() + data.tobytes())
    assert np.array_equal(load_safetensors(path)["w"], data)
