"""What was said goes to the memory with its embedding, off the understanding thread."""

import threading
import time

import numpy as np

from appliance.said_memory import SaidMemory
from appliance.understand.intents import Understanding


def _understood(text: str) -> Understanding:
    return Understanding(text=text, language="en", intents=())


def test_each_utterance_is_written_with_its_embedding_and_the_caller_never_waits():
    rows: list[tuple] = []
    gate = threading.Event()

    def slow_embed(text: str) -> np.ndarray:
        gate.wait(5)  # the sentence model busy for a while
        return np.full(4, len(text), np.float32)

    memory = SaidMemory(lambda *row: rows.append(row), lambda: slow_embed)
    started = time.monotonic()
    for k in range(20):
        memory(_understood(f"softer {k}"), "Ann")
    assert time.monotonic() - started < 0.5 and rows == []  # handed over, nothing waited
    gate.set()
    assert memory.wait_idle(10)
    assert [r[0] for r in rows] == [f"softer {k}" for k in range(20)]
    assert all(r[3] == "Ann" and r[4] is not None and r[4][0] == len(r[0]) for r in rows)
    memory.close()


def test_without_the_model_or_with_too_much_waiting_rows_have_no_embedding():
    rows: list[tuple] = []
    memory = SaidMemory(lambda *row: rows.append(row), lambda: None)
    memory(_understood("louder"), "Bea")
    assert memory.wait_idle(5) and rows[0][0] == "louder" and rows[0][4] is None
    blocked = threading.Event()
    crowded = SaidMemory(
        lambda *row: rows.append(row), lambda: lambda t: blocked.wait(5) or np.zeros(2), limit=2
    )
    for k in range(6):
        crowded(_understood(f"line {k}"), "Cy")
    written_at_once = [r for r in rows if r[0].startswith("line") and r[4] is None]
    assert len(written_at_once) >= 3  # beyond the limit: written now, without an embedding
    blocked.set()
    assert crowded.wait_idle(10)
    assert sorted(r[0] for r in rows if r[0].startswith("line")) == [f"line {k}" for k in range(6)]
    crowded.close()
    memory.close()
