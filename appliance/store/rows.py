"""The rows the box remembers, one frozen dataclass per table, checked when made.

Ids are random (:func:`new_id`), so rows made on different boxes never clash and an archive
from another box merges by id. ``profile_id`` is "who": a phone's device id (its profile holds
only the display name chosen on the phone), or None for the box's own console. Times are Unix
seconds. Arrays are float32; JSON fields are lists or objects of plain values.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from appliance.store.arrays import as_float32

MAX_ID = 64
MAX_NAME = 100
MAX_TEXT = 2_000
MAX_JSON = 16_000
MAX_AUDIO_BYTES = 16_000 * 2 * 60  # one minute of 16 kHz 16-bit mono talk
SOURCES = ("speech", "face", "button", "text")


def new_id() -> str:
    """A fresh random row id (128 bits, hex)."""
    return uuid.uuid4().hex


def _text(value: str, what: str, longest: int, *, empty: bool = True) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text")
    if len(value) > longest:
        raise ValueError(f"{what} is {len(value)} characters; at most {longest}")
    if not empty and not value:
        raise ValueError(f"{what} must not be empty")


def _maybe_id(value: str | None, what: str) -> None:
    if value is not None:
        _text(value, what, MAX_ID, empty=False)


def _number(value: float, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number")


def _json(value: object, what: str) -> None:
    if not isinstance(value, list | dict):
        raise ValueError(f"{what} must be a list or an object")
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} cannot be stored as JSON ({exc})") from None
    if len(text) > MAX_JSON:
        raise ValueError(f"{what} is {len(text)} characters of JSON; at most {MAX_JSON}")


def _sha256(value: str, what: str) -> None:
    if value and (len(value) != 64 or any(c not in "0123456789abcdef" for c in value)):
        raise ValueError(f"{what} must be 64 lowercase hex digits (or empty)")


class Row:
    """What every row type declares about its table."""

    TABLE: ClassVar[str]
    KEY: ClassVar[str]  # the primary key's field
    TIME: ClassVar[str | None] = None  # the field retention goes by
    JSON: ClassVar[frozenset[str]] = frozenset()  # fields stored as JSON text
    ARRAYS: ClassVar[frozenset[str]] = frozenset()  # float32 fields: a BLOB + <name>_shape

    def _array(self, name: str) -> None:
        value = getattr(self, name)
        if value is not None:
            object.__setattr__(self, name, as_float32(value, name))


@dataclass(frozen=True)
class PieceRow(Row):
    """A piece in the library, as the memory knows it."""

    TABLE: ClassVar[str] = "pieces"
    KEY: ClassVar[str] = "id"

    id: str
    title: str = ""
    composer: str = ""
    source_sha256: str = ""  # the score file's content
    added: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        _text(self.id, "piece id", 200, empty=False)
        _text(self.title, "title", 500)
        _text(self.composer, "composer", 500)
        _sha256(self.source_sha256, "source_sha256")
        _number(self.added, "added")


@dataclass(frozen=True)
class ModelVersionRow(Row):
    """A renderer model the box has had; at most one is active."""

    TABLE: ClassVar[str] = "model_versions"
    KEY: ClassVar[str] = "version"

    version: str
    sha256: str = ""
    created: float = field(default_factory=time.time)
    active: bool = False

    def __post_init__(self) -> None:
        _text(self.version, "model version", 100, empty=False)
        _sha256(self.sha256, "sha256")
        _number(self.created, "created")


@dataclass(frozen=True)
class SessionRow(Row):
    """A time the box was playing, from start to end (None while it lasts)."""

    TABLE: ClassVar[str] = "sessions"
    KEY: ClassVar[str] = "id"
    TIME: ClassVar[str | None] = "started"

    id: str = field(default_factory=new_id)
    started: float = field(default_factory=time.time)
    ended: float | None = None

    def __post_init__(self) -> None:
        _text(self.id, "session id", MAX_ID, empty=False)
        _number(self.started, "started")
        if self.ended is not None:
            _number(self.ended, "ended")


@dataclass(frozen=True)
class ProfileRow(Row):
    """A phone's profile: the display name chosen on it, nothing else about the person."""

    TABLE: ClassVar[str] = "profiles"
    KEY: ClassVar[str] = "device_id"

    device_id: str
    name: str = ""
    created: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        _text(self.device_id, "device id", MAX_ID, empty=False)
        _text(self.name, "display name", MAX_NAME)
        _number(self.created, "created")


