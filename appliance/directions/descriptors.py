"""Free-form descriptions → a mixture of directions: "like a mother singing a lullaby", "angry".

A table of descriptors (each a few example phrasings, in English and for the commonest also in
German and Spanish) gives each a mixture of direction classes with strengths. A request
is embedded with the sentence model (:mod:`appliance.nlp.embedding`) and compared with every
phrasing; the descriptors whose best phrasing is close enough (cosine ≥ ``MIN_SIMILARITY``) are
blended, weighted by a softmax of their similarities, so that "sad and slow" or an unseen
paraphrase lands between the descriptors it resembles. Nothing close enough: not understood.
The model is English: German and Spanish descriptions work where they share words with the
phrasings; Russian (Cyrillic) descriptions are found by word stems instead (:mod:`stems`), the
descriptors whose stems occur blended by how many of them occur.

The phrasings' embeddings ship precomputed beside the steering vectors
(``models_onnx/renderer/descriptor_anchors.npy``, written by ``python -m export.directions
anchors``) with the SHA-256 of the array, of the phrasing texts and of the sentence model's files;
the box uses them only when all three match, and otherwise computes them (once, into the cache)
with a warning, so that the first description embeds only the request.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from appliance.directions.classes import CLASSES, Scope
from appliance.directions.stems import RUSSIAN_STEMS, stem_hits
from appliance.directions.words import MAX_STRENGTH, DirectionRequest, ParsedDirections
from appliance.nlp.embedding import SentenceEmbedder, model_fingerprint, model_sha256
from appliance.paths import cache_dir, models_dir, write_atomically

log = logging.getLogger(__name__)

MIN_SIMILARITY = 0.45  # below this the request resembles no descriptor
TOP = 3  # at most this many descriptors are blended
SHARPNESS = 20.0  # softmax inverse temperature over cosine similarities
# Words the sentence model has to spell out in this many pieces (or cannot read at all) are
# words it does not know — a misheard word ("Stilbezschneila") — whose likeness to a
# descriptor means little: such a request must resemble one closely to count.
UNKNOWN_WORD_PIECES = 4
MIN_SIMILARITY_UNKNOWN_WORDS = 0.75
MIN_STRENGTH = 0.15  # weaker parts of a blend are dropped

# Framing words carry no character ("play it like …", "make it sound as if …"); left in, they
# make every "like a …" request resemble every "like a …" phrasing.
_FRAMING = re.compile(
    r"^(?:(?:please|can you|could you|now|and|then|bitte|por favor)\s+)*"
    r"(?:(?:play|make|let|do|spiel|spiele|toca|tócalo)\b[^,]*?\s+)?"
    r"(?:it|this|that|es|das|lo)?\s*"
    r"(?:(?:sound|feel|klingen)\s+)?"
    r"(?:as if|as though|like|in the style of|in the mood of|with the feeling of|wie|als ob"
    r"|como si|como|al estilo de)\s+",
    re.IGNORECASE,
)
# The sentence model is English (German and Spanish work through shared words); text in other
# scripts gets no free-form reading rather than a wrong one.
_LATIN_SHARE = 0.6


def latin_text(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(
        c.isascii() or "À" <= c <= "ɏ" for c in letters
    ) >= _LATIN_SHARE * len(letters)


def core(text: str) -> str:
    """``text`` without framing ("play it like a lullaby" → "a lullaby")."""
    stripped = _FRAMING.sub("", text.strip().rstrip(".!?"), count=1).strip()
    return stripped or text.strip()


@dataclass(frozen=True)
class Descriptor:
    name: str
    phrasings: tuple[str, ...]
    mixture: dict[str, float]  # class → strength (negative: away from it)

    def __post_init__(self) -> None:
        unknown = set(self.mixture) - set(CLASSES)
        if unknown:
            raise ValueError(f"descriptor {self.name!r}: unknown classes {sorted(unknown)}")


def _d(name: str, phrasings: str, **mixture: float) -> Descriptor:
    return Descriptor(name, tuple(p.strip() for p in phrasings.split("|")), mixture)


DESCRIPTORS: tuple[Descriptor, ...] = (
    _d(
        "lullaby",
        "like a mother singing a lullaby|a lullaby|rocking a baby to sleep"
        "|wie ein Wiegenlied|como una canción de cuna",
        p=1.0,
        legato=1.0,
        adagio=0.6,
    ),
    _d(
        "angry",
        "angry|furious|mad at someone|full of rage|wütend|enfadado",
        f=1.2,
        accent=1.0,
        allegro=0.5,
        staccato=0.4,
    ),
    _d(
        "dreamy",
        "dreamy|as in a dream|floating in the clouds|verträumt|soñador",
        pp=0.7,
        legato=1.0,
        adagio=0.6,
    ),
    _d(
        "sad",
        "sad|sorrowful|mourning a loss|traurig|triste",
        p=0.6,
        adagio=1.0,
        legato=0.6,
    ),
    _d(
        "happy",
        "happy|joyful|cheerful|fröhlich|alegre",
        mf=0.5,
        allegro=0.8,
        staccato=0.4,
    ),
    _d(
        "triumphant",
        "triumphant|victorious|heroic|triumphierend|triunfal",
        ff=1.0,
        accent=0.6,
        moderato=0.4,
        tenuto=0.4,
    ),
    _d(
        "playful",
        "playful|teasing|like children playing|verspielt|juguetón",
        staccato=1.0,
        allegro=0.7,
        mp=0.4,
    ),
    _d(
        "tender",
        "tender|gentle|loving|zärtlich|tierno",
        p=0.8,
        legato=0.8,
        andante=0.5,
    ),
    _d("nervous", "nervous|anxious|restless|nervös|nervioso", accelerando=0.7, staccato=0.5),
    _d(
        "calm",
        "calm|peaceful|serene|ruhig|tranquilo",
        p=0.6,
        legato=0.8,
        adagio=0.6,
    ),
    _d("majestic", "majestic|grand|stately|majestätisch|majestuoso", f=1.0, largo=0.6, tenuto=0.8),
    _d(
        "march",
        "like a march|marching soldiers|military",
        moderato=0.6,
        accent=0.8,
        staccato=0.5,
        f=0.5,
    ),
    _d("dance", "like a dance|dancing|like a waltz", allegro=0.5, accent=0.5, staccato=0.3),
    _d("mysterious", "mysterious|secretive|in the dark", pp=1.0, tenuto=0.4, adagio=0.4),
    _d(
        "dramatic",
        "dramatic|passionate|full of drama|dramatisch|dramático",
        f=0.8,
        crescendo=0.6,
        accent=0.6,
        accelerando=0.3,
    ),
    _d(
        "nostalgic",
        "nostalgic|remembering old times|wistful",
        p=0.5,
        legato=0.7,
        ritardando=0.5,
        adagio=0.4,
    ),
    _d("solemn", "solemn|like a funeral|grave and serious", largo=1.0, p=0.4, tenuto=0.7),
    _d("excited", "excited|thrilled|full of energy", allegro=1.0, f=0.6, accelerando=0.4),
    _d("lazy", "lazy|sleepy|a slow sunday morning", adagio=0.8, p=0.5, legato=0.5),
    _d("hesitant", "hesitant|unsure|shy", p=0.6, ritardando=0.6, tenuto=0.3),
    _d("confident", "confident|bold|assertive", f=0.8, accent=0.5, a_tempo=0.5, tenuto=0.3),
    _d("delicate", "delicate|fragile|like glass", pp=0.8, staccato=0.3, andante=0.3),
    _d("flowing", "flowing|like water|like a river", legato=1.2, mp=0.3, andante=0.5),
    _d("bouncy", "bouncy|jumpy|light on its feet", staccato=1.2, allegro=0.5),
    _d(
        "heavy",
        "heavy|ponderous|like an elephant",
        f=0.8,
        tenuto=0.8,
        largo=0.6,
        accent=0.4,
    ),
    _d("airy", "airy|weightless|like a feather", pp=0.5, staccato=0.6, allegro=0.4),
    _d(
        "romantic",
        "romantic|in love|longing|romantisch|romántico",
        legato=1.0,
        mp=0.3,
        ritardando=0.4,
        crescendo=0.3,
    ),
    _d("mechanical", "mechanical|like a machine|robotic", a_tempo=1.0, moderato=0.5, mf=0.3),
    _d("intimate", "intimate|whispering|just for me", pp=1.0, legato=0.6),
    _d("brilliant", "brilliant|virtuosic|showing off", presto=0.8, f=0.6, accent=0.4),
    _d("urgent", "urgent|in a hurry|running late", accelerando=1.0, presto=0.5),
    _d("fading", "fading away|dying away|disappearing", diminuendo=1.2, ritardando=0.6),
    _d("building", "building up|growing|rising excitement", crescendo=1.2, accelerando=0.5),
    _d(
        "prayer",
        "like a prayer|a hymn|devout",
        p=0.5,
        largo=0.6,
        legato=0.8,
        tenuto=0.4,
    ),
    _d(
        "storm",
        "like a storm|thunder and lightning|wild",
        ff=1.0,
        presto=0.6,
        accent=0.8,
        crescendo=0.4,
    ),
    _d("raindrops", "like raindrops|gentle rain|drizzle", p=0.5, staccato=0.8, andante=0.4),
    _d(
        "music box",
        "like a music box|a wind-up toy|clockwork",
        p=0.5,
        staccato=0.6,
        a_tempo=0.8,
        moderato=0.4,
    ),
    _d("ghostly", "ghostly|eerie|haunted", pp=1.2, adagio=0.5, tenuto=0.4),
    _d("sunrise", "a bright morning|sunrise|waking up", crescendo=0.6, mf=0.4, andante=0.5),
    _d("night", "at night|moonlight|a nocturne", p=0.7, legato=0.8, adagio=0.5),
    _d("jazzy", "jazzy|swinging|groovy", accent=0.7, staccato=0.5, moderato=0.5),
    _d("tired", "tired|exhausted|weary", ritardando=0.6, p=0.6, largo=0.4, legato=0.3),
    _d("proud", "proud|noble|dignified", f=0.6, moderato=0.5, tenuto=0.6),
    _d("scared", "scared|afraid|frightened", pp=0.6, accelerando=0.5, staccato=0.5),
    _d("festive", "a party|celebrating|festive", f=0.7, allegro=0.8, accent=0.5),
    _d(
        "farewell",
        "coming to rest|the end of a story|saying goodbye",
        diminuendo=0.8,
        ritardando=0.8,
        p=0.4,
    ),
)


@dataclass(frozen=True)
class Match:
    descriptor: str
    similarity: float
    weight: float


@dataclass(frozen=True)
class Description:
    """What a free-form request resembled and the directions that follow from it."""

    matches: tuple[Match, ...]
    mixture: dict[str, float]

    def requests(self, scope: Scope = Scope.FROM_NOW, factor: float = 1.0) -> ParsedDirections:
        directions = tuple(
            DirectionRequest(cls, max(-MAX_STRENGTH, min(MAX_STRENGTH, s * factor)), scope)
            for cls, s in sorted(self.mixture.items(), key=lambda kv: -abs(kv[1]))
        )
        return ParsedDirections(directions, language="", matched_words=0)


# Beside the steering vectors in models_onnx/renderer/; its card (what it was computed from) is
# the same name with .json.
ANCHORS_FILE = "descriptor_anchors.npy"
REBUILD_ANCHORS = "python -m export.directions anchors"


def phrasing_texts(descriptors: tuple[Descriptor, ...] = DESCRIPTORS) -> list[str]:
    """The texts the sentence model embeds for the table: every phrasing, framing stripped."""
    return [core(p) for d in descriptors for p in d.phrasings]


def table_sha256(texts: list[str]) -> str:
    """Identifies a phrasing table: the SHA-256 of its texts, in order."""
    return hashlib.sha256(json.dumps(texts, ensure_ascii=False).encode("utf-8")).hexdigest()


def shipped_anchors() -> Path:
    """The precomputed phrasing embeddings that ship beside the steering vectors."""
    return models_dir() / "renderer" / ANCHORS_FILE  # registry.NEURAL_FOLDER


class StaleAnchors(ValueError):
    """The shipped anchors are missing, damaged or computed from another table or model."""


def save_anchors(path: Path, anchors: np.ndarray, texts: list[str], model: dict[str, Any]) -> None:
    """Store ``anchors`` (one row per text of ``texts``) at ``path`` and, beside it, their card:
    the array's SHA-256, the table's (:func:`table_sha256`, and the texts themselves) and the
    sentence model's (``model``: package, version and ``sha256`` per file)."""
    buffer = io.BytesIO()
    np.save(buffer, np.asarray(anchors, np.float32))
    data = buffer.getvalue()
    card = {
        "what": "sentence-model embeddings of the descriptor phrasings, one row per phrasing "
        "in table order (appliance/directions/descriptors.py)",
        "rebuild": REBUILD_ANCHORS,
        "shape": list(anchors.shape),
        "dtype": "float32",
        "sha256": hashlib.sha256(data).hexdigest(),
        "table_sha256": table_sha256(texts),
        "model": model,
        "phrasings": texts,
    }
    path.write_bytes(data)
    path.with_suffix(".json").write_text(json.dumps(card, indent=1, ensure_ascii=False) + "\n")


