"""A whole box (engine, audio producer, web server) on loopback in a background thread — for the
browser tests and the web benchmark only, never the box itself.

aioice leaves loopback out of its ICE host candidates; :meth:`WebBox.start` therefore replaces its
host-address function so that the box offers 127.0.0.1 only (nothing leaves the machine)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import aioice.ice

from appliance.bus import Bus, Subscription
from appliance.events import Problem
from appliance.perform.session import PlayOptions, Session
from appliance.web.hub import Hub
from appliance.web.pairing import Pairing
from appliance.web.server import WebServer, WebSettings


def loopback_only(use_ipv4: bool = True, use_ipv6: bool = False) -> list[str]:
    """aioice leaves loopback out of its host candidates; tests offer only loopback."""
    return ["127.0.0.1"]


class WebBox:
    def __init__(self, folder: Path, piece: str = "bach-bwv846", seed: int = 1) -> None:
        self.folder = folder
        self.options = PlayOptions(
            piece=piece, seed=seed, speaker=False, stream=True, library=folder / "library"
        )
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.url = ""
        self.error: BaseException | None = None
        self.problems: list[Problem] = []  # every Problem published, in order
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> WebBox:
        aioice.ice.get_host_addresses = loopback_only
        self._thread.start()
        if not self.ready.wait(60) or self.error is not None:
            raise RuntimeError(f"the box did not start: {self.error}")
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:  # reported to the test
            self.error = exc
            self.ready.set()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        self.bus = Bus(asyncio.get_running_loop())
        problems = self.bus.subscribe(Problem)
        keeper = asyncio.create_task(self._keep_problems(problems))
        self.session = await asyncio.to_thread(Session, self.options, self.bus)
        assert self.session.broadcast is not None
        self.pairing = Pairing(self.folder / "paired.json")
        self.hub = Hub(
            self.session.conductor.submit,
            self.bus,
            self.session.engine.snapshot,
            self.session.broadcast,
            self.pairing,
            self.folder / "recordings",
        )
        settings = WebSettings(
            host="127.0.0.1",
            https_port=0,
            http_port=0,
            advertise=False,
            hosts=("127.0.0.1", "localhost"),
        )
        self.server = WebServer(self.hub, self.session.library, settings)
        self.url = await self.server.start()
        await asyncio.to_thread(self.session.start)
        self.ready.set()
        await self._stop.wait()
        await self.server.close()
        self.session.close()
        keeper.cancel()

    async def _keep_problems(self, problems: Subscription) -> None:
        async for problem in problems:
            if isinstance(problem, Problem):
                self.problems.append(problem)

    def call(self, coro: Any, timeout: float = 30.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=20)
