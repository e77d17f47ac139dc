"""The wall display's feed (``GET /display``, ``GET /api/display``): what a TV or projector in
the room shows, read-only, as Server-Sent Events.

Nothing secret goes out: the piece, where the music is, its tempo and loudness, the notes as
they sound, and who (by display name) asked for what. No PIN, no token, no device id; the
display sends nothing back, and it needs no pairing — only an address on the room's network
(private, link-local or loopback).

Bounded: at most :data:`MAX_CLIENTS` displays (:data:`MAX_PER_CLIENT` from one address); notes
are sent in batches every :data:`NOTE_EVERY` seconds, at most :data:`MAX_BATCH` a batch; each
display has a queue of :data:`QUEUE` messages (one that falls behind loses the oldest) and
:data:`WRITE_TIMEOUT` seconds to take each one, or it is let go.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from appliance.audio.note_tap import NoteTap
from appliance.bus import Bus
from appliance.events import (
    Action,
    DirectionApplied,
    Event,
    Moved,
    NowPlaying,
    PieceEnded,
    Position,
    TransportChanged,
)
from appliance.paths import REPO_ROOT

log = logging.getLogger(__name__)

PAGE = REPO_ROOT / "web" / "display.html"
MAX_CLIENTS = 4
MAX_PER_CLIENT = 2
NOTE_EVERY = 0.1  # seconds between note batches
MAX_BATCH = 256  # notes (ons and offs) in one batch; more in 100 ms are thinned to the latest
QUEUE = 200  # messages waiting for one display
WRITE_TIMEOUT = 5.0  # seconds a display has to take one message
KEEPALIVE = 15.0  # seconds of quiet before a comment line keeps the connection open
HISTORY = 120  # bars of tempo and loudness a new display is shown
LINES = 8  # recent directions and actions a new display is shown
SHOWN = (NowPlaying, Position, TransportChanged, DirectionApplied, Action, Moved, PieceEnded)


def shown(event: Event) -> dict[str, Any] | None:
    """What the display is told of ``event``: chosen fields only, or None."""
    if isinstance(event, NowPlaying):
        return {"type": "now_playing", "title": event.title, "composer": event.composer,
                "bars": event.bars}  # fmt: skip
    if isinstance(event, Position):
        return {"type": "position", "bar": event.bar, "tempo_bpm": round(event.tempo_bpm, 1),
                "velocity": round(event.velocity, 1)}  # fmt: skip
    if isinstance(event, TransportChanged):
        return {"type": "transport", "state": event.state}
    if isinstance(event, DirectionApplied):
        return {"type": "direction", "who": event.who, "text": event.text,
                "directions": list(event.directions), "from_bar": event.from_bar,
                "source": event.source}  # fmt: skip
    if isinstance(event, Action):
        return {"type": "action", "who": event.who, "what": event.what}
    if isinstance(event, Moved):
        return {"type": "moved", "bar": event.bar}
    if isinstance(event, PieceEnded):
        return {"type": "piece_ended"}
    return None


def notes_message(notes: list[tuple[int, int, float]], now: float) -> dict[str, Any]:
    """A batch of notes as [pitch, velocity (0: off; pitch -1: all off), ms ago]."""
    kept = notes[-MAX_BATCH:]
    return {
        "type": "notes",
        "notes": [[p, v, max(0, round((now - t) * 1000))] for p, v, t in kept],
        "dropped": len(notes) - len(kept),
    }


def on_room_network(remote: str | None) -> bool:
    """Whether an address is on the room's network (or the box itself)."""
    try:
        address = ipaddress.ip_address((remote or "").split("%")[0])
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local


def sse(message: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(message, ensure_ascii=False)}\n\n".encode()


@dataclass
class Display:
    address: str
    queue: deque[bytes] = field(default_factory=lambda: deque(maxlen=QUEUE))
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def put(self, data: bytes) -> None:
        self.queue.append(data)
        self.ready.set()


class DisplayFeed:
    """The bus's public events and the notes as they sound, to every wall display."""

    def __init__(self, bus: Bus, tap: NoteTap | None, snapshot: Callable[[], list[Event]]) -> None:
        self.bus = bus
        self.tap = tap
        self.snapshot = snapshot  # what the engine says a newcomer needs (piece, transport)
        self.displays: list[Display] = []
        self.positions: deque[dict[str, Any]] = deque(maxlen=HISTORY)
        self.lines: deque[dict[str, Any]] = deque(maxlen=LINES)
        self.batches = 0  # note batches sent (tests and figures)
        self._tasks: list[asyncio.Task[None]] = []

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/display", self.page), web.get("/api/display", self.stream)]

    async def start(self) -> None:
        sub = self.bus.subscribe(*SHOWN)
        self._tasks = [
            asyncio.create_task(self._follow(sub)),
            asyncio.create_task(self._notes()),
        ]

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for display in self.displays:
            display.put(b"")  # ends its stream

    # -- from the box ----------------------------------------------------------------------------

    async def _follow(self, sub: Any) -> None:
        try:
            async for event in sub:
                message = shown(event)
                if message is None:
                    continue
                if message["type"] == "now_playing":
                    self.positions.clear()
                elif message["type"] == "position":
                    self.positions.append(message)
                elif message["type"] in ("direction", "action"):
                    self.lines.append(message)
                self._send(sse(message))
        finally:
            sub.close()

    async def _notes(self) -> None:
        while True:
            await asyncio.sleep(NOTE_EVERY)
            if self.tap is None:
                continue
            self.tap.watching = bool(self.displays)
            notes = self.tap.take()
            if notes and self.displays:
                self.batches += 1
                self._send(sse(notes_message(notes, time.monotonic())))

    def _send(self, data: bytes) -> None:
        for display in self.displays:
            display.put(data)

    # -- to the displays -------------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.StreamResponse:
        if not on_room_network(request.remote):
            raise web.HTTPForbidden(text="the wall display is for the room's network")
        return web.FileResponse(PAGE, headers={"Cache-Control": "no-store"})

    def welcome(self) -> list[bytes]:
        """What a display is told first: the piece, the transport, recent bars and lines."""
        out = [m for m in (shown(e) for e in self.snapshot()) if m is not None]
        out.append({"type": "history", "positions": list(self.positions),
                    "lines": list(self.lines)})  # fmt: skip
        return [sse(m) for m in out]

    async def stream(self, request: web.Request) -> web.StreamResponse:
        address = request.remote or ""
        if not on_room_network(address):
            raise web.HTTPForbidden(text="the wall display is for the room's network")
        if len(self.displays) >= MAX_CLIENTS:
            raise web.HTTPServiceUnavailable(text=f"at most {MAX_CLIENTS} displays at once")
        if sum(d.address == address for d in self.displays) >= MAX_PER_CLIENT:
            raise web.HTTPTooManyRequests(text="too many displays from this address")
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        display = Display(address)  # counted before the first await: the limits hold
        self.displays.append(display)
        try:
            await response.prepare(request)
            for data in self.welcome():
                display.put(data)
            if self.tap is not None:
                self.tap.watching = True
            await self._serve(display, response)
        except (ConnectionError, TimeoutError):  # gone, or too slow to take the music
            pass
        finally:
            self.displays.remove(display)
        return response

    async def _serve(self, display: Display, response: web.StreamResponse) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(KEEPALIVE):
                    await display.ready.wait()
            display.ready.clear()
            batch = list(display.queue) or [b": still here\n\n"]
            display.queue.clear()
            if b"" in batch:
                return
            async with asyncio.timeout(WRITE_TIMEOUT):
                await response.write(b"".join(batch))
