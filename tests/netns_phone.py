"""A simulated phone as a process of its own, for ``tests/test_offline_netns.py``: run inside the
box's network namespace, it pairs with the PIN the box showed, connects over WebRTC on loopback,
listens to the music, prints ``joined``, waits for a line on stdin, then pauses the music from
its data channel and prints one JSON line of what it saw. Like the box in that test, it offers
its loopback address as its ICE candidate (aioice leaves loopback out by itself).

    python -m tests.netns_phone URL PIN
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

import aioice.ice

from export.sim_phone import SOUND, SimPhone
from export.webbox import loopback_only

LISTEN = 3.0  # seconds of music heard before the command


async def main(url: str, pin: str) -> dict[str, Any]:
    aioice.ice.get_host_addresses = loopback_only
    phone = SimPhone("namespace phone")
    paired = await phone.pair(url, pin)
    await phone.join(url)
    await asyncio.sleep(LISTEN)
    heard = sum(peak > SOUND for _, peak in phone.frames)
    print("joined", flush=True)
    await asyncio.to_thread(sys.stdin.readline)  # the test looks at the sockets meanwhile
    start = len(phone.events)
    phone.send({"type": "pause"})
    deadline = time.monotonic() + 10.0
    states: list[str] = []
    while time.monotonic() < deadline and "paused" not in states:
        await asyncio.sleep(0.05)
        states = [str(e.get("state")) for e in phone.events[start:] if e["type"] == "transport"]
    await phone.close()
    return {
        "paired": paired and phone.paired,
        "frames": len(phone.frames),
        "music_frames": heard,
        "states": states,
        "errors": phone.errors(),
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))), flush=True)