def load_anchors(path: Path, texts: list[str], model_files: dict[str, str]) -> np.ndarray:
    """The anchors stored at ``path``, checked against their card (``*.json`` beside them), the
    current phrasing texts and the installed model (``model_files``: SHA-256 per file);
    :class:`StaleAnchors` says why they cannot be used."""
    card_path = path.with_suffix(".json")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise StaleAnchors(f"{exc.filename} is missing") from None
    except (OSError, ValueError) as exc:
        raise StaleAnchors(f"{card_path} cannot be read ({exc})") from None
    if not isinstance(card, dict):
        raise StaleAnchors(f"{card_path} is not an anchor card")
    if card.get("table_sha256") != table_sha256(texts):
        change = _table_change(card.get("phrasings"), texts)
        raise StaleAnchors(f"{path.name} was computed for another descriptor table ({change})")
    model = card.get("model")
    model = model if isinstance(model, dict) else {}
    stored = model.get("sha256")
    stored = stored if isinstance(stored, dict) else {}
    differ = [name for name, digest in model_files.items() if stored.get(name) != digest]
    if differ:
        made_by = f"{model.get('package', '?')} {model.get('version', '?')}"
        raise StaleAnchors(
            f"{path.name} was computed with another sentence model ({made_by}; the installed "
            f"model differs in {', '.join(differ)})"
        )
    if hashlib.sha256(data).hexdigest() != card.get("sha256"):
        raise StaleAnchors(f"{path} is damaged (its SHA-256 is not the one in {card_path.name})")
    try:
        anchors = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise StaleAnchors(f"{path} cannot be read ({exc})") from None
    if anchors.ndim != 2 or len(anchors) != len(texts):
        raise StaleAnchors(f"{path} holds {anchors.shape}, not one row per phrasing")
    return np.asarray(anchors, np.float32)


