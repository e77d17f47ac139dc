"""Opening the database file: the pragmas every connection uses, the checks made on opening
(schema version, damage), and setting a bad file aside as a backup."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

from appliance.store.errors import DamagedStore, NewerStore, StoreError
from appliance.store.schema import SCHEMA_VERSION, migrate, schema_version

log = logging.getLogger(__name__)

BUSY_MS = 15_000  # wait this long for another process's write (e.g. `appliance data` while
# the box runs) before giving up
WAL_LIMIT = 64 << 20  # the write-ahead log is truncated back to this after a checkpoint


def connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are begun explicitly), WAL journal,
    ``synchronous=FULL`` (a commit is on the disk before it returns: a killed process or a
    power cut loses no committed row), foreign keys on, deleted content overwritten
    (``secure_delete``). Usable from one thread at a time."""
    conn = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, timeout=BUSY_MS / 1000
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_MS:d}")
        if not read_only:
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # takes only on a new file
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(f"the journal cannot be set to WAL ({mode})")
            conn.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT:d}")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA secure_delete = ON")
        if read_only:
            conn.execute("PRAGMA query_only = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def _stamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def set_aside(path: Path, why: str) -> Path:
    """Move a damaged database (and its ``-wal``/``-shm`` files) aside, beside it, as
    ``<name>.<why>-<time>``; the backup's path. Nothing is deleted."""
    backup = path.with_name(f"{path.name}.{why}-{_stamp()}")
    n = 1
    while backup.exists():
        n += 1
        backup = path.with_name(f"{path.name}.{why}-{_stamp()}-{n}")
    for suffix in ("", "-wal", "-shm"):
        part = Path(f"{path}{suffix}")
        if part.exists():
            part.rename(Path(f"{backup}{suffix}"))
    return backup


def copy_aside(conn: sqlite3.Connection, path: Path, why: str) -> Path:
    """A consistent copy of an open database beside it (``<name>.<why>``), made once: an
    existing copy is kept."""
    backup = path.with_name(f"{path.name}.{why}")
    if not backup.exists():
        tmp = backup.with_name(backup.name + ".tmp")
        target = sqlite3.connect(tmp)
        try:
            conn.backup(target)
        finally:
            target.close()
        tmp.rename(backup)
    return backup


def open_database(path: Path) -> sqlite3.Connection:
    """The database at ``path``, created or migrated to the current schema and checked
    (``PRAGMA quick_check``).

    - damaged (not a database, or failing the check): the file is moved aside
      (:func:`set_aside`) and :class:`DamagedStore` says where;
    - written by a newer version of the box: it is left in place, a copy is made beside it,
      and :class:`NewerStore` says so;
    - any other failure (no permission, a full disk): :class:`StoreError`.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"the box's memory cannot be kept in {path.parent}: {exc}") from None
    conn: sqlite3.Connection | None = None
    try:
        # Looked at before anything is written to it: a damaged file is set aside as it was.
        conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_MS / 1000)
        conn.execute("PRAGMA query_only = ON")
        version = schema_version(conn)
        if version > SCHEMA_VERSION:
            backup = copy_aside(conn, path, f"schema{version}.bak")
            raise NewerStore(
                f"the box's memory {path} was written by a newer version of the box (schema "
                f"{version}; this one knows up to {SCHEMA_VERSION}); it is left as it is, with "
                f"a copy in {backup.name}, and the box plays on without its memory: update the "
                f"box, or move the file away to start a new memory",
                str(backup),
            )
        problems = [str(r[0]) for r in conn.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            raise sqlite3.DatabaseError("damaged: " + "; ".join(problems)[:300])
        conn.close()
        conn = connect(path)
        migrate(conn)
        return conn
    except StoreError:
        if conn is not None:
            conn.close()
        raise
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        if not _is_damage(exc):
            raise StoreError(f"the box's memory {path} cannot be opened: {exc}") from None
        backup = set_aside(path, "damaged")
        log.warning("memory %s damaged (%s), moved to %s", path, exc, backup)
        raise DamagedStore(
            f"the box's memory {path} was damaged ({exc}); it was moved to {backup.name} "
            "(nothing deleted)",
            str(backup),
        ) from None
    except OSError as exc:
        if conn is not None:
            conn.close()
        raise StoreError(f"the box's memory {path} cannot be opened: {exc}") from None


def _is_damage(exc: sqlite3.Error) -> bool:
    """Whether an error says the file itself is bad (rather than locked, full or forbidden)."""
    text = str(exc).lower()
    return any(
        word in text
        for word in ("malformed", "not a database", "corrupt", "file is encrypted", "damaged")
    )
