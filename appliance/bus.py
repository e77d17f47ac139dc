"""One in-process publish/subscribe bus for typed events.

Publishing is thread-safe (the engine's threads publish; asyncio tasks consume): each
subscription is an ``asyncio.Queue`` on the bus's loop, filled with ``call_soon_threadsafe``.
A slow subscriber loses its oldest events rather than holding anyone up.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

from appliance.events import Event

QUEUE_LIMIT = 256


class Subscription:
    def __init__(self, bus: Bus, kinds: tuple[type[Event], ...]) -> None:
        self.bus = bus
        self.kinds = kinds
        self.queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_LIMIT)

    def wants(self, event: Event) -> bool:
        return not self.kinds or isinstance(event, self.kinds)

    def _put(self, event: Event) -> None:
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(event)

    async def get(self) -> Event:
        return await self.queue.get()

    def close(self) -> None:
        self.bus.unsubscribe(self)

    async def __aiter__(self) -> AsyncIterator[Event]:
        while True:
            yield await self.queue.get()


class Bus:
    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop
        self._subs: list[Subscription] = []
        self._lock = threading.Lock()

    def subscribe(self, *kinds: type[Event]) -> Subscription:
        """Events of these types (all events if none), from now on. Call from the loop."""
        if self.loop is None:
            self.loop = asyncio.get_running_loop()
        sub = Subscription(self, kinds)
        with self._lock:
            self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def publish(self, event: Event) -> None:
        """Deliver ``event`` to every interested subscriber; safe from any thread."""
        with self._lock:
            targets = [s for s in self._subs if s.wants(event)]
        if not targets or self.loop is None or self.loop.is_closed():
            return
        for sub in targets:
            try:
                self.loop.call_soon_threadsafe(sub._put, event)
            except RuntimeError:  # the loop closed meanwhile
                return
