"""The box's memory: one :class:`Store` per process, writing on a thread of its own.

Writes (:meth:`Store.put` and friends) are handed to the writer thread and return at once,
True if queued, False if dropped (the queue full: logged) or not kept (raw audio without the
setting). Reads run on the calling thread's own connection. Maintenance (prune, forget,
import) runs on the writer thread and its caller waits.

:func:`open_store` never raises: the music plays on without a memory. It returns the store,
or None, with what went wrong to show people (a damaged file is moved aside and a new memory
started; a file from a newer version of the box is left alone and the box goes without).
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from appliance.store import archive, forget, merge, retention
from appliance.store.codec import columns_of, from_columns, to_columns
from appliance.store.connection import connect, open_database
from appliance.store.errors import DamagedStore, StoreError
from appliance.store.rows import (
    AudioClipRow,
    ModelVersionRow,
    PerformanceRow,
    ProfileRow,
    Row,
)
from appliance.store.settings import StoreSettings, store_path
from appliance.store.writer import Writer, WriterCounts, describe

log = logging.getLogger(__name__)

R = TypeVar("R", bound=Row)
T = TypeVar("T")


def _upsert_sql(cls: type[Row]) -> str:
    columns = columns_of(cls)
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != cls.KEY)
    return (
        f"INSERT INTO {cls.TABLE} ({', '.join(columns)}) "
        f"VALUES ({', '.join(':' + c for c in columns)}) "
        f"ON CONFLICT ({cls.KEY}) DO UPDATE SET {updates}"
    )


_STUBS = {  # a row may name a profile, piece or model version not stored yet: a stub stands in
    "profile_id": "INSERT OR IGNORE INTO profiles (device_id, created) VALUES (?, ?)",
    "piece_id": "INSERT OR IGNORE INTO pieces (id, added) VALUES (?, ?)",
    "model_version": "INSERT OR IGNORE INTO model_versions (version, created) VALUES (?, ?)",
    # (a session forgotten or pruned by another process while the box still writes to it)
    "session_id": "INSERT OR IGNORE INTO sessions (id, started) VALUES (?, ?)",
}


def _write_row(row: Row) -> Callable[[sqlite3.Connection], None]:
    sql = _upsert_sql(type(row))
    values = to_columns(row)
    stubs = [(_STUBS[c], values[c]) for c in _STUBS if values.get(c) is not None]

    def write(conn: sqlite3.Connection) -> None:
        now = time.time()
        for stub, key in stubs:
            conn.execute(stub, (key, now))
        if isinstance(row, ModelVersionRow) and row.active:
            conn.execute("UPDATE model_versions SET active = 0 WHERE version != ?", (row.version,))
        conn.execute(sql, values)

    return write


@dataclass(frozen=True)
class Opening:
    """What :func:`open_store` got: the store (None: go on without one) and the problems to
    show people."""

    store: Store | None
    problems: tuple[str, ...] = ()


class Store:
    """The memory. Make one with :meth:`Store.open` (raises :class:`StoreError`) or
    :func:`open_store` (never raises); :meth:`close` it when done."""

    def __init__(self, path: Path, settings: StoreSettings, conn: sqlite3.Connection) -> None:
        self.path = path
        self.settings = settings
        self._readers: list[sqlite3.Connection] = []
        self._local = threading.local()
        self._lock = threading.Lock()
        # the session and performance being played (never pruned): table → id
        self.live: dict[str, str | None] = {"sessions": None, "performances": None}
        self._writer = Writer(
            conn,
            capacity=settings.queue_size,
            batch=settings.batch,
            idle=self._prune_now,
            idle_every=settings.prune_every,
        )

    @classmethod
    def open(cls, path: Path | None = None, settings: StoreSettings | None = None) -> Store:
        """Open (or create, or migrate) the memory at ``path`` (default: ``store.sqlite3`` in
        the data folder) and prune it to the retention limits. :class:`StoreError` when it
        cannot be used (see :func:`~appliance.store.connection.open_database`)."""
        path = Path(path) if path is not None else store_path()
        store = cls(path, settings or StoreSettings(), open_database(path))
        try:
            store.prune()
        except StoreError as exc:
            log.warning("%s", exc)
        return store

    # --- writing (never waits) ---------------------------------------------------------------

    def put(self, row: Row) -> bool:
        """Store ``row`` (a new row, or a new version of a row with its id: a session with its
        end, a profile with its new name, a model version made active — the others become
        inactive). Returns at once: True when queued."""
        if isinstance(row, AudioClipRow) and not self.settings.keep_audio:
            return False
        return self._writer.submit(_write_row(row))

    def put_many(self, rows: list[Row]) -> int:
        """:meth:`put` each row; how many were queued."""
        return sum(self.put(row) for row in rows)

    @property
    def counts(self) -> WriterCounts:
        """Writes committed, dropped (queue full), rejected (constraints) and lost (failed)."""
        return self._writer.counts

    @property
    def problem(self) -> str | None:
        """The last write failure, for people (e.g. a full disk), or None."""
        return self._writer.problem

    def flush(self, timeout: float | None = 60.0) -> None:
        """Wait until everything put so far is committed (or has failed)."""
        self._writer.flush(timeout)

    def close(self) -> None:
        """Commit what is queued, stop the writer and close every connection."""
        self._writer.close()
        with self._lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- reading (on the caller's own connection) -------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = connect(self.path, read_only=True)
            except sqlite3.Error as exc:
                raise StoreError(f"the box's memory cannot be read: {exc}") from None
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
            with self._lock:
                self._readers.append(conn)
        return conn

    def _select(self, cls: type[R], where: str = "", params: tuple[Any, ...] = ()) -> list[R]:
        order = f" ORDER BY {cls.TIME}" if cls.TIME else ""
        sql = f"SELECT * FROM {cls.TABLE}{where}{order}"
        try:
            rows = self._reader().execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"the box's memory cannot be read: {exc}") from None
        out = []
        for row in rows:
            try:
                out.append(from_columns(cls, row))
            except (ValueError, TypeError, KeyError) as exc:
                log.warning("skipped a damaged %s row: %s", cls.TABLE, exc)
        return out

    def get(self, cls: type[R], key: str) -> R | None:
        """The row of type ``cls`` with primary key ``key``, if stored."""
        found = self._select(cls, f" WHERE {cls.KEY} = ?", (key,))
        return found[0] if found else None

    def all(self, cls: type[R], since: float | None = None) -> list[R]:
        """Every row of type ``cls`` (in time order where it has a time; ``since``: only
        from then on)."""
        if since is not None and cls.TIME:
            return self._select(cls, f" WHERE {cls.TIME} >= ?", (since,))
        return self._select(cls)

    def of_profile(self, cls: type[R], device_id: str) -> list[R]:
        """The rows of type ``cls`` tied to a phone's profile."""
        if "profile_id" not in columns_of(cls):
            raise ValueError(f"{cls.__name__} rows are not tied to a profile")
        return self._select(cls, " WHERE profile_id = ?", (device_id,))

    def profiles_named(self, name: str) -> list[ProfileRow]:
        """The profiles whose display name is ``name`` (ignoring case)."""
        return [p for p in self.all(ProfileRow) if forget.same_name(p.name, name)]

    def active_model(self) -> ModelVersionRow | None:
        found = self._select(ModelVersionRow, " WHERE active = 1")
        return found[0] if found else None

    def performances_of(self, piece_id: str) -> list[PerformanceRow]:
        return self._select(PerformanceRow, " WHERE piece_id = ?", (piece_id,))

    def rows_per_table(self) -> dict[str, int]:
        try:
            return archive.count_rows(self._reader())
        except sqlite3.Error as exc:
            raise StoreError(f"the box's memory cannot be read: {exc}") from None

    def size_bytes(self) -> int:
        """The bytes the rows take in the file."""
        return retention.used_bytes(self._reader())

    # --- maintenance (on the writer's thread; the caller waits) ------------------------------

    def _job(self, job: Callable[[sqlite3.Connection], T], what: str) -> T:
        try:
            return self._writer.run(job, timeout=3600.0)
        except StoreError:
            raise
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{what} failed: {describe(exc)}") from None

    def _forgetting(
        self, job: Callable[[sqlite3.Connection], forget.ForgetReport], what: str
    ) -> forget.ForgetReport:
        """A forgetting job; then the mark every box using this memory looks at is moved, so
        that a box playing forgets what it holds of those people too (see
        :meth:`forgotten_at`)."""
        report = self._job(job, what)
        marker = self.path.with_name(self.path.name + ".forgotten")
        try:
            marker.write_text(f"{time.time()!r} {secrets.token_hex(8)}\n")
        except OSError as exc:
            log.warning("could not mark the memory as forgotten: %s", exc)
        return report

    def forgotten_at(self) -> str:
        """What the last forgetting on this memory (by any process) left in its mark; "" for
        none. It changes with every forgetting."""
        try:
            return self.path.with_name(self.path.name + ".forgotten").read_text()[:100]
        except OSError:
            return ""

    def _prune_now(self, conn: sqlite3.Connection) -> retention.PruneReport:
        report = retention.prune(
            conn,
            self.settings.keep_days,
            self.settings.keep_bytes,
            time.time(),
            live=dict(self.live),
        )
        if report.total:
            log.info("memory pruned: %d old rows deleted", report.total)
        return report

    def prune(self) -> retention.PruneReport:
        """Enforce the retention limits now (also done on opening and periodically)."""
        return self._job(self._prune_now, "pruning the memory")

    def forget_user(self, name: str) -> forget.ForgetReport:
        """Erase everything tied to the display name ``name`` (see :mod:`.forget`)."""
        if not name.strip():
            raise StoreError("name the person to forget (their display name)")
        return self._forgetting(lambda conn: forget.forget_user(conn, name), "forgetting")

    def forget_session(self, session_id: str, device_ids: list[str]) -> forget.ForgetReport:
        """Keep nothing of a session but anonymous feedback (see :mod:`.session_forget`);
        what is queued is written first."""
        from appliance.store.session_forget import forget_session

        self.flush()
        return self._forgetting(
            lambda conn: forget_session(conn, session_id, device_ids), "forgetting the session"
        )

    def forget_sessions_since(self, since: float, but: str) -> forget.ForgetReport:
        """Keep nothing but anonymous feedback of the sessions started at ``since`` or later
        except ``but`` (see :func:`.session_forget.forget_sessions_since`)."""
        from appliance.store.session_forget import forget_sessions_since

        self.flush()
        return self._forgetting(
            lambda conn: forget_sessions_since(conn, since, but, time.time()),
            "forgetting the sessions",
        )

    def forget_all(self) -> forget.ForgetReport:
        """Erase everything."""
        return self._forgetting(forget.forget_all, "forgetting")

    def export(self, out: Path) -> archive.Manifest:
        """Write a portable archive of everything committed so far to ``out``."""
        self.flush()
        try:
            source = connect(self.path, read_only=True)
        except sqlite3.Error as exc:
            raise StoreError(f"the box's memory cannot be read: {exc}") from None
        try:
            return archive.export_archive(source, Path(out))
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"exporting to {out} failed: {describe(exc)}") from None
        finally:
            source.close()

    def import_archive(self, path: Path) -> dict[str, tuple[int, int]]:
        """Merge an archive (from this box or another) into the memory, then prune; per table
        (rows added, rows in the archive). :class:`StoreError` naming what is wrong with a
        bad archive."""
        with tempfile.TemporaryDirectory(prefix=".memory-import-", dir=self.path.parent) as work:
            database, _ = archive.open_archive(Path(path), Path(work))
            report = self._job(lambda conn: merge.merge(conn, database), "importing")
        self.prune()
        return report


def open_store(path: Path | None = None, settings: StoreSettings | None = None) -> Opening:
    """The memory, or None and why (never raises: the box plays on without it)."""
    try:
        return Opening(Store.open(path, settings))
    except DamagedStore as exc:
        try:
            return Opening(
                Store.open(path, settings), (str(exc), "a new, empty memory was started")
            )
        except StoreError as again:
            return Opening(None, (str(exc), str(again)))
    except StoreError as exc:
        return Opening(None, (str(exc),))