@dataclass(frozen=True, eq=False)
class PerformanceRow(Row):
    """One rendering of a piece: enough to render it again exactly (seed, style latents,
    the directions in force, the model version)."""

    TABLE: ClassVar[str] = "performances"
    KEY: ClassVar[str] = "id"
    TIME: ClassVar[str | None] = "started"
    JSON: ClassVar[frozenset[str]] = frozenset({"directions"})
    ARRAYS: ClassVar[frozenset[str]] = frozenset({"latents"})

    piece_id: str
    id: str = field(default_factory=new_id)
    session_id: str | None = None
    profile_id: str | None = None  # who asked for it
    seed: int | None = None
    latents: np.ndarray | None = None
    directions: list[Any] = field(default_factory=list)
    model_version: str | None = None
    started: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        _text(self.piece_id, "piece id", 200, empty=False)
        _text(self.id, "performance id", MAX_ID, empty=False)
        _maybe_id(self.session_id, "session id")
        _maybe_id(self.profile_id, "profile id")
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int) or abs(self.seed) >= 2**63
        ):
            raise ValueError("seed must be a 64-bit integer")
        self._array("latents")
        _json(self.directions, "directions")
        if self.model_version is not None:
            _text(self.model_version, "model version", 100, empty=False)
        _number(self.started, "started")


@dataclass(frozen=True)
class FeedbackRow(Row):
    """What a listener thought (``kind``: like, too_fast …; ``rating`` where there is one),
    about which performance, at which bar and second of it."""

    TABLE: ClassVar[str] = "feedback"
    KEY: ClassVar[str] = "id"
    TIME: ClassVar[str | None] = "at"
    JSON: ClassVar[frozenset[str]] = frozenset({"aspects"})

    kind: str
    performance_id: str | None = None
    profile_id: str | None = None
    rating: float | None = None
    aspects: dict[str, Any] = field(default_factory=dict)
    bar: int = 0
    seconds: float = 0.0  # into the performance
    at: float = field(default_factory=time.time)
    id: str = field(default_factory=new_id)

    def __post_init__(self) -> None:
        _text(self.kind, "feedback kind", 40, empty=False)
        _maybe_id(self.performance_id, "performance id")
        _maybe_id(self.profile_id, "profile id")
        if self.rating is not None:
            _number(self.rating, "rating")
        _json(self.aspects, "aspects")
        _number(self.bar, "bar")
        _number(self.seconds, "seconds")
        _number(self.at, "at")
        _text(self.id, "feedback id", MAX_ID, empty=False)


@dataclass(frozen=True)
class DirectionRow(Row):
    """A direction applied to a performance from a bar on: the words, the direction classes
    and strengths they meant, where they came from (``SOURCES``) and who gave them."""

    TABLE: ClassVar[str] = "directions_applied"
    KEY: ClassVar[str] = "id"
    TIME: ClassVar[str | None] = "at"
    JSON: ClassVar[frozenset[str]] = frozenset({"directions"})

    text: str
    source: str
    directions: list[Any] = field(default_factory=list)  # e.g. [["softer", 0.5], …]
    performance_id: str | None = None
    profile_id: str | None = None
    bar: int = 0
    at: float = field(default_factory=time.time)
    id: str = field(default_factory=new_id)

    def __post_init__(self) -> None:
        _text(self.text, "direction text", MAX_TEXT)
        if self.source not in SOURCES:
            raise ValueError(f"a direction's source must be one of {', '.join(SOURCES)}")
        _json(self.directions, "directions")
        _maybe_id(self.performance_id, "performance id")
        _maybe_id(self.profile_id, "profile id")
        _number(self.bar, "bar")
        _number(self.at, "at")
        _text(self.id, "direction id", MAX_ID, empty=False)


