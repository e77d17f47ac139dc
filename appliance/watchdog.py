"""systemd's watchdog, fed only while the music is alive.

Once the music plays the box tells systemd it is ready; from then on it pings the watchdog each
half ``WatchdogSec=``, but only when the audio producer has made blocks since the last look.
A sound path that has stopped (the producer thread dead or stuck) or an event loop that no
longer runs misses the pings, and systemd restarts the box (``Restart=on-failure``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from appliance import sd_notify

log = logging.getLogger(__name__)


class Progress(Protocol):
    """What the watchdog reads: the audio producer's count of blocks made."""

    @property
    def blocks(self) -> int: ...


def alive(before: int, now: int) -> bool:
    """Whether the sound path moved on between two looks at its block count."""
    return now > before


async def keep_watch(
    producer: Progress,
    interval: float,
    ping: Callable[[], object] = sd_notify.watchdog,
    say: Callable[[str], object] = sd_notify.status,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> None:
    """Every ``interval`` seconds: ``ping`` when ``producer`` has made blocks since the last
    look; otherwise say so (and leave the watchdog to run out). Runs until cancelled."""
    before = producer.blocks
    stalled = False
    while True:
        await sleep(interval)
        now = producer.blocks
        if alive(before, now):
            ping()
            if stalled:
                say("playing")
            stalled = False
        elif not stalled:
            log.warning("the sound has stopped moving on; the service will be restarted")
            say("the sound has stopped moving on")
            stalled = True
        before = now


def watch_the_music(producer: Progress, url: str = "") -> asyncio.Task[None] | None:
    """Call once the music plays: READY=1 (with the phones' address) and, when systemd keeps a
    watchdog on the box, the task that feeds it. Does nothing outside a ``Type=notify``
    service."""
    sd_notify.ready(f"playing; phones: {url}" if url else "playing")
    interval = sd_notify.watchdog_interval()
    if interval is None:
        return None
    return asyncio.create_task(keep_watch(producer, interval), name="watchdog")
