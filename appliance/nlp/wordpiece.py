"""BERT's uncased WordPiece tokenizer, from a ``vocab.txt`` (pure Python).

Text is cleaned (control characters dropped, whitespace unified), lower-cased with accents
removed, split at whitespace and punctuation (CJK ideographs become words of their own), and
each word is cut greedily into the longest vocabulary pieces (``##`` marks a continuation);
a word that cannot be cut becomes ``[UNK]``.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ApplianceError

MAX_WORD_CHARS = 100


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def basic_words(text: str) -> list[str]:
    """Clean, lower-case, strip accents and split into words and punctuation marks."""
    chars = []
    for ch in text:
        cp = ord(ch)
        if cp in (0, 0xFFFD):
            continue
        cat = unicodedata.category(ch)
        if ch in "\t\n\r" or cat == "Zs":
            chars.append(" ")
        elif cat.startswith("C"):
            continue
        elif _is_cjk(cp):
            chars.append(f" {ch} ")
        else:
            chars.append(ch)
    words = []
    for word in "".join(chars).split():
        word = unicodedata.normalize("NFD", word.lower())
        word = "".join(c for c in word if unicodedata.category(c) != "Mn")
        current = ""
        for ch in word:
            if _is_punctuation(ch):
                if current:
                    words.append(current)
                words.append(ch)
                current = ""
            else:
                current += ch
        if current:
            words.append(current)
    return words


@dataclass(frozen=True)
class WordPiece:
    vocab: dict[str, int]

    @classmethod
    def from_vocab(cls, path: Path) -> WordPiece:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ApplianceError(f"cannot read the tokenizer vocabulary {path}: {exc}") from None
        vocab = {token: i for i, token in enumerate(lines)}
        for special in ("[CLS]", "[SEP]", "[UNK]"):
            if special not in vocab:
                raise ApplianceError(f"{path} lacks the {special} token")
        return cls(vocab)

    def pieces(self, word: str) -> list[str]:
        if len(word) > MAX_WORD_CHARS:
            return ["[UNK]"]
        out, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    break
                end -= 1
            if end == start:
                return ["[UNK]"]
            out.append(piece)
            start = end
        return out

    def tokenize(self, text: str) -> list[str]:
        return [p for word in basic_words(text) for p in self.pieces(word)]

    def encode(self, text: str, max_tokens: int = 512) -> list[int]:
        """Token ids with ``[CLS]`` … ``[SEP]``, cut to ``max_tokens``."""
        body = [self.vocab[p] for p in self.tokenize(text)][: max(max_tokens - 2, 0)]
        return [self.vocab["[CLS]"], *body, self.vocab["[SEP]"]]
