"""The one thread that writes to the database, fed by a bounded queue.

Callers (the audio and render path, the asyncio loop) hand over a write and return at once:
:meth:`Writer.submit` never waits; when the queue is full the write is dropped and a warning
logged (at most once per ``WARN_EVERY`` seconds, with the count). Writes waiting together are
committed in one transaction (up to ``batch``). A write that breaks a constraint is skipped on
its own; a failing transaction (a full disk, an I/O error) is rolled back, logged and counted,
and the thread goes on with the next writes. Jobs (prune, forget, import) run alone on the
same thread, between batches, and their caller waits for them.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
Write = Callable[[sqlite3.Connection], None]
WARN_EVERY = 10.0  # seconds between warnings of one kind
LOCKED_TRIES = 8  # busy timeouts (15 s each) a batch waits for another process before it is lost


class _Warnings:
    """Log a kind of warning at most once per ``WARN_EVERY`` s, counting the ones held back."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()

    def warn(self, kind: str, message: str) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(kind, -WARN_EVERY) < WARN_EVERY:
                self._held[kind] = self._held.get(kind, 0) + 1
                return
            held = self._held.pop(kind, 0)
            self._last[kind] = now
        log.warning("%s%s", message, f" (and {held} more like it)" if held else "")


@dataclass(frozen=True)
class _Job:
    run: Callable[[sqlite3.Connection], Any]
    done: Future[Any]


@dataclass(frozen=True)
class _Stop:
    pass


@dataclass
class WriterCounts:
    """What became of the writes handed over."""

    committed: int = 0  # in a committed transaction
    dropped: int = 0  # the queue was full
    rejected: int = 0  # broke a constraint (e.g. a reference to a row that is gone)
    lost: int = 0  # in a transaction that failed (a full disk, an I/O error)
    transactions: int = 0  # committed


class Writer:
    """Owns ``conn`` (nothing else may use it once given) and writes through it on its own
    thread. ``idle`` runs on that thread every ``idle_every`` seconds (e.g. pruning)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        capacity: int,
        batch: int,
        idle: Callable[[sqlite3.Connection], object] | None = None,
        idle_every: float = 3600.0,
    ) -> None:
        self._conn = conn
        self._queue: queue.Queue[Write | _Job | _Stop] = queue.Queue(maxsize=capacity)
        self._batch = batch
        self._idle = idle
        self._idle_every = idle_every
        self._warnings = _Warnings()
        self._lock = threading.Lock()
        self.counts = WriterCounts()
        self.problem: str | None = None  # the last failure, for people
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="store-writer", daemon=True)
        self._thread.start()

    # --- callers' side ---------------------------------------------------------------------

    def submit(self, write: Write) -> bool:
        """Queue ``write``; False (dropped, warned) when the queue is full or closed. Never
        waits."""
        if self._closed:
            return False
        try:
            self._queue.put_nowait(write)
            return True
        except queue.Full:
            with self._lock:
                self.counts.dropped += 1
            self._warnings.warn(
                "full", "the box's memory is behind: a write was dropped (the queue is full)"
            )
            return False

    def run(self, job: Callable[[sqlite3.Connection], T], timeout: float | None = None) -> T:
        """Run ``job`` on the writer's thread after the writes queued before it, and return
        its result (or raise its exception). Waits; not for the audio path."""
        if self._closed:
            raise RuntimeError("the store is closed")
        done: Future[T] = Future()
        self._queue.put(_Job(job, done), timeout=timeout)
        return done.result(timeout=timeout)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every write queued so far has been committed (or failed)."""
        self.run(lambda conn: None, timeout=timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Commit what is queued, stop the thread and close the connection."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_Stop(), timeout=timeout)
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # --- the writer's thread ---------------------------------------------------------------

    def _loop(self) -> None:
        last_idle = time.monotonic()
        pending: Write | _Job | _Stop | None = None
        try:
            while True:
                if time.monotonic() >= last_idle + self._idle_every:  # even when busy
                    self._run_idle()
                    last_idle = time.monotonic()
                item = pending
                pending = None
                if item is None:
                    wait = max(0.0, last_idle + self._idle_every - time.monotonic())
                    try:
                        item = self._queue.get(timeout=wait)
                    except queue.Empty:
                        continue
                if isinstance(item, _Stop):
                    return
                if isinstance(item, _Job):
                    self._run_job(item)
                    continue
                batch = [item]
                while len(batch) < self._batch:
                    try:
                        nxt = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if not callable(nxt):
                        pending = nxt
                        break
                    batch.append(nxt)
                self._commit(batch)
        finally:
            self._conn.close()

    def _commit(self, batch: list[Write]) -> None:
        """Write a batch in one transaction. A database locked by another process (``appliance
        data forget`` rewriting the file while the box plays) is waited for, up to
        ``LOCKED_TRIES`` busy timeouts; any other failure loses the batch, said once."""
        for attempt in range(LOCKED_TRIES):
            try:
                self._commit_once(batch)
                return
            except Exception as exc:
                _rollback(self._conn)
                if _locked(exc) and attempt + 1 < LOCKED_TRIES:
                    continue
                with self._lock:
                    self.counts.lost += len(batch)
                self.problem = describe(exc)
                self._warnings.warn("failed", f"{self.problem} ({len(batch)} writes lost)")
                return

    def _commit_once(self, batch: list[Write]) -> None:
        conn = self._conn
        done, rejected = 0, list[str]()
        conn.execute("BEGIN IMMEDIATE")
        for write in batch:
            try:
                write(conn)
                done += 1
            except sqlite3.OperationalError:
                raise  # the transaction's failure (a full disk, I/O, locked): the caller's
            except Exception as problem:  # this row's own problem (a constraint, a bad value)
                rejected.append(str(problem))
        conn.execute("COMMIT")
        with self._lock:
            self.counts.committed += done
            self.counts.transactions += 1
            self.counts.rejected += len(rejected)
        for why in rejected:
            self._warnings.warn("rejected", f"the box's memory skipped a row: {why}")

    def _run_job(self, job: _Job) -> None:
        if not job.done.set_running_or_notify_cancel():
            return
        try:
            job.done.set_result(job.run(self._conn))
        except BaseException as exc:
            _rollback(self._conn)
            job.done.set_exception(exc)

    def _run_idle(self) -> None:
        if self._idle is None:
            return
        try:
            self._idle(self._conn)
        except Exception as exc:
            _rollback(self._conn)
            self.problem = describe(exc)
            self._warnings.warn("idle", self.problem)


def _locked(exc: BaseException) -> bool:
    """Whether a failure is another connection holding the database (worth waiting for)."""
    return isinstance(exc, sqlite3.OperationalError) and any(
        word in str(exc).lower() for word in ("locked", "busy")
    )


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def describe(exc: BaseException) -> str:
    """What a database failure means for people."""
    text = str(exc)
    if isinstance(exc, sqlite3.Error) and ("full" in text.lower() or "no space" in text.lower()):
        return "the box's memory could not be saved: the disk is full; free some space"
    if isinstance(exc, sqlite3.Error):
        return f"the box's memory could not be saved: {text}"
    return f"the box's memory ran into a problem: {type(exc).__name__}: {text}"
