"""The audio thread first: real-time scheduling for the thread that makes the sound.

Other work on the box (rendering, the phones' connections, speech and face workers, anything
else the machine runs) may load every core; the audio producer then still gets the processor
the moment a block is due. Linux's round-robin real-time class does this for one thread
(``sched_setscheduler`` with pid 0 applies to the calling thread). It needs root or an
``RLIMIT_RTPRIO`` (the systemd unit grants it); without either, the thread keeps the normal
class and the box says so once.

The producer alone is not enough: the box as a whole runs at a raised priority
(:mod:`appliance.process_priority`).

Python's garbage collector stops every thread, the audio one too, while it scans; after start-up
:func:`settle_heap` takes what is loaded (models, tables, the library) out of its scans, so
that its pauses stay short while the box plays.
"""

from __future__ import annotations

import gc
import logging
import os

log = logging.getLogger(__name__)

AUDIO_PRIORITY = 20  # of 1–99: above ordinary threads, below the kernel's own


def favour_this_thread(priority: int = AUDIO_PRIORITY) -> bool:
    """Put the calling thread in the real-time round-robin class; False if not allowed."""
    policy = getattr(os, "SCHED_RR", None)
    if policy is None:
        return False
    try:
        os.sched_setscheduler(0, policy, os.sched_param(priority))
    except (PermissionError, OSError) as exc:
        log.info("the audio thread keeps normal scheduling (%s)", exc)
        return False
    return True


def settle_heap() -> None:
    """Collect once, then keep every object alive now out of later collections (they are the
    box's long-lived state; scanning them again and again is what makes long pauses)."""
    gc.collect()
    gc.freeze()
