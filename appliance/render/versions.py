"""Versions of the neural renderer: the one that ships, and those made or installed since.

A version is a folder holding what the renderer needs (``renderer.json``, the ONNX graphs it
names, and optionally the steering vectors and descriptor anchors fitted to it) and a
``version.json`` manifest: its name, when it was made, the version it was made from, a note,
and the SHA-256 of every file. The shipped version is ``models_onnx/renderer`` (called
``shipped``); the others live under ``<data dir>/models/renderer/<version>/``.

Which version plays is kept in ``active.json`` beside them, with the versions used before it
(``rollback`` goes back one). Nothing is trusted blindly: a version's files are checked against
its manifest before it is used, and an archive to install is read with every size bounded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.errors import ApplianceError
from appliance.paths import data_dir, file_sha256, models_dir, write_atomically

SHIPPED = "shipped"
MANIFEST = "version.json"
ACTIVE = "active.json"
MODEL_FILE = "renderer.json"  # the renderer's description: names its graphs
OPTIONAL = ("directions.json", "descriptor_anchors.json", "descriptor_anchors.npy", "weights.npz")
HISTORY = 20  # versions remembered for rollback

MAX_MEMBER_BYTES = 64 << 20  # one file of an archive, unpacked
MAX_ARCHIVE_BYTES = 256 << 20  # the archive itself, and all its files unpacked
MAX_MEMBERS = 32
_PIECE = 1 << 20


@dataclass(frozen=True)
class ModelVersion:
    """One version of the renderer, as its manifest describes it."""

    version: str
    folder: Path
    created: float  # seconds since the epoch
    parent: str  # the version it was made from ("" for the shipped one)
    note: str  # how it was made (e.g. "fine-tuned on 240 ratings")
    files: tuple[tuple[str, str], ...]  # (file name, sha256)

    @property
    def shipped(self) -> bool:
        return self.version == SHIPPED


def versions_root() -> Path:
    return data_dir() / "models" / "renderer"


def shipped_folder() -> Path:
    return models_dir() / "renderer"


def model_files(folder: Path) -> list[str]:
    """The files a renderer folder is made of: its description, the graphs it names and the
    optional files fitted to it that are there."""
    meta_path = folder / MODEL_FILE
    try:
        meta = json.loads(meta_path.read_text())
        graphs = [str(name) for name in dict(meta["graphs"]).values()]
    except FileNotFoundError:
        raise ApplianceError(f"{meta_path} is missing: this is not a renderer model") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ApplianceError(f"{meta_path} is not a renderer description ({exc})") from None
    for name in graphs:
        if not _plain_name(name):
            raise ApplianceError(f"{meta_path} names a graph outside its folder: {name!r}")
    names = [MODEL_FILE, *graphs]
    names += [name for name in OPTIONAL if (folder / name).is_file()]
    return names


def _plain_name(name: str) -> bool:
    return bool(name) and name == Path(name).name and name not in (".", "..")


def digest_of(files: tuple[tuple[str, str], ...]) -> str:
    """One checksum for a version: of its files' names and checksums."""
    text = "\n".join(f"{name} {sha}" for name, sha in sorted(files))
    return hashlib.sha256(text.encode()).hexdigest()


