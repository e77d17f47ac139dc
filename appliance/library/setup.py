"""Building the default library (at install time, and whenever shipped pieces are missing)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from appliance.errors import ApplianceError
from appliance.library.catalog import Library
from appliance.library.corpus import LICENCE, SHIPPED, music21_corpus


def install_shipped(lib: Library, progress: Callable[[str], None] | None = None) -> list[str]:
    """Add the shipped pieces the library lacks; returns problems (a missing corpus file)."""
    problems = []
    corpus = music21_corpus()
    for item in SHIPPED:
        known = lib.pieces.get(item.id)
        if known is not None:
            if not item.opener and known.opener and not known.origin:  # indexed before openers
                lib.set_opener(item.id, False)
            continue
        path = corpus.joinpath(*item.path)
        if progress:
            progress(f"{item.composer}: {item.title}")
        try:
            lib.add_file(
                path,
                title=item.title,
                composer=item.composer,
                catalogue=item.catalogue,
                aliases=item.aliases,
                copy=False,
                piece_id=item.id,
                source="music21",
                licence=LICENCE,
                opener=item.opener,
                trusted=True,  # installed with the software, not from outside
            )
        except ApplianceError as exc:
            problems.append(str(exc))
    return problems


def open_library(folder: Path | None = None) -> Library:
    """The box's library, with the shipped pieces installed if they are missing (also when a
    damaged index had no usable backup: ``problems`` then says so)."""
    lib = Library.open(folder)
    if not any(p.source == "music21" for p in lib.pieces.values()):
        install_shipped(lib)
    return lib


def scores_library(scores: Path, index_root: Path | None = None) -> Library:
    """A development library of the scores under ``scores`` (e.g. the training data's), indexed
    in the cache (never in the repository), the files left where they are."""
    from appliance.library.catalog import slug
    from appliance.paths import cache_dir

    if not scores.is_dir():
        raise ApplianceError(f"--library {scores} is not a folder")
    root = index_root or cache_dir() / "libraries"
    lib = Library.open(root / slug(str(scores.resolve())))
    _, problems = lib.add_folder(scores, copy=False, trusted=True)  # the developer's own files
    if not lib.pieces:
        raise ApplianceError(f"no playable scores under {scores} ({len(problems)} refused)")
    return lib
