"""What was said, written to the box's memory with its sentence embedding, off the
understanding thread.

Embedding a sentence takes tens of milliseconds; the thread that understands what people say
must not spend them (a phone's burst of commands would wait behind them and be refused). Each
utterance is handed to a thread of its own, which embeds it — only when the sentence model is
already loaded; it never waits for a load — and writes the row. When more than ``LIMIT`` wait,
the rest are written at once without an embedding, so nothing said is lost.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from appliance.understand.intents import Understanding, to_dict

log = logging.getLogger(__name__)

LIMIT = 200  # utterances waiting for their embedding
MAX_EMBEDDED = 500  # characters of an utterance embedded

Write = Callable[[str, str, list[object], str, np.ndarray | None], object]
Embedder = Callable[[], Callable[[str], np.ndarray] | None]  # the embedding, if loaded


@dataclass(frozen=True)
class _Said:
    text: str
    language: str
    intents: list[object]
    who: str


class SaidMemory:
    def __init__(self, write: Write, embedder: Embedder, limit: int = LIMIT) -> None:
        self.write = write  # (text, language, intents, who, embedding): writes the row
        self.embedder = embedder
        self._waiting: queue.Queue[_Said | None] = queue.Queue(limit)
        self._idle = threading.Condition()
        self._pending = 0
        self._thread = threading.Thread(target=self._work, name="said-memory", daemon=True)
        self._thread.start()

    def __call__(self, understanding: Understanding, who: str) -> None:
        """Remember an utterance (never waits)."""
        said = _Said(
            understanding.text,
            understanding.language,
            [to_dict(intent) for intent in understanding.intents],
            who,
        )
        with self._idle:
            self._pending += 1
        try:
            self._waiting.put_nowait(said)
        except queue.Full:
            self._store(said, None)
            self._finished()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until everything handed over is written (tests)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        try:
            self._waiting.put_nowait(None)
        except queue.Full:
            return
        self._thread.join(timeout=5.0)

    def _work(self) -> None:
        while (said := self._waiting.get()) is not None:
            try:
                self._store(said, self._embed(said.text))
            except Exception:  # never the end of remembering
                log.exception("remembering what was said failed")
            finally:
                self._finished()

    def _embed(self, text: str) -> np.ndarray | None:
        embed = self.embedder()
        if embed is None or not text.strip():
            return None
        try:
            return embed(text[:MAX_EMBEDDED])
        except Exception:  # the utterance is remembered without it
            log.exception("embedding an utterance failed")
            return None

    def _store(self, said: _Said, embedding: np.ndarray | None) -> None:
        self.write(said.text, said.language, said.intents, said.who, embedding)

    def _finished(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()
