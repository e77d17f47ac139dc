"""The understanding layer's fallback, answered by the language model's worker process.

:class:`LlmFallback` has the fallback's one method, ``intents(text, language, timeout)``, and
keeps a supervised worker (:mod:`appliance.understand.llm_worker` under
:class:`appliance.workers.supervisor.Worker`) for it: started on first use (or by
:meth:`LlmFallback.start`), asked one request at a time, restarted when it dies or hangs. It
never raises for the worker's sake: no answer within the time limit, a dead worker or a bad
answer all give None, and the rules' answer stands. The worker stops generating at the time
limit by itself; only one that has not answered ``HUNG_AFTER`` s past it is taken for hung
(restarting it costs seconds of loading, so a merely late answer is let through and dropped).

This module imports no llama_cpp: the box's own process stays small.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from appliance.threads import worker_environment
from appliance.understand.intents import Intent, from_dict
from appliance.workers.supervisor import Worker

log = logging.getLogger(__name__)

MARGIN = 0.05  # s: the worker is given this much less time than the caller waits
HUNG_AFTER = 5.0  # s past the time limit without an answer: the worker is hung


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
        self.worker = Worker(
            "language model", command=command, env=worker_environment(threads), ready_timeout=120
        )
        self._started = False
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        """The running worker's process id (None before it starts)."""
        return self.worker.pid if self._started else None

    def start(self) -> None:
        """Start the worker now (it loads the model), unless it runs already."""
        with self._lock:
            if not self._started:
                self._started = True
                self.worker.start()

    def wait_ready(self, timeout: float) -> bool:
        """Start the worker if needed and wait until its model is loaded."""
        self.start()
        return self.worker.wait_ready(timeout)

    def intents(self, text: str, language: str, timeout: float) -> tuple[Intent, ...] | None:
        """The model's intents for ``text``, or None: no answer within ``timeout`` s (the
        model still loading, busy, or too slow), the worker died, or the answer was invalid."""
        self.start()
        started = time.monotonic()
        if not self.worker.wait_ready(timeout):
            return None  # still loading (or starting again): the rules' answer stands
        left = timeout - (time.monotonic() - started) - MARGIN
        if left <= 0:
            return None
        request = {"text": text, "language": language, "timeout": left}
        wait = max(timeout - (time.monotonic() - started), 0.0)
        answer = self.worker.call(request, wait, hung_after=timeout + HUNG_AFTER)
        raw = None if answer is None else answer.get("intents")
        if not isinstance(raw, list) or not raw:
            return None
        try:
            return tuple(from_dict(item) for item in raw)
        except ValueError:
            log.warning("the language model's worker answered %r", raw)
            return None

    def close(self) -> None:
        """End the worker."""
        with self._lock:
            if self._started:
                self.worker.close()

    def __enter__(self) -> LlmFallback:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
