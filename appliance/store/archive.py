"""Portable archives of the memory: a zip of a consistent database snapshot (made with
SQLite's backup API) and ``manifest.json`` (format, schema version, the snapshot's SHA-256,
rows per table).

Reading one treats it as hostile: the archive's size, its members (exactly those two), the
bytes they unpack to (counted while unpacking; the headers are not believed), the manifest's
fields, the checksum, SQLite's full integrity check, the schema version and the schema's exact
text are all checked before a row is used.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from appliance.paths import file_sha256
from appliance.store.errors import StoreError
from appliance.store.schema import SCHEMA_VERSION, migrate, schema_version

FORMAT = "appliance-memory"
FORMAT_VERSION = 1
DATABASE = "store.sqlite3"
MANIFEST = "manifest.json"

MAX_ARCHIVE = 2 << 30  # bytes of the zip file
MAX_DATABASE = 4 << 30  # bytes the snapshot unpacks to
MAX_MANIFEST = 64 << 10
CHUNK = 1 << 20


@dataclass(frozen=True)
class Manifest:
    schema_version: int
    sha256: str
    created: float
    rows: dict[str, int]

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "schema_version": self.schema_version,
                "sha256": self.sha256,
                "created": self.created,
                "rows": self.rows,
            },
            indent=1,
        )

    @classmethod
    def parse(cls, text: bytes) -> Manifest:
        """The manifest in ``text``; :class:`StoreError` when it is not one of ours."""
        try:
            data = json.loads(text.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise StoreError("the archive's manifest is not valid JSON") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise StoreError("this is not an archive of the box's memory (unknown format)")
        if data.get("format_version") != FORMAT_VERSION:
            raise StoreError(f"unknown archive format version {data.get('format_version')!r}")
        version, sha, created, rows = (
            data.get(k) for k in ("schema_version", "sha256", "created", "rows")
        )
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise StoreError("the archive's manifest has no valid schema version")
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the archive was made by a newer version of the box (schema {version}; this "
                f"one knows up to {SCHEMA_VERSION}): update this box first"
            )
        if not isinstance(sha, str) or len(sha) != 64 or set(sha) - set("0123456789abcdef"):
            raise StoreError("the archive's manifest has no valid sha256")
        if not isinstance(created, int | float) or not isinstance(rows, dict):
            raise StoreError("the archive's manifest lacks its creation time or row counts")
        counts = {str(k): v for k, v in rows.items() if isinstance(v, int)}
        return cls(version, sha, float(created), counts)


def count_rows(conn: sqlite3.Connection) -> dict[str, int]:
    """Rows per table."""
    tables = [
        str(r[0])
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        )
    ]
    return {t: int(conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in tables}


def snapshot(source: sqlite3.Connection, target: Path) -> None:
    """A consistent copy of ``source``'s database at ``target`` (the backup API: writers may
    go on meanwhile)."""
    out = sqlite3.connect(target)
    try:
        source.backup(out, pages=4096)
        out.execute("PRAGMA journal_mode = DELETE")
    finally:
        out.close()


def export_archive(source: sqlite3.Connection, out: Path) -> Manifest:
    """Write an archive of ``source``'s database to ``out`` (replaced all at once)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".memory-export-", dir=out.parent) as work:
        snap = Path(work) / DATABASE
        snapshot(source, snap)
        conn = sqlite3.connect(snap)
        try:
            manifest = Manifest(schema_version(conn), "", time.time(), count_rows(conn))
        finally:
            conn.close()
        manifest = Manifest(
            manifest.schema_version, file_sha256(snap), manifest.created, manifest.rows
        )
        tmp = Path(work) / "archive.zip"
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as z:
            z.writestr(MANIFEST, manifest.to_json())
            z.write(snap, DATABASE)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, out)
    return manifest


def _unpack(z: zipfile.ZipFile, name: str, target: Path, limit: int) -> str:
    """Unpack member ``name`` to ``target``, counting bytes (at most ``limit``); its sha256."""
    digest = hashlib.sha256()
    size = 0
    with z.open(name) as src, open(target, "wb") as dst:
        while chunk := src.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise StoreError(f"the archive's {name} unpacks to more than {limit >> 20} MB")
            digest.update(chunk)
            dst.write(chunk)
    return digest.hexdigest()


def _expected_schema(version: int) -> set[tuple[str, str, str]]:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(conn, upto=version)
        return _schema(conn)
    finally:
        conn.close()


def _schema(conn: sqlite3.Connection) -> set[tuple[str, str, str]]:
    return {
        (str(t), str(n), str(s))
        for t, n, s in conn.execute("SELECT type, name, sql FROM sqlite_master")
    }


def open_archive(archive: Path, work: Path) -> tuple[Path, Manifest]:
    """Check the archive and unpack its database into the folder ``work``, migrated to the
    current schema: the database's path and the manifest. :class:`StoreError` naming the
    problem for anything that is not a sound archive of the box's memory."""
    archive = Path(archive)
    try:
        size = archive.stat().st_size
    except OSError as exc:
        raise StoreError(f"{archive} cannot be read: {exc}") from None
    if size > MAX_ARCHIVE:
        raise StoreError(
            f"{archive} is {size >> 20} MB; archives are at most {MAX_ARCHIVE >> 20} MB"
        )
    target = work / DATABASE
    try:
        with zipfile.ZipFile(archive) as z:
            names = [info.filename for info in z.infolist()]
            if sorted(names) != sorted([MANIFEST, DATABASE]):
                raise StoreError(
                    f"{archive} is not an archive of the box's memory (it should hold exactly "
                    f"{MANIFEST} and {DATABASE})"
                )
            manifest_path = work / MANIFEST
            _unpack(z, MANIFEST, manifest_path, MAX_MANIFEST)
            manifest = Manifest.parse(manifest_path.read_bytes())
            digest = _unpack(z, DATABASE, target, MAX_DATABASE)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError) as exc:
        raise StoreError(f"{archive} is not a readable zip archive ({exc})") from None
    except OSError as exc:
        raise StoreError(f"{archive} cannot be unpacked: {exc}") from None
    if digest != manifest.sha256:
        raise StoreError(f"{archive} is damaged: its database does not match its checksum")
    with open(target, "rb") as f:
        if f.read(16) != b"SQLite format 3\x00":
            raise StoreError(f"{archive} does not hold an SQLite database")
    _check_database(archive, target, manifest)
    return target, manifest


def _check_database(archive: Path, target: Path, manifest: Manifest) -> None:
    """The schema's exact text first (reading it parses the schema, evaluates nothing), so
    that nothing but the box's own tables, constraints and indexes is ever evaluated; then
    SQLite's full integrity check (constraints included), then the migrations."""
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        version = schema_version(conn)
        if version != manifest.schema_version:
            raise StoreError(f"{archive}: the database's schema is not the manifest's")
        if _schema(conn) != _expected_schema(version):
            raise StoreError(f"{archive}: the database's tables are not those of the box's memory")
        problems = [str(r[0]) for r in conn.execute("PRAGMA integrity_check(5)")]
        if problems != ["ok"]:
            raise StoreError(f"{archive} holds a damaged database: {'; '.join(problems)[:300]}")
        migrate(conn)
    except sqlite3.Error as exc:
        raise StoreError(f"{archive} holds a database that cannot be used: {exc}") from None
    finally:
        conn.close()
