"""The box's piece library: an index of score files with what people call them.

The index is a JSON file in the box's data folder (``library/index.json``, written atomically);
the score files stay where they are (the default pieces inside music21's corpus) or are copied
into ``library/files/`` when added. Every piece has an id, composer, title, key, catalogue
number and aliases in several languages, so that "Chopin's mazurka in D major" or "the Bach
prelude" can be matched (:mod:`appliance.library.match`).
"""

from __future__ import annotations

import json
import re
import shutil
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from appliance.errors import ApplianceError, ScoreError
from appliance.library.key import estimate_key
from appliance.paths import data_dir, file_sha256
from appliance.score.load import SCORE_SUFFIXES, load_score
from appliance.score.notes import Score

INDEX = "index.json"
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
    _stamp: tuple[int, int] | None = None  # the index file's (mtime, size) when last read

    @classmethod
    def open(cls, folder: Path | None = None) -> Library:
        folder = folder or data_dir() / "library"
        lib = cls(folder)
        lib._read()
        return lib

    @property
    def index(self) -> Path:
        return self.folder / INDEX

    def _read(self) -> None:
        path = self.index
        if not path.exists():
            return
        try:
            stat = path.stat()
            raw = json.loads(path.read_text())
            self.pieces = {p["id"]: Piece.from_dict(p) for p in raw["pieces"]}
            self._stamp = (stat.st_mtime_ns, stat.st_size)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ApplianceError(f"the library index {path} is damaged ({exc})") from None

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
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.index
        tmp = path.with_suffix(".tmp")
        raw = {"pieces": [asdict(p) for p in sorted(self.pieces.values(), key=lambda p: p.id)]}
        tmp.write_text(json.dumps(raw, indent=1, ensure_ascii=False) + "\n")
        tmp.replace(path)
        stat = path.stat()
        self._stamp = (stat.st_mtime_ns, stat.st_size)

    def __len__(self) -> int:
        return len(self.pieces)

    def file_of(self, piece: Piece) -> Path:
        path = Path(piece.path)
        return path if path.is_absolute() else self.folder / path

    def load(self, piece: Piece) -> Score:
        score = load_score(self.file_of(piece))
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
    ) -> Piece:
        """Check that ``path`` is a playable score, then add it (copied into the library).
        The same file added again (same place or same content) updates its piece."""
        try:
            score = load_score(path)
        except ScoreError as exc:
            raise ApplianceError(f"not added: {exc}") from None
        if len(score.notes) == 0:
            raise ApplianceError(f"not added: {path} has no notes")
        self.refresh()
        origin = str(path.resolve())
        digest = file_sha256(path)
        earlier = self._same_file(origin, digest, source)
        name = f"{composer or score.composer} {title or score.title}"
        pid = piece_id or (earlier.id if earlier else self._free_id(slug(name)))
        if earlier is not None:
            aliases = aliases or earlier.aliases
            catalogue = catalogue or earlier.catalogue
        stored = origin
        if copy:
            target = self.folder / "files" / f"{pid}{path.suffix.lower()}"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            stored = str(target.relative_to(self.folder))
        piece = Piece(
            id=pid,
            title=title or score.title or path.stem,
            composer=composer or score.composer,
            key=estimate_key(score.notes),
            catalogue=catalogue,
            aliases=aliases,
            path=stored,
            source=source,
            licence=licence,
            notes=len(score.notes),
            opener=opener if earlier is None else earlier.opener and opener,
            origin=origin,
            sha256=digest,
        )
        self.pieces[pid] = piece
        self.save()
        return piece

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
        self, folder: Path, copy: bool = True, progress: Callable[[str], None] | None = None
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
                added.append(self.add_file(path, title=title, copy=copy))
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


def slug(text: str) -> str:
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]
