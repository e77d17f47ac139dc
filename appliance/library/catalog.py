"""The box's piece library: an index of score files with what people call them.

The index is a JSON file in the box's data folder (``library/index.json``, written atomically,
with a copy of the last good one in ``index.json.bak``); the score files stay where they are
(the default pieces inside music21's corpus) or are copied into ``library/files/`` when added.
A damaged index never stops the box: it is set aside, the backup is used (else the shipped
pieces are installed again), and :attr:`Library.problems` says what happened.

A file added from outside is read in a child process with memory and time limits
(:mod:`appliance.score.sandbox`); the box later reads it in its own process while its content
still matches the checksum taken when it was added (shipped pieces are trusted).

Every piece has an id, composer, title, key, catalogue number and aliases in several
languages, so that "Chopin's mazurka in D major" or "the Bach prelude" can be matched
(:mod:`appliance.library.match`).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from appliance.errors import ApplianceError, ScoreError
from appliance.library.key import estimate_key
from appliance.library.note_cache import NoteCache
from appliance.paths import data_dir, file_sha256, write_atomically
from appliance.score.load import SCORE_SUFFIXES, load_trusted_score
from appliance.score.notes import Score
from appliance.score.sandbox import load_score

INDEX = "index.json"
BACKUP = INDEX + ".bak"
DAMAGED = INDEX + ".damaged"
_XML_SUFFIXES = (".musicxml", ".xml", ".mxl")
_GENERIC_STEMS = {"score", "xml_score", "midi_score", "piece", "music"}


@dataclass(frozen=True)
class Piece:
    id: str
    title: str
    composer: str = ""
    key: str = ""
    catalogue: str = ""
    aliases: tuple[str, ...] = ()
    path: str = ""  # absolute, or relative to the library folder
    source: str = "user"  # "music21" (shipped) | "user"
    licence: str = ""
    notes: int = 0
    opener: bool = True  # may open a session (the box's first, random piece)
    origin: str = ""  # the file it was added from (adding it again updates this piece)
    sha256: str = ""  # of the score file's content

    def describe(self) -> str:
        parts = [self.composer, self.title, self.catalogue, f"in {self.key}" if self.key else ""]
        return " ".join(p for p in parts if p)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Piece:
        known = {f for f in cls.__dataclass_fields__}
        values = {k: v for k, v in raw.items() if k in known}
        return cls(**{**values, "aliases": tuple(raw.get("aliases", ()))})


@dataclass
class Library:
    folder: Path
    pieces: dict[str, Piece] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # what went wrong opening it, for people
    _stamp: tuple[int, int] | None = None  # the index file's (mtime, size) when last read

    @property
    def cache(self) -> NoteCache:
        """The note tables of the scores read so far (see :mod:`appliance.library.note_cache`)."""
        return NoteCache(self.folder / "cache")

    @classmethod
    def open(cls, folder: Path | None = None) -> Library:
        """The library in ``folder``; a damaged index is replaced by its backup, else by an
        empty one (see :attr:`problems`)."""
        folder = folder or data_dir() / "library"
        lib = cls(folder)
        try:
            lib._read()
        except ApplianceError as exc:
            lib._recover(str(exc))
        return lib

    @property
    def index(self) -> Path:
        return self.folder / INDEX

    def _read(self) -> None:
        path = self.index
        if not path.exists():
            return
        stat = path.stat()
        self.pieces = _read_index(path)
        self._stamp = (stat.st_mtime_ns, stat.st_size)

    def _recover(self, damage: str) -> None:
        """Set the damaged index aside and start from the backup, else from nothing."""
        kept = self.folder / DAMAGED
        try:
            self.pieces = _read_index(self.folder / BACKUP)
            done = f"the {len(self.pieces)} pieces of the backup {BACKUP} are used instead"
        except ApplianceError:
            self.pieces = {}
            done = (
                "there is no usable backup, so the library starts again from the shipped "
                f"pieces (added scores are still in {self.folder / 'files'}: add them again)"
            )
        try:
            self.index.replace(kept)
            self.save()
        except OSError as exc:
            done += f"; the library could not be written ({exc})"
        self.problems.append(f"{damage}: {done}; the damaged index is kept as {kept}")

    def refresh(self) -> bool:
        """Read the index again if another process (``appliance library add``) changed it;
        True if it did. A damaged index keeps the pieces known so far."""
        try:
            stat = self.index.stat()
        except OSError:
            return False
        if self._stamp == (stat.st_mtime_ns, stat.st_size):
            return False
        try:
            self._read()
        except ApplianceError:
            return False
        return True

    def save(self) -> None:
        """Write the index atomically, then its backup; nothing is left behind on failure."""
        self.folder.mkdir(parents=True, exist_ok=True)
        raw = {"pieces": [asdict(p) for p in sorted(self.pieces.values(), key=lambda p: p.id)]}
        text = readable(json.dumps(raw, indent=1, ensure_ascii=False) + "\n")
        write_atomically(self.index, text.encode("utf-8"))
        stat = self.index.stat()
        self._stamp = (stat.st_mtime_ns, stat.st_size)
        write_atomically(self.folder / BACKUP, text.encode("utf-8"))

    def __len__(self) -> int:
        return len(self.pieces)

    def file_of(self, piece: Piece) -> Path:
        path = Path(piece.path)
        return path if path.is_absolute() else self.folder / path

    def load(self, piece: Piece) -> Score:
        """The piece's score: read here if it is shipped or its content is what was checked
        when it was added, else in a child process with limits."""
        path = self.file_of(piece)
        digest = file_sha256(path) if path.is_file() else ""
        score = self.cache.get(digest, path) if digest else None
        if score is None:
            trusted = piece.source == "music21" or (bool(digest) and digest == piece.sha256)
            score = load_trusted_score(path) if trusted else load_score(path)
            if digest:
                self.cache.put(digest, score)
        return replace(
            score, title=piece.title or score.title, composer=piece.composer or score.composer
        )

    def add_file(
        self,
        path: Path,
        *,
        title: str = "",
        composer: str = "",
        catalogue: str = "",
        aliases: tuple[str, ...] = (),
        copy: bool = True,
        piece_id: str = "",
        source: str = "user",
        licence: str = "",
        opener: bool = True,
        trusted: bool = False,
    ) -> Piece:
        """Check that ``path`` is a playable score, then add it (copied into the library).
        The same file added again (same place or same content) updates its piece. The copy
        is what gets checked (in a child process with limits unless ``trusted``), and nothing
        is left behind when adding fails."""
        with self._staged(path, copy) as checked:
            try:
                score = load_trusted_score(checked) if trusted else load_score(checked)
            except ScoreError as exc:
                raise ApplianceError(f"not added: {readable(str(path))}: {exc.problem}") from None
            self.refresh()
            origin = readable(str(path.resolve()))
            digest = file_sha256(checked)
            self.cache.put(digest, score)  # playing it later costs no parsing
            earlier = self._same_file(origin, digest, source)
            title = readable(title or score.title or path.stem)
            composer = readable(composer or score.composer)
            pid = piece_id or (
                earlier.id if earlier else self._free_id(slug(f"{composer} {title}"))
            )
            if earlier is not None:
                aliases = aliases or earlier.aliases
                catalogue = catalogue or earlier.catalogue
            target = self.folder / "files" / f"{pid}{_suffix(checked)}" if copy else path
            piece = Piece(
                id=pid,
                title=title,
                composer=composer,
                key=estimate_key(score.notes),
                catalogue=readable(catalogue),
                aliases=tuple(readable(a) for a in aliases),
                path=str(target.relative_to(self.folder)) if copy else origin,
                source=source,
                licence=licence,
                notes=len(score.notes),
                opener=opener if earlier is None else earlier.opener and opener,
                origin=origin,
                sha256=digest,
            )
            self._commit(piece, checked if copy else None, target)
        return piece

    @contextmanager
    def _staged(self, path: Path, copy: bool) -> Iterator[Path]:
        """The file to check and index: ``path`` itself, or its copy in a staging folder inside
        the library (removed afterwards, with the copy if it was not kept)."""
        if not copy:
            yield path
            return
        files = self.folder / "files"
        files.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=files, prefix=".adding-") as staging:
            copied = Path(staging) / path.name
            try:
                shutil.copyfile(path, copied)
            except OSError as exc:
                raise ApplianceError(f"not added: {readable(str(path))}: {exc}") from None
            yield copied

    def _commit(self, piece: Piece, copied: Path | None, target: Path) -> None:
        """Move the checked copy into place and save the index, or undo both."""
        before = self.pieces.get(piece.id)
        new_file = copied is not None and not target.exists()
        try:
            if copied is not None:
                copied.replace(target)
            self.pieces[piece.id] = piece
            self.save()
        except BaseException:
            if before is None:
                self.pieces.pop(piece.id, None)
            else:
                self.pieces[piece.id] = before
            if new_file:
                target.unlink(missing_ok=True)
            raise

    def _same_file(self, origin: str, digest: str, source: str) -> Piece | None:
        """The piece added earlier from this file (same place or same content), of the same
        source: a shipped piece added by hand becomes a piece of its own."""
        for piece in self.pieces.values():
            same = piece.origin == origin or (piece.sha256 and piece.sha256 == digest)
            if same and piece.source == source:
                return piece
        return None

    def set_opener(self, piece_id: str, opener: bool) -> Piece:
        """Mark whether a piece may open a session."""
        self.refresh()
        piece = self.pieces.get(piece_id)
        if piece is None:
            raise ApplianceError(
                f"no piece {piece_id!r} in the library (see `appliance library list`)"
            )
        self.pieces[piece_id] = replace(piece, opener=opener)
        self.save()
        return self.pieces[piece_id]

    def add_folder(
        self,
        folder: Path,
        copy: bool = True,
        progress: Callable[[str], None] | None = None,
        trusted: bool = False,
    ) -> tuple[list[Piece], list[str]]:
        """Add every score file under ``folder`` not in the library yet; returns (added,
        problems). Where a folder holds MusicXML, its MIDI files are taken for performances and
        left out. Files with a generic name ("xml_score.musicxml") are titled by their folders."""
        added, problems = [], []
        known = {str(self.file_of(p).resolve()) for p in self.pieces.values()}
        files = [p for p in sorted(folder.rglob("*")) if p.is_file()]
        with_xml = {p.parent for p in files if p.suffix.lower() in _XML_SUFFIXES}
        for path in files:
            suffix = path.suffix.lower()
            if suffix not in SCORE_SUFFIXES or (
                suffix in (".mid", ".midi") and path.parent in with_xml
            ):
                continue
            if not copy and str(path.resolve()) in known:
                continue
            title = ""
            if path.stem.lower() in _GENERIC_STEMS:
                title = " ".join(path.parent.relative_to(folder.parent).parts).replace("_", " ")
            if progress:
                progress(str(path.relative_to(folder)))
            try:
                added.append(self.add_file(path, title=title, copy=copy, trusted=trusted))
            except ApplianceError as exc:
                problems.append(str(exc))
        return added, problems

    def remove(self, piece_id: str) -> Piece:
        self.refresh()
        piece = self.pieces.pop(piece_id, None)
        if piece is None:
            raise ApplianceError(
                f"no piece {piece_id!r} in the library (see `appliance library list`)"
            )
        path = self.file_of(piece)
        if piece.source == "user" and path.is_relative_to(self.folder) and path.exists():
            path.unlink()
        self.save()
        return piece

    def _free_id(self, base: str) -> str:
        base = base or "piece"
        pid, n = base, 2
        while pid in self.pieces:
            pid, n = f"{base}-{n}", n + 1
        return pid


def readable(text: str) -> str:
    """Text that can be written as UTF-8 and shown: bytes of a file name that were not UTF-8
    (which Python keeps as lone surrogates) become U+FFFD."""
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")


def _suffix(path: Path) -> str:
    """The suffix a library copy gets: the file's own if it is a score suffix, else one for
    what the content is."""
    own = path.suffix.lower()
    if own in SCORE_SUFFIXES:
        return own
    with path.open("rb") as f:
        head = f.read(4)
    return {b"MThd": ".mid", b"PK\x03\x04": ".mxl"}.get(head, ".musicxml")


def _read_index(path: Path) -> dict[str, Piece]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return {p["id"]: Piece.from_dict(p) for p in raw["pieces"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ApplianceError(f"the library index {path} is damaged ({exc})") from None


def slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]
