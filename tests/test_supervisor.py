"""The worker supervisor: answers, timeouts, crashes and restarts with a real child process."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from appliance.workers.lines import MAX_LINE, decode, encode
from appliance.workers.supervisor import Worker


@pytest.fixture
def worker() -> Iterator[Worker]:
    w = Worker("echo", "tests.echo_worker")
    w.start()
    assert w.wait_ready(30.0)
    yield w
    w.close()


def test_lines_are_bounded_json_objects() -> None:
    assert decode(encode({"id": 1, "text": "é"})) == {"id": 1, "text": "é"}
    assert decode(b"chatter\n") is None
    assert decode(b"[1, 2]\n") is None
    assert decode(b"{not json\n") is None
    assert decode(b"{" + b" " * MAX_LINE + b"}") is None
    with pytest.raises(ValueError):
        encode({"x": "a" * MAX_LINE})


def test_a_request_gets_its_own_answer(worker: Worker) -> None:
    for n in range(5):
        answer = worker.call({"n": n}, timeout=5.0)
        assert answer is not None and answer["n"] == n
    assert worker.restarts == 0


def test_a_hung_worker_is_killed_and_restarted(worker: Worker) -> None:
    first = worker.pid
    started = time.monotonic()
    assert worker.call({"delay": 30.0}, timeout=0.5) is None
    assert time.monotonic() - started < 1.5
    assert worker.wait_ready(10.0)
    answer = worker.call({"n": 1}, timeout=5.0)
    assert answer is not None and answer["pid"] != first
    assert worker.restarts == 1 and "no answer" in worker.last_failure


def test_a_killed_worker_is_restarted_within_two_seconds(worker: Worker) -> None:
    first = worker.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    started = time.monotonic()
    assert worker.wait_ready(0.1) is False or worker.pid == first
    deadline = started + 10.0
    while (worker.pid == first or not worker.ready) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert worker.ready and worker.pid != first
    assert time.monotonic() - started < 2.0, "restart took too long"
    assert "signal 9" in worker.last_failure
    answer = worker.call({"n": 2}, timeout=5.0)
    assert answer is not None and answer["n"] == 2


def test_a_worker_dying_mid_request_answers_none_at_once(worker: Worker) -> None:
    started = time.monotonic()
    assert worker.call({"exit": 3}, timeout=10.0) is None
    assert time.monotonic() - started < 2.0
    assert worker.wait_ready(10.0)
    assert worker.call({"n": 3}, timeout=5.0) is not None
    assert "code 3" in worker.last_failure


def test_a_worker_that_keeps_dying_is_restarted_with_pauses(worker: Worker) -> None:
    for _ in range(3):
        assert worker.wait_ready(10.0)
        worker.call({"exit": 1}, timeout=5.0)
    assert worker.restarts == 3
    assert worker.wait_ready(10.0)
    assert worker.call({"n": 4}, timeout=5.0) is not None


def test_a_late_answer_is_dropped_without_a_restart_until_the_worker_is_hung(
    worker: Worker,
) -> None:
    started = time.monotonic()
    assert worker.call({"delay": 0.6}, timeout=0.2, hung_after=5.0) is None
    assert time.monotonic() - started < 0.5
    answer = worker.call({"n": 7}, timeout=5.0, hung_after=10.0)  # after the late one
    assert answer is not None and answer["n"] == 7 and worker.restarts == 0
    first = worker.pid
    assert worker.call({"delay": 30.0}, timeout=0.2, hung_after=1.0) is None
    assert worker.restarts == 0
    time.sleep(1.5)
    assert worker.restarts == 1 and "no answer in 1.0 s" in worker.last_failure
    assert worker.wait_ready(10.0) and worker.pid != first


def test_a_stopped_worker_that_no_longer_reads_a_large_request_is_restarted(
    worker: Worker,
) -> None:
    """A hung worker stops reading its input: a request larger than the pipe holds (a camera
    frame, an utterance) would block the caller's write for good; it is given up at the time
    limit instead, and the worker restarted."""
    first = worker.pid
    assert first is not None
    os.kill(first, signal.SIGSTOP)
    answers: list[object] = []
    calling = threading.Thread(
        target=lambda: answers.append(worker.call({"blob": "x" * 1_000_000}, 0.5, 1.0)),
        daemon=True,
    )
    calling.start()
    calling.join(2.0)
    if calling.is_alive():
        os.kill(first, signal.SIGKILL)  # let the stuck caller go before failing
        pytest.fail("the caller was still blocked after 2 s")
    assert answers == [None]
    assert worker.wait_ready(10.0) and worker.pid != first
    assert worker.restarts == 1 and "no answer" in worker.last_failure
    answer = worker.call({"n": 8}, timeout=5.0)
    assert answer is not None and answer["n"] == 8