@dataclass(frozen=True, eq=False)
class UtteranceRow(Row):
    """Something said or typed to the box: the text, its language, the intents understood
    and the sentence embedding."""

    TABLE: ClassVar[str] = "utterances"
    KEY: ClassVar[str] = "id"
    TIME: ClassVar[str | None] = "at"
    JSON: ClassVar[frozenset[str]] = frozenset({"intents"})
    ARRAYS: ClassVar[frozenset[str]] = frozenset({"embedding"})

    text: str
    language: str = ""
    intents: list[Any] = field(default_factory=list)
    embedding: np.ndarray | None = None
    session_id: str | None = None
    profile_id: str | None = None
    at: float = field(default_factory=time.time)
    id: str = field(default_factory=new_id)

    def __post_init__(self) -> None:
        _text(self.text, "utterance", MAX_TEXT)
        _text(self.language, "language", 16)
        _json(self.intents, "intents")
        self._array("embedding")
        _maybe_id(self.session_id, "session id")
        _maybe_id(self.profile_id, "profile id")
        _number(self.at, "at")
        _text(self.id, "utterance id", MAX_ID, empty=False)


@dataclass(frozen=True, eq=False)
class FaceReadingRow(Row):
    """One analysed camera frame: the blendshape scores and the head pose (degrees). Never
    an image."""

    TABLE: ClassVar[str] = "face_readings"
    KEY: ClassVar[str] = "id"
    TIME: ClassVar[str | None] = "at"
    ARRAYS: ClassVar[frozenset[str]] = frozenset({"blendshapes"})

    blendshapes: np.ndarray
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    performance_id: str | None = None
    profile_id: str | None = None
    at: float = field(default_factory=time.time)
    id: str = field(default_factory=new_id)

    def __post_init__(self) -> None:
        self._array("blendshapes")
        if self.blendshapes.size > 1024:
            raise ValueError("a face reading has at most 1024 blendshape scores")
        for name in ("yaw", "pitch", "roll", "at"):
            _number(getattr(self, name), name)
        _maybe_id(self.performance_id, "performance id")
        _maybe_id(self.profile_id, "profile id")
        _text(self.id, "face reading id", MAX_ID, empty=False)


@dataclass(frozen=True)
class AudioClipRow(Row):
    """A raw talk recording (16-bit little-endian mono PCM). Kept only when the settings ask
    for it (``keep_audio``; off by default)."""

    TABLE: ClassVar[str] = "audio_clips"
    KEY: ClassVar[str] = "id"
    TIME: ClassVar[str | None] = "at"

    samples: bytes
    sample_rate: int = 16_000
    utterance_id: str | None = None
    profile_id: str | None = None
    at: float = field(default_factory=time.time)
    id: str = field(default_factory=new_id)

    def __post_init__(self) -> None:
        if not isinstance(self.samples, bytes) or len(self.samples) % 2:
            raise ValueError("audio samples must be 16-bit PCM bytes")
        if len(self.samples) > MAX_AUDIO_BYTES:
            raise ValueError(f"an audio clip is at most {MAX_AUDIO_BYTES} bytes")
        if not isinstance(self.sample_rate, int) or not 4_000 <= self.sample_rate <= 192_000:
            raise ValueError("sample rate must be 4000–192000 Hz")
        _maybe_id(self.utterance_id, "utterance id")
        _maybe_id(self.profile_id, "profile id")
        _number(self.at, "at")
        _text(self.id, "audio clip id", MAX_ID, empty=False)


@dataclass(frozen=True)
class TasteRow(Row):
    """A listener's taste as the box learnt it from their feedback (the levels of
    :mod:`appliance.learn.taste`): ``owner`` is a profile's device id, or ``ROOM`` for
    everyone's."""

    TABLE: ClassVar[str] = "tastes"
    KEY: ClassVar[str] = "owner"
    JSON: ClassVar[frozenset[str]] = frozenset({"levels"})

    owner: str
    levels: dict[str, Any] = field(default_factory=dict)
    updated: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        _text(self.owner, "taste owner", MAX_ID, empty=False)
        _json(self.levels, "taste levels")
        _number(self.updated, "updated")


ROOM = "room"  # the owner of the room's taste (everyone's feedback)

ROW_TYPES: tuple[type[Row], ...] = (
    PieceRow,
    ModelVersionRow,
    SessionRow,
    ProfileRow,
    PerformanceRow,
    FeedbackRow,
    DirectionRow,
    UtteranceRow,
    FaceReadingRow,
    AudioClipRow,
    TasteRow,
)  # parents before children