def _table_change(stored: object, texts: list[str]) -> str:
    """The first difference between the stored phrasings and the current ones, in words."""
    if not isinstance(stored, list):
        return "its phrasings are not stored"
    for i, (old, new) in enumerate(zip(stored, texts, strict=False)):
        if old != new:
            return f"phrasing {i + 1} was {old!r}, is now {new!r}"
    return f"{len(stored)} phrasings then, {len(texts)} now"


def anchor_embeddings(
    embedder: SentenceEmbedder, texts: list[str], shipped: Path | None = None
) -> np.ndarray:
    """The phrasings' embeddings: the shipped ones (``shipped``, by default
    :func:`shipped_anchors`) when they were computed from these texts by this model; otherwise,
    with a warning, computed here once per model and table and kept in the cache
    (``descriptor-anchors-<hash>.npy``)."""
    folder = getattr(embedder, "folder", None)
    if folder is None:
        return embedder.embed_many(texts)
    try:
        return load_anchors(shipped or shipped_anchors(), texts, model_sha256(folder))
    except (StaleAnchors, OSError) as exc:  # OSError: the model's files could not be hashed
        log.warning(
            "descriptor anchors: %s; computing them here instead (`%s` rebuilds the shipped file)",
            exc,
            REBUILD_ANCHORS,
        )
    key = hashlib.sha256(
        "\n".join([model_fingerprint(folder), *texts]).encode("utf-8")
    ).hexdigest()[:20]
    path = cache_dir() / f"descriptor-anchors-{key}.npy"
    try:
        anchors = np.load(path, allow_pickle=False)
        if anchors.shape[0] == len(texts):
            return np.asarray(anchors, np.float32)
    except (OSError, ValueError):
        pass
    anchors = embedder.embed_many(texts)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        packed = io.BytesIO()
        np.save(packed, anchors)
        write_atomically(path, packed.getvalue())
    except OSError:  # a read-only cache only costs time
        pass
    return anchors


