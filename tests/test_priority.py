"""The audio producer's thread gets real-time scheduling where the box allows it (root, or the
systemd unit's RLIMIT_RTPRIO); the other threads keep the normal class."""

import os
import threading

from appliance.audio.priority import favour_this_thread


def test_only_the_calling_thread_is_favoured():
    seen: dict[str, object] = {}

    def audio() -> None:
        seen["favoured"] = favour_this_thread()
        seen["policy"] = os.sched_getscheduler(0)

    thread = threading.Thread(target=audio)
    thread.start()
    thread.join()
    expected = os.SCHED_RR if seen["favoured"] else os.SCHED_OTHER
    assert seen["policy"] == expected
    if os.geteuid() == 0:  # CI and the box's service: allowed
        assert seen["favoured"] is True
    assert os.sched_getscheduler(0) == os.SCHED_OTHER  # the rest of the box is unchanged


_PRIORITIES = """
import json, os, threading, time
from appliance.process_priority import favour_this_process, yield_to_the_box

def nices():
    return sorted({os.getpriority(os.PRIO_PROCESS, int(t)) for t in os.listdir("/proc/self/task")})

stop = threading.Event()
early = threading.Thread(target=stop.wait)
early.start()
favoured = favour_this_process(-5)
after = nices()
later = {}
def report():
    later["nice"] = os.getpriority(os.PRIO_PROCESS, 0)
thread = threading.Thread(target=report)
thread.start(); thread.join()
stop.set(); early.join()
yield_to_the_box()
print(json.dumps([favoured, after, later["nice"], nices()]))
"""


def test_the_box_raises_every_thread_and_a_worker_steps_below_it():
    """Run in a child (this test process keeps its own priority)."""
    import json
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", _PRIORITIES], capture_output=True, text=True, check=True
    )
    favoured, after, later, worker = json.loads(out.stdout.strip().splitlines()[-1])
    if os.geteuid() == 0:
        assert favoured is True
        assert after == [-5]  # the thread started before is raised too
        assert later == -5  # a thread started afterwards inherits it
    else:
        assert favoured is False
    assert worker == [10]  # a worker is below the box and below ordinary processes
