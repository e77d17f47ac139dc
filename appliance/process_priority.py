"""The box before everything else on the machine, and its workers after it.

The audio producer thread runs in the real-time class (:mod:`appliance.audio.priority`), but
that is not enough: every thread of the box shares one interpreter lock, and the render-ahead
thread and PulseAudio's client side feed the same sound. With both cores saturated by
processes of normal priority the sound path fell behind real time for seconds at a time
(``python -m export.bench_engine --nice 0``); with the whole box at nice −10 it kept up (``make
bench``). :func:`favour_this_process` raises every thread of the box (threads started later
inherit their creator's niceness); workers (reading scores, and speech, faces and learning to
come) lower themselves with :func:`yield_to_the_box`, so heavy work takes what the music leaves.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

BOX_NICE = -10  # the box's threads (as a service's Nice=-10)
WORKER_NICE = 10  # worker processes: below the box and below ordinary processes


def favour_this_process(nice: int = BOX_NICE) -> bool:
    """Give every thread of this process the niceness ``nice`` (Linux sets it per thread, and
    new threads inherit their creator's); False where not allowed (not root, no
    CAP_SYS_NICE): the box then plays at normal priority and says so in the log."""
    try:
        tasks = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        tasks = [0]
    for task in tasks:
        try:
            os.setpriority(os.PRIO_PROCESS, task, nice)
        except ProcessLookupError:  # a thread that has ended meanwhile
            continue
        except OSError as exc:  # PermissionError: not allowed to raise it
            log.info("the box keeps normal priority (%s)", exc)
            return False
    return True


def yield_to_the_box(nice: int = WORKER_NICE) -> None:
    """For a worker process (it starts with the box's raised priority): step down below it."""
    try:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    except (PermissionError, OSError) as exc:  # lowering is always allowed; keep going
        log.info("a worker kept its priority (%s)", exc)
