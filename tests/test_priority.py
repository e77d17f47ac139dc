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
