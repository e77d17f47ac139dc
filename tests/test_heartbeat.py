"""A worker that stops (SIGSTOP) in the middle of a request is found by its missing heartbeat
within 2 s — not at the request's time limit — killed and started again, and the caller gets
None at once (the phone hears "didn't catch that")."""

from __future__ import annotations

import os
import signal
import sys
import textwrap
import threading
import time
from pathlib import Path

from appliance.workers.heartbeat import silent_for
from appliance.workers.supervisor import Worker

SLOW_WORKER = textwrap.dedent(
    """
    import sys, time
    from appliance.workers.heartbeat import start_heartbeat
    from appliance.workers.lines import answer_requests, encode
    if sys.argv[1] == "beat":
        start_heartbeat()
    sys.stdout.buffer.write(encode({"ready": True})); sys.stdout.buffer.flush()
    def answer(request):
        time.sleep(request.get("sleep", 0))  # a long C call lets the heartbeat run, as this does
        return {"ok": True}
    answer_requests(answer, sys.stdin.buffer, sys.stdout.buffer)
    """
)


def _worker(tmp_path: Path, beat: bool) -> Worker:
    script = tmp_path / "slow_worker.py"
    script.write_text(SLOW_WORKER)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    worker = Worker(
        "slow", command=[sys.executable, str(script), "beat" if beat else "quiet"], env=env
    )
    worker.start()
    assert worker.wait_ready(20.0)
    return worker


def test_a_stopped_worker_is_restarted_within_two_seconds(tmp_path: Path) -> None:
    worker = _worker(tmp_path, beat=True)
    try:
        assert worker.call({"sleep": 2.0}, timeout=10.0) == {"ok": True, "id": 1}  # busy ≠ hung
        assert worker.restarts == 0
        pid = worker.pid
        assert pid is not None
        stopped: list[float] = []

        def stop() -> None:
            time.sleep(0.2)
            os.kill(pid, signal.SIGSTOP)
            stopped.append(time.monotonic())

        threading.Thread(target=stop, daemon=True).start()
        answer = worker.call({"sleep": 1.0}, timeout=10.0)
        told = time.monotonic() - stopped[0]
        assert answer is None and told < 2.0, f"the caller waited {told:.2f} s"
        while worker.pid in (None, pid) and time.monotonic() - stopped[0] < 5:
            time.sleep(0.01)
        restarted = time.monotonic() - stopped[0]
        assert worker.pid not in (None, pid) and restarted < 2.0, restarted
        assert worker.restarts == 1 and "stopped responding" in worker.last_failure
        print(f"told after {told:.2f} s, restarted after {restarted:.2f} s")
        assert worker.wait_ready(20.0)
        assert worker.call({}, timeout=5.0) is not None  # the new one answers
    finally:
        worker.close()


def test_a_worker_that_does_not_beat_is_judged_by_its_time_limits_only(tmp_path: Path) -> None:
    worker = _worker(tmp_path, beat=False)
    try:
        time.sleep(2.0)
        assert worker.restarts == 0 and worker.call({}, timeout=5.0) is not None
    finally:
        worker.close()


def test_no_beat_yet_is_not_silence(tmp_path: Path) -> None:
    assert silent_for(tmp_path / "none") is None
    (tmp_path / "beat").touch()
    silent = silent_for(tmp_path / "beat")
    assert silent is not None and 0 <= silent < 1.0
