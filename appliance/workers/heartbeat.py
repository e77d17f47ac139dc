"""A worker's sign of life: a file whose time the worker renews five times a second.

The supervisor names the file in ``$APPLIANCE_HEARTBEAT``; :func:`start_heartbeat` (the first
thing a worker's ``main`` does) renews it from a thread of its own, so a model busy in a long C
call (which lets other threads run) still beats, while a stopped process (SIGSTOP: every thread
stops) or a dead one does not. A file that has not been renewed for ``STALE`` seconds means the
worker hangs: the supervisor kills and restarts it (:mod:`appliance.workers.supervisor`).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

ENV = "APPLIANCE_HEARTBEAT"
PERIOD = 0.2  # seconds between beats
STALE = 1.2  # seconds without a beat after which the worker is taken for hung (found ≤ 1.5 s)


def start_heartbeat(period: float = PERIOD) -> threading.Thread | None:
    """Beat from now on (nothing without ``$APPLIANCE_HEARTBEAT``: run by hand)."""
    name = os.environ.get(ENV)
    if not name:
        return None
    path = Path(name)

    def beat() -> None:
        while True:
            try:
                path.touch()
            except OSError:  # the supervisor's folder is gone: it is closing
                return
            time.sleep(period)

    thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
    thread.start()
    return thread


def silent_for(path: Path, now: float | None = None) -> float | None:
    """Seconds since the last beat (None: no beat yet, e.g. a worker that does not beat)."""
    try:
        last = path.stat().st_mtime
    except OSError:
        return None
    return (time.time() if now is None else now) - last
