"""The understanding layer's fallback, answered by the language model's worker process.

:class:`LlmFallback` has the fallback's one method, ``intents(text, language, timeout)``, and
keeps a worker (:mod:`appliance.understand.llm_worker`) for it: started on first use (or by
:meth:`LlmFallback.start`), asked one request at a time over its stdin/stdout, and started
again on the next use after it died. It never raises for the worker's sake: no answer within
the time limit, a dead worker or a bad answer all give None, and the rules' answer stands.

This module imports no llama_cpp: the box's own process stays small.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from appliance.threads import worker_environment
from appliance.understand.intents import Intent, from_dict

log = logging.getLogger(__name__)

MARGIN = 0.05  # s: the worker is given this much less time than the caller waits
STOP_WAIT = 2.0  # s: a worker asked to end is killed after this


class _Worker:
    """One worker process and the thread that reads its answers."""

    def __init__(self, command: Sequence[str], threads: int) -> None:
        self.process = subprocess.Popen(
            list(command),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=worker_environment(threads),
        )
        self.ready = threading.Event()
        self.dead = threading.Event()
        self.replies: queue.Queue[dict[str, Any] | None] = queue.Queue()
        assert self.process.stdout is not None
        self._reader = threading.Thread(
            target=self._read, args=(self.process.stdout,), name="llm-worker-reader", daemon=True
        )
        self._reader.start()

    def _read(self, stdout: IO[bytes]) -> None:
        for line in stdout:
            try:
                message = json.loads(line)
            except ValueError:
                log.warning("the language model's worker wrote %r", line[:200])
                continue
            if not isinstance(message, dict):
                continue
            if message.get("ready") is True:
                self.ready.set()
            else:
                self.replies.put(message)
        self.dead.set()
        self.replies.put(None)  # wakes a request waiting for its answer

    @property
    def alive(self) -> bool:
        return not self.dead.is_set() and self.process.poll() is None

    def send(self, request: dict[str, Any]) -> bool:
        stdin = self.process.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps(request, ensure_ascii=False).encode() + b"\n")
            stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            return False
        return True

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.close()  # the worker ends at the end of its input
                self.process.wait(STOP_WAIT)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None and not stream.closed:
                with contextlib.suppress(OSError):
                    stream.close()


class LlmFallback:
    """The fallback protocol over a worker process running the language model.

    ``threads``: the worker's CPU threads; ``model``: its GGUF file (default: the installed
    one); ``command``: the worker's command line (default: this Python running
    :mod:`appliance.understand.llm_worker`)."""

    def __init__(
        self,
        threads: int = 2,
        model: Path | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        if command is None:
            command = [sys.executable, "-m", "appliance.understand.llm_worker"]
            command += ["--threads", str(threads)]
            command += ["--model", str(model)] if model is not None else []
        self._command = list(command)
        self._threads = threads
        self._worker: _Worker | None = None
        self._lock = threading.Lock()
        self._next_id = 0

    @property
    def pid(self) -> int | None:
        """The running worker's process id (None before it starts)."""
        worker = self._worker
        return None if worker is None else worker.process.pid

    def start(self) -> None:
        """Start the worker now (it loads the model), unless it runs already."""
        with self._lock:
            self._running()

    def wait_ready(self, timeout: float) -> bool:
        """Start the worker if needed and wait until its model is loaded."""
        with self._lock:
            worker = self._running()
        return worker.ready.wait(timeout) and worker.alive

    def _running(self) -> _Worker:
        if self._worker is not None and not self._worker.alive:
            log.info(
                "the language model's worker ended (%s); starting it again",
                self._worker.process.poll(),
            )
            self._worker.stop()
            self._worker = None
        if self._worker is None:
            self._worker = _Worker(self._command, self._threads)
        return self._worker

    def intents(self, text: str, language: str, timeout: float) -> tuple[Intent, ...] | None:
        """The model's intents for ``text``, or None: no answer within ``timeout`` s (the
        model still loading, busy, or too slow), the worker died, or the answer was invalid."""
        deadline = time.monotonic() + timeout
        if not self._lock.acquire(timeout=max(timeout, 0.0)):
            return None
        try:
            worker = self._running()
            if not worker.ready.wait(max(deadline - time.monotonic(), 0.0)):
                return None
            left = deadline - time.monotonic() - MARGIN
            if left <= 0:
                return None
            self._next_id += 1
            request = {"id": self._next_id, "text": text, "language": language, "timeout": left}
            if not worker.send(request):
                return None
            return self._await(worker, self._next_id, deadline)
        finally:
            self._lock.release()

    @staticmethod
    def _await(worker: _Worker, rid: int, deadline: float) -> tuple[Intent, ...] | None:
        while True:
            try:
                reply = worker.replies.get(timeout=max(deadline - time.monotonic(), 0.0))
            except queue.Empty:
                return None
            if reply is None:  # the worker died
                return None
            if reply.get("id") != rid:
                continue  # the late answer to an earlier request that timed out here
            raw = reply.get("intents")
            if not isinstance(raw, list) or not raw:
                return None
            try:
                return tuple(from_dict(item) for item in raw)
            except ValueError:
                log.warning("the language model's worker answered %r", raw)
                return None

    def close(self) -> None:
        """End the worker (it is started again on the next use)."""
        with self._lock:
            if self._worker is not None:
                self._worker.stop()
                self._worker = None

    def __enter__(self) -> LlmFallback:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
