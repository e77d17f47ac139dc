"""Fine-tuning on its own: the box learns from its listeners without anyone at a terminal.

Every ``EVERY`` seconds the playing box looks at its memory. When at least ``NEW_FEEDBACK``
pieces of feedback have come in since the model playing was made (or since the last fine-tune
tried), and the last try is at least ``REST`` ago, it takes a snapshot of the memory
(``Store.export``: the box keeps writing meanwhile) and runs ``export/finetune.py`` on it in a
process of its own, at the lowest priority and on one thread, with ``--use``: the new version
plays as soon as it is made (:mod:`appliance.perform.model_watch` switches between two notes),
and the one before stays for ``appliance model rollback``. What it printed goes to
``finetune.log`` in the data folder. It needs PyTorch (``make install-train``); without it,
or with ``APPLIANCE_AUTO_FINETUNE=0``, the box does not try.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from appliance.events import Event, Notice
from appliance.paths import data_dir
from appliance.render.versions import ModelVersions
from appliance.store.rows import FeedbackRow
from appliance.store.store import Store

log = logging.getLogger(__name__)

EVERY = 600.0  # seconds between looks at the memory
NEW_FEEDBACK = 50  # pieces of feedback that make a fine-tune worth it
REST = 24 * 3600.0  # seconds between two tries
TIME_LIMIT = 3600.0  # a fine-tune taking longer is given up


def enabled(environ: dict[str, str] | None = None) -> bool:
    """Whether the box fine-tunes on its own: PyTorch is there and it is not turned off."""
    env = os.environ if environ is None else environ
    if env.get("APPLIANCE_AUTO_FINETUNE", "1").strip().lower() in ("0", "no", "off", "false"):
        return False
    return importlib.util.find_spec("torch") is not None


class AutoFinetune:
    def __init__(
        self,
        store: Store,
        versions: ModelVersions,
        publish: Callable[[Event], None] | None = None,
        env: dict[str, str] | None = None,
        library: Path | None = None,
        steps: int = 0,
    ) -> None:
        self.store = store
        self.versions = versions
        self.publish = publish or (lambda event: None)
        self.env = env  # the fine-tune's environment (None: the box's)
        self.library = library
        self.steps = steps  # training steps (0: by the amount of feedback)
        self.last_try = 0.0  # when a fine-tune last started (seconds since the epoch)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._child: subprocess.Popen[bytes] | None = None

    def new_feedback(self) -> int:
        """Pieces of feedback since the playing version was made and since the last try."""
        since = max(self.versions.active()[0].created, self.last_try)
        return len(self.store.all(FeedbackRow, since=since))

    def due(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return now - self.last_try >= REST and self.new_feedback() >= NEW_FEEDBACK

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="auto-finetune", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        child = self._child
        if child is not None and child.poll() is None:
            child.kill()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def _run(self) -> None:
        while not self._stop.wait(EVERY):
            try:
                if self.due():
                    self.run_once()
            except Exception:  # never the end of the box: tried again at the next look
                log.exception("fine-tuning on its own failed")

    def run_once(self) -> bool:
        """Fine-tune now on a snapshot of the memory; True when a new version plays."""
        self.last_try = time.time()
        before = self.versions.active_name()
        folder = data_dir()
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".finetune-", dir=folder) as work:
            snapshot = Path(work) / "memory.zip"
            self.store.export(snapshot)
            command = [sys.executable, "-m", "export.finetune", "--threads", "1", "--use"]
            command += ["--steps", str(self.steps)]
            command += ["--archive", str(snapshot)]
            if self.library is not None:
                command += ["--library", str(self.library)]
            with open(folder / "finetune.log", "ab") as out:
                out.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
                out.flush()
                self._child = subprocess.Popen(
                    command,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                    preexec_fn=_lowest_priority,
                )
                try:
                    code = self._child.wait(timeout=TIME_LIMIT)
                except subprocess.TimeoutExpired:
                    self._child.kill()
                    code = self._child.wait()
                finally:
                    self._child = None
        after = self.versions.active_name()
        if code != 0 or after == before:
            log.warning("fine-tuning on its own made no new version (see finetune.log)")
            return False
        self.publish(
            Notice(f"learnt from the feedback: now playing model version {after}", kind="model")
        )
        return True


def _lowest_priority() -> None:
    os.nice(19)
