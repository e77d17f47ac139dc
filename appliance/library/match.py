"""Find a piece from what someone said: "Chopin's mazurka in D major", "the Bach prelude".

Pure text scoring: every word of the request that appears in a piece's composer, title,
catalogue number, key or aliases counts (composer and key words count more; a key that
contradicts the request counts against). The best piece wins if it matched anything.
"""

from __future__ import annotations

import re
import unicodedata

from appliance.library.catalog import Piece

_STOP = {
    "the", "a", "an", "of", "by", "in", "play", "please", "some", "something", "piece", "s",
    "no", "nr", "at", "all", "such", "any", "op", "one",
    "der", "die", "das", "von", "spiel", "bitte", "el", "la", "de", "del", "toca", "por", "favor",
}  # fmt: skip
_KEY_WORDS = {
    "major": "major", "dur": "major", "mayor": "major", "мажор": "major",
    "minor": "minor", "moll": "minor", "menor": "minor", "минор": "minor",
}  # fmt: skip
_TONICS = {
    "c": "C", "d": "D", "e": "E", "f": "F", "g": "G", "a": "A", "b": "B", "h": "B",
    "do": "C", "re": "D", "mi": "E", "fa": "F", "sol": "G", "la": "A", "si": "B",
    "до": "C", "ре": "D", "ми": "E", "фа": "F", "соль": "G", "ля": "A", "си": "B",
}  # fmt: skip


_ACCIDENTALS = {"flat", "sharp", "bemol", "sostenido", "бемоль", "диез"}


def words(text: str) -> list[str]:
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    text = text.replace("♯", " sharp ").replace("♭", " flat ").replace("'s", " ")
    return re.findall(r"[\w]+", text)


def asked_key(request: list[str]) -> tuple[str, str] | None:
    """(tonic letter, mode) when the request names a key ("in D major", "d-moll")."""
    for i, w in enumerate(request):
        if w not in _KEY_WORDS:
            continue
        j = i - 1
        while j >= 0 and request[j] in _ACCIDENTALS:
            j -= 1
        if j >= 0 and request[j] in _TONICS:
            return _TONICS[request[j]], _KEY_WORDS[w]
    return None


def score(piece: Piece, request: list[str]) -> float:
    """How well the request names the piece: 0 unless some word names it (a key alone does
    not); a named key that fits adds, one that contradicts subtracts."""
    key_words = set(_KEY_WORDS) | set(_ACCIDENTALS) | set(_TONICS) if asked_key(request) else set()
    wanted = [w for w in request if w not in _STOP and w not in key_words]
    if not wanted:
        return 0.0
    composer = set(words(piece.composer))
    text = set(words(" ".join([piece.title, piece.catalogue, *piece.aliases])))
    total = 0.0
    for w in wanted:
        if w in composer:
            total += 2.0
        elif w in text:
            total += 1.0
    if total == 0:
        return 0.0
    key = asked_key(request)
    if key is not None and piece.key:
        tonic, mode = piece.key.split(" ")[0][0], piece.key.split(" ")[-1]
        total += 1.5 if (tonic, mode) == key else -1.5
    return total


def find(pieces: list[Piece], query: str) -> Piece | None:
    """The piece the request best describes, or None when nothing matches (an exact id wins)."""
    for p in pieces:
        if p.id == query.strip():
            return p
    request = words(query)
    ranked = sorted(((score(p, request), p.id, p) for p in pieces), key=lambda t: (-t[0], t[1]))
    if not ranked or ranked[0][0] <= 0:
        return None
    return ranked[0][2]
