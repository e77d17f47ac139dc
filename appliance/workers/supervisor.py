"""One worker process, kept alive: started, watched, and restarted when it dies or hangs.

The worker is a Python module run as its own process (``python -m MODULE``) that speaks the
JSON-lines protocol of :mod:`appliance.workers.lines`. :meth:`Worker.call` sends a request and
waits for its answer for at most ``timeout`` seconds; a worker that does not answer in time is
killed and started again, and a worker that dies (SIGKILL, out of memory, a crash in native
code) is noticed within a poll interval and started again, with growing pauses if it keeps
dying. A worker that beats (:mod:`appliance.workers.heartbeat`) and misses its beats for
``STALE`` seconds (stopped, or frozen) is taken for hung at once, without waiting for a call's
time limit. A call that meets any of these gets ``None`` — the caller tells the user "didn't
catch that"; nothing here ever blocks the audio path, which does not call it.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from appliance.workers import heartbeat
from appliance.workers.lines import MAX_LINE, decode, encode

log = logging.getLogger(__name__)

POLL = 0.1  # seconds between checks that the process is alive
LONGEST_PAUSE = 10.0  # seconds between restarts at most when a worker keeps dying
WRITE_GRACE = 1.0  # s past a call's time limit that its request may still be being written


class Worker:
    def __init__(
        self,
        name: str,
        module: str = "",
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        ready_timeout: float = 120.0,
        on_event: Callable[[str], None] | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        """``python -m module args…`` (or ``command`` as given) as the worker named ``name``."""
        self.name = name
        self.argv = list(command) if command is not None else [sys.executable, "-m", module, *args]
        self.env = dict(env) if env is not None else None
        self.ready_timeout = ready_timeout
        self.on_event = on_event or (lambda message: log.info("%s", message))
        self.restarts = 0
        self.last_failure = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._ready = threading.Event()
        self._answers: dict[int, dict[str, Any]] = {}
        self._answered = threading.Condition()
        self._calls = threading.Lock()  # one request at a time
        self._spawn_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._closing = False
        self._failures = 0
        self._started_at = 0.0
        self._killed: subprocess.Popen[bytes] | None = None  # killed by us, not of itself
        self._overdue: dict[int, tuple[float, float]] = {}  # id → (hung after, timeout given)
        self._monitor: threading.Thread | None = None
        self.stale = heartbeat.STALE
        self._beats = Path(tempfile.mkdtemp(prefix=f"appliance-{name}-")) / "heartbeat"

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the process (it loads its model in the background) and watch it."""
        self._spawn()
        self._monitor = threading.Thread(target=self._watch, name=f"{self.name}-watch", daemon=True)
        self._monitor.start()

    def close(self) -> None:
        self._closing = True
        self._kill()
        if self._monitor is not None:
            self._monitor.join(timeout=2.0)
        shutil.rmtree(self._beats.parent, ignore_errors=True)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def wait_ready(self, timeout: float) -> bool:
        return self._ready.wait(timeout)

    # -- requests ------------------------------------------------------------------------------

    def call(
        self, request: Mapping[str, Any], timeout: float, hung_after: float | None = None
    ) -> dict[str, Any] | None:
        """The worker's answer to ``request``, or None when it is not ready in time, dies, or
        takes longer than ``timeout`` seconds. A worker that has not answered after
        ``hung_after`` seconds (default: ``timeout``) is taken for hung, killed and restarted;
        a longer ``hung_after`` lets a late answer come (and be dropped) without a restart."""
        deadline = time.monotonic() + timeout
        if not self._calls.acquire(timeout=max(timeout, 0.0)):
            return None
        try:
            if not self._ready.wait(max(deadline - time.monotonic(), 0.0)):
                return None
            proc = self._proc
            if proc is None or proc.stdin is None:
                return None
            number = next(self._ids)
            # Watched from before it is sent: a hung worker stops reading, and a request larger
            # than the pipe holds (a frame, an utterance) would block this write for good.
            hung = hung_after if hung_after is not None and hung_after > timeout else None
            self._overdue[number] = (
                deadline - timeout + (hung if hung is not None else timeout + WRITE_GRACE),
                hung if hung is not None else timeout,
            )
            try:
                proc.stdin.write(encode({**request, "id": number}))
                proc.stdin.flush()
            except (OSError, ValueError):  # it died (or was killed) under us: the monitor
                self._overdue.pop(number, None)  # says why and restarts it
                return None
            with self._answered:
                got = self._answered.wait_for(
                    lambda: number in self._answers or proc.poll() is not None,
                    max(deadline - time.monotonic(), 0.0),
                )
                answer = self._answers.pop(number, None)
            if answer is None and not got:
                if hung is None:
                    self._fail(f"gave no answer in {timeout:.1f} s", proc)
                # else the watcher kills it if it has not answered ``hung_after`` after sending
            elif answer is not None:
                self._failures = 0
            return answer
        finally:
            self._calls.release()

    # -- inside --------------------------------------------------------------------------------

    def _spawn(self) -> None:
        with self._spawn_lock:
            if self._closing:
                return
            self._ready.clear()
            self._beats.unlink(missing_ok=True)  # the new process's beats, not the last one's
            env = {**(self.env if self.env is not None else os.environ)}
            env[heartbeat.ENV] = str(self._beats)
            proc = subprocess.Popen(
                self.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                start_new_session=True,  # a Ctrl-C at the console is the box's, not the worker's
            )
            self._proc, self._started_at = proc, time.monotonic()
        threading.Thread(
            target=self._read, args=(proc,), name=f"{self.name}-read", daemon=True
        ).start()
        threading.Thread(
            target=self._drain, args=(proc.stderr,), name=f"{self.name}-stderr", daemon=True
        ).start()

    def _read(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for line in iter(lambda: proc.stdout.readline(MAX_LINE + 1), b""):  # type: ignore[union-attr]
            message = decode(line)
            if message is None:
                continue
            if message.get("ready") is True:
                self._ready.set()
            number = message.get("id")
            if isinstance(number, int):
                self._overdue.pop(number, None)
                with self._answered:
                    self._answers[number] = message
                    if len(self._answers) > 64:  # answers nobody waits for any more
                        self._answers.pop(next(iter(self._answers)))
                    self._answered.notify_all()

    def _drain(self, stream: IO[bytes] | None) -> None:
        if stream is None:
            return
        for line in iter(lambda: stream.readline(8192), b""):
            log.debug("%s: %s", self.name, line.decode(errors="replace").rstrip())

    def _watch(self) -> None:
        """Restart the process when it has died (of itself, or killed by :meth:`_fail`)."""
        while not self._closing:
            time.sleep(POLL)
            proc = self._proc
            if proc is None:
                continue
            code = proc.poll()
            if code is None:
                now = time.monotonic()
                for at, after in list(self._overdue.values()):
                    if now > at:
                        self._overdue.clear()
                        self._fail(f"gave no answer in {after:.1f} s", proc)
                        break
                silent = heartbeat.silent_for(self._beats)
                if silent is not None and silent > self.stale:
                    self._fail(f"stopped responding (no sign of life for {silent:.1f} s)", proc)
                    continue
                if not self._ready.is_set() and (
                    time.monotonic() - self._started_at > self.ready_timeout
                ):
                    self._fail(f"was not ready after {self.ready_timeout:.0f} s", proc)
                continue
            if self._closing:
                return
            if self._killed is not proc:
                self._record(f"exited with {_describe_exit(code)}")
            self._killed = None
            pause = (
                0.0 if self._failures <= 1 else min(LONGEST_PAUSE, 0.5 * 2 ** (self._failures - 2))
            )
            if pause:
                time.sleep(pause)
            self._spawn()

    def _fail(self, why: str, proc: subprocess.Popen[bytes]) -> None:
        """Kill ``proc`` (if it is still the current one); the watcher starts another."""
        with self._spawn_lock:
            if proc is not self._proc or self._closing:
                return
            self._ready.clear()
            self._killed = proc
        self._record(why)
        self._kill()
        with self._answered:
            self._answered.notify_all()  # now that it is dead, a caller waiting gives up

    def _record(self, why: str) -> None:
        self._overdue.clear()
        self.last_failure = why
        self._failures += 1
        self.restarts += 1
        self._ready.clear()
        with self._answered:
            self._answered.notify_all()  # a caller waiting on the dead process gives up now
        self.on_event(f"the {self.name} worker {why}: restarting it")

    def _kill(self) -> None:
        proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, 9)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=2.0)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()


def _describe_exit(code: int) -> str:
    return f"signal {-code}" if code < 0 else f"code {code}"
