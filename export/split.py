"""The fixed, piece-disjoint train/validation/test split.

A piece key names a composition (ASAP: "<composer>/<title>"; Batik: "Mozart/KV<NNN>_<mvt>",
with ASAP's copies of Batik movements mapped to the Batik key). The split is a hash of the key:
``h = sha1(key) % 100``; h < 10 → test, 10 ≤ h < 20 → validation, else train. So that every
test piece can be compared with several humans, a test-bucket piece with only one performance
goes to validation instead. All performances of a piece share its split.
"""

from __future__ import annotations

import hashlib
import re

SPLITS = ("train", "validation", "test")

# ASAP titles that are the same movement as a Batik match file.
_ASAP_TO_BATIK = {
    "Mozart/Piano_Sonatas_11-3": "Mozart/KV331_3",
    "Mozart/Piano_Sonatas_12-1": "Mozart/KV332_1",
    "Mozart/Piano_Sonatas_12-2": "Mozart/KV332_2",
    "Mozart/Piano_Sonatas_12-3": "Mozart/KV332_3",
}


def asap_piece_key(composer: str, title: str) -> str:
    key = f"{composer}/{title}"
    return _ASAP_TO_BATIK.get(key, key)


def batik_piece_key(stem: str) -> str:
    """ "kv331_3" → "Mozart/KV331_3"."""
    m = re.fullmatch(r"kv(\d+)_(\w+)", stem.lower())
    if not m:
        raise ValueError(f"not a Batik movement name: {stem!r}")
    return f"Mozart/KV{m.group(1)}_{m.group(2)}"


def hash_bucket(key: str) -> int:
    return int(hashlib.sha1(key.encode()).hexdigest(), 16) % 100


def assign_split(key: str, n_performances: int) -> str:
    h = hash_bucket(key)
    if h < 10:
        return "test" if n_performances >= 2 else "validation"
    if h < 20:
        return "validation"
    return "train"