class Describer:
    """Maps descriptions to mixtures; the table's phrasings come embedded with the model
    (:func:`anchor_embeddings`), so only the request is embedded."""

    def __init__(
        self,
        embedder: SentenceEmbedder | None = None,
        descriptors: tuple[Descriptor, ...] = DESCRIPTORS,
        anchors: Path | None = None,
    ) -> None:
        self.embedder = embedder or SentenceEmbedder()
        self.descriptors = descriptors
        self._owner = np.array([i for i, d in enumerate(descriptors) for _ in d.phrasings])
        self._anchors = anchor_embeddings(self.embedder, phrasing_texts(descriptors), anchors)

    def similarities(self, text: str) -> np.ndarray:
        """Per descriptor, the cosine similarity of its closest phrasing to ``text``."""
        sims = self._anchors @ self.embedder.embed(core(text))
        best = np.full(len(self.descriptors), -1.0)
        np.maximum.at(best, self._owner, sims)
        return best

    def describe(self, text: str, strict: bool = False) -> Description | None:
        """The blend of descriptors ``text`` resembles, or None when it resembles none.
        ``strict``: only a close likeness counts — for text in a language other than English,
        whose words the (English) sentence model reads as fragments, so that a loose likeness
        says little."""
        if not text.strip():
            return None
        if not latin_text(text):
            return self._by_stems(text)
        best = self.similarities(text)
        loose = not strict and not self._mostly_unknown(text)
        least = MIN_SIMILARITY if loose else MIN_SIMILARITY_UNKNOWN_WORDS
        order = [int(i) for i in np.argsort(-best)[:TOP] if best[i] >= least]
        if not order:
            return None
        logits = SHARPNESS * best[order]
        weights = np.exp(logits - logits.max())
        return self._blend(order, [float(best[i]) for i in order], weights / weights.sum())

    def _mostly_unknown(self, text: str) -> bool:
        """Whether most words of ``text`` are ones the sentence model does not know."""
        tokenizer = self.embedder.tokenizer
        words = [w for w in core(text).lower().split() if w.isalpha()]
        unknown = 0
        for word in words:
            pieces = tokenizer.pieces(word)
            unknown += len(pieces) >= UNKNOWN_WORD_PIECES or "[UNK]" in pieces
        return bool(words) and unknown * 2 > len(words)

    def _by_stems(self, text: str) -> Description | None:
        hits = stem_hits(text)
        index = {d.name: i for i, d in enumerate(self.descriptors)}
        found = sorted((n for n in hits if n in index), key=lambda n: -hits[n])[:TOP]
        if not found:
            return None
        counts = np.array([hits[n] for n in found], np.float64)
        return self._blend([index[n] for n in found], [1.0] * len(found), counts / counts.sum())

    def _blend(self, order: list[int], similarity: list[float], weights: np.ndarray) -> Description:
        mixture: dict[str, float] = {}
        for i, w in zip(order, weights, strict=True):
            for cls, s in self.descriptors[i].mixture.items():
                mixture[cls] = mixture.get(cls, 0.0) + float(w) * s
        mixture = {c: round(s, 3) for c, s in mixture.items() if abs(s) >= MIN_STRENGTH}
        matches = tuple(
            Match(self.descriptors[i].name, sim, float(w))
            for i, sim, w in zip(order, similarity, weights, strict=True)
        )
        return Description(matches, mixture)


def describe_said(describer: Describer, text: str, language: str | None) -> Description | None:
    """A free-form description in the language it was said in: the sentence model reads
    English, so other languages' words count only when they match closely."""
    return describer.describe(text, strict=language not in (None, "en"))


def markdown_table(descriptors: tuple[Descriptor, ...] = DESCRIPTORS) -> str:
    """The descriptor table as markdown (``python -m appliance.directions.descriptors``)."""
    rows = [
        "| descriptor | phrasings | Russian stems | mixture |",
        "|---|---|---|---|",
    ]
    for d in descriptors:
        mix = ", ".join(
            f"{c} {s:+.1f}" for c, s in sorted(d.mixture.items(), key=lambda kv: -kv[1])
        )
        stems = " · ".join(RUSSIAN_STEMS.get(d.name, ()))
        rows.append(f"| {d.name} | {' · '.join(d.phrasings)} | {stems} | {mix} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