class ModelVersions:
    """The renderer versions on this box, which one plays, and how to change it."""

    def __init__(self, root: Path | None = None, shipped: Path | None = None) -> None:
        self.root = root or versions_root()
        self.shipped_folder = shipped or shipped_folder()

    # -- reading -------------------------------------------------------------------------------

    def shipped(self) -> ModelVersion:
        files = tuple(
            (name, file_sha256(self.shipped_folder / name))
            for name in model_files(self.shipped_folder)
        )
        return ModelVersion(SHIPPED, self.shipped_folder, 0.0, "", "the model the box ships", files)

    def all(self) -> list[ModelVersion]:
        """Every version: the shipped one first, then the others oldest first (folders that are
        not versions are left out)."""
        found: list[ModelVersion] = []
        if self.root.is_dir():
            for folder in sorted(self.root.iterdir()):
                if folder.is_dir() and (folder / MANIFEST).is_file():
                    try:
                        found.append(self._read(folder))
                    except ApplianceError:
                        continue
        found.sort(key=lambda v: (v.created, v.version))
        return [self.shipped(), *found]

    def get(self, version: str) -> ModelVersion:
        if version == SHIPPED:
            return self.shipped()
        if not _plain_name(version):
            raise ApplianceError(f"{version!r} is not a version name")
        folder = self.root / version
        if not (folder / MANIFEST).is_file():
            known = ", ".join(v.version for v in self.all())
            raise ApplianceError(f"there is no model version {version!r} (there are: {known})")
        return self._read(folder)

    def _read(self, folder: Path) -> ModelVersion:
        path = folder / MANIFEST
        try:
            raw = json.loads(path.read_text())
            files = tuple((str(n), str(s)) for n, s in dict(raw["files"]).items())
            version = ModelVersion(
                str(raw["version"]),
                folder,
                float(raw["created"]),
                str(raw.get("parent", "")),
                str(raw.get("note", "")),
                files,
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ApplianceError(f"{path} is not a model version manifest ({exc})") from None
        if version.version != folder.name or not all(_plain_name(n) for n, _ in files):
            raise ApplianceError(f"{path} does not describe the folder it is in")
        return version

    def verify(self, version: ModelVersion) -> None:
        """Check every file of a version against its manifest (an ApplianceError says which
        file is missing or damaged and what to do)."""
        for name, sha in version.files:
            path = version.folder / name
            if not path.is_file():
                raise ApplianceError(
                    f"model version {version.version}: {name} is missing; "
                    "use another version (`appliance model use VERSION`) or install it again"
                )
            if file_sha256(path) != sha:
                raise ApplianceError(
                    f"model version {version.version}: {name} is damaged (its checksum does "
                    "not match); use another version or install it again"
                )

    # -- which one plays -----------------------------------------------------------------------

    def _pointer(self) -> tuple[str, list[str]]:
        path = self.root / ACTIVE
        try:
            raw = json.loads(path.read_text())
            return str(raw["version"]), [str(v) for v in raw.get("history", [])]
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return SHIPPED, []

    def active_name(self) -> str:
        return self._pointer()[0]

    def active(self) -> tuple[ModelVersion, str | None]:
        """The version to play, checked, and a problem when it could not be used (then the
        shipped version plays instead)."""
        name = self.active_name()
        if name == SHIPPED:
            return self.shipped(), None
        try:
            version = self.get(name)
            self.verify(version)
        except ApplianceError as exc:
            return self.shipped(), f"{exc}; playing the shipped model instead"
        return version, None

    def use(self, name: str) -> ModelVersion:
        """Make ``name`` the version that plays (checked first); a running box changes to it
        between two notes."""
        version = self.get(name)
        self.verify(version)
        current, history = self._pointer()
        if current != version.version:
            history = [current, *[h for h in history if h != current]][:HISTORY]
        self._write_pointer(version.version, history)
        return version

    def rollback(self) -> ModelVersion:
        """Go back to the version used before this one (skipping any no longer there)."""
        current, history = self._pointer()
        while history:
            previous, history = history[0], history[1:]
            if previous == current:
                continue
            try:
                version = self.get(previous)
                self.verify(version)
            except ApplianceError:
                continue
            self._write_pointer(version.version, history)
            return version
        raise ApplianceError("there is no earlier model version to go back to")

    def _write_pointer(self, name: str, history: list[str]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        data = json.dumps({"version": name, "history": history}, indent=1).encode()
        write_atomically(self.root / ACTIVE, data)

    # -- new versions --------------------------------------------------------------------------

    def add(self, folder: Path, parent: str, note: str = "") -> ModelVersion:
        """Copy a renderer folder in as a new version (made from ``parent``); returns it. The
        steering vectors and anchors of the parent are kept when the folder has none."""
        names = model_files(folder)
        parent_version = self.get(parent) if parent else None
        with tempfile.TemporaryDirectory(dir=self._staging()) as tmp:
            staging = Path(tmp)
            for name in names:
                shutil.copyfile(folder / name, staging / name)
            if parent_version is not None:
                for name in OPTIONAL:
                    if not (staging / name).exists() and (parent_version.folder / name).is_file():
                        shutil.copyfile(parent_version.folder / name, staging / name)
            return self._commit(staging, parent, note, time.time())

    def _staging(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root

    def _commit(self, staging: Path, parent: str, note: str, created: float) -> ModelVersion:
        """Write the manifest of the files in ``staging`` and move them into place as one."""
        files = tuple((name, file_sha256(staging / name)) for name in model_files(staging))
        for known in self.all()[1:]:
            if digest_of(known.files) == digest_of(files):
                return known  # the same model, already here
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(created))
        name = f"{stamp}-{digest_of(files)[:8]}"
        manifest = {
            "version": name,
            "created": created,
            "parent": parent,
            "note": note,
            "files": dict(files),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1))
        target = self.root / name
        if target.exists():
            existing = self._read(target)
            if digest_of(existing.files) == digest_of(files):
                return existing
            raise ApplianceError(f"a different model version {name} is already there")
        final = Path(tempfile.mkdtemp(dir=self.root, prefix=".incoming-"))
        for path in staging.iterdir():
            shutil.move(str(path), final / path.name)
        os.replace(final, target)
        return self._read(target)

    def export(self, name: str, out: Path) -> str:
        """Write a version as a portable archive (zip: its files and manifest); returns the
        archive's SHA-256, which ``install`` can be asked to check."""
        version = self.get(name)
        self.verify(version)
        manifest = {
            "version": version.version,
            "created": version.created,
            "parent": version.parent,
            "note": version.note,
            "files": dict(version.files),
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp")
        try:
            with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr(MANIFEST, json.dumps(manifest, indent=1))
                for file_name, _ in version.files:
                    archive.write(version.folder / file_name, file_name)
            os.replace(tmp, out)
        finally:
            tmp.unlink(missing_ok=True)
        return file_sha256(out)

    def install(self, archive: Path, sha256: str | None = None) -> ModelVersion:
        """Install a version from an archive made by ``export`` (on this box or another): the
        archive's checksum (when given), its size, every member's size and every file's
        checksum are checked before anything is kept. It is not made active."""
        if not archive.is_file():
            raise ApplianceError(f"{archive}: no such file")
        size = archive.stat().st_size
        if size > MAX_ARCHIVE_BYTES:
            raise ApplianceError(
                f"{archive}: {size >> 20} MB is over the {MAX_ARCHIVE_BYTES >> 20} MB limit"
            )
        if sha256 is not None:
            got = file_sha256(archive)
            if got != sha256.lower():
                raise ApplianceError(
                    f"{archive}: its checksum is {got[:16]}…, not the {sha256[:16]}… expected; "
                    "the file is damaged or another one"
                )
        with tempfile.TemporaryDirectory(dir=self._staging()) as tmp:
            staging = Path(tmp)
            manifest = _unpack(archive, staging)
            files = tuple((n, file_sha256(staging / n)) for n in model_files(staging))
            unpacked = {p.name for p in staging.iterdir()}
            if dict(files) != manifest.get("files") or unpacked != {n for n, _ in files}:
                raise ApplianceError(
                    f"{archive}: its files do not match its manifest (damaged or changed)"
                )
            created = float(manifest.get("created", time.time()))
            version = self._commit(
                staging, str(manifest.get("parent", "")), str(manifest.get("note", "")), created
            )
        return version


def _unpack(archive: Path, into: Path) -> dict[str, Any]:
    """The members of a model archive, written into ``into`` with every size bounded as it
    is read (the headers are not believed); returns its manifest."""
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                raise ApplianceError(f"{archive}: {len(infos)} files is too many for a model")
            total = 0
            for info in infos:
                name = info.filename
                if info.is_dir() or not _plain_name(name):
                    raise ApplianceError(f"{archive}: unexpected member {name!r}")
                with zf.open(info) as src, open(into / name, "wb") as dst:
                    written = 0
                    while piece := src.read(_PIECE):
                        written += len(piece)
                        total += len(piece)
                        if written > MAX_MEMBER_BYTES or total > MAX_ARCHIVE_BYTES:
                            raise ApplianceError(f"{archive}: {name} unpacks too large")
                        dst.write(piece)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError) as exc:
        raise ApplianceError(f"{archive}: not a model archive ({exc})") from None
    try:
        manifest = json.loads((into / MANIFEST).read_text())
        if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
            raise ValueError("no file list")
    except (OSError, ValueError) as exc:
        raise ApplianceError(f"{archive}: no valid {MANIFEST} in it ({exc})") from None
    (into / MANIFEST).unlink()
    return manifest
