"""A whole box (:class:`appliance.box.Box`: engine, audio, phone hub, web server) on loopback in
a background thread — for the browser tests and the benchmarks, never the box itself.

aioice leaves loopback out of its ICE host candidates, so two peers on one machine with no
network would never connect. With ``loopback_ice`` (the default here) the box's peers offer
127.0.0.1 only while it runs: aioice's host-address function is replaced on start and put back
on stop. The shipped box never does this.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aioice.ice

from appliance.box import Box
from appliance.bus import Bus, Subscription
from appliance.events import Problem
from appliance.perform.session import PlayOptions, Session
from appliance.web.hub import Hub
from appliance.web.pairing import Pairing
from appliance.web.server import WebServer, WebSettings


def loopback_only(use_ipv4: bool = True, use_ipv6: bool = False) -> list[str]:
    """The host candidates of a box on loopback: 127.0.0.1, nothing that leaves the machine."""
    return ["127.0.0.1"]


class WebBox:
    def __init__(
        self,
        folder: Path,
        piece: str = "bach-bwv846",
        seed: int = 1,
        loopback_ice: bool = True,
        speech: bool = True,
        llm: bool = False,
        vision: bool = True,
    ) -> None:
        self.folder = folder
        self.options = PlayOptions(
            piece=piece,
            seed=seed,
            speaker=False,
            stream=True,
            library=folder / "library",
            speech=speech,
            llm=llm,
            vision=vision,
        )
        self.loopback_ice = loopback_ice
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.url = ""
        self.error: BaseException | None = None
        self.problems: list[Problem] = []  # every Problem published, in order
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._host_addresses: Callable[..., list[str]] | None = None

    def start(self) -> WebBox:
        if self.loopback_ice:
            self._host_addresses = aioice.ice.get_host_addresses
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
        self.pairing = Pairing(self.folder / "paired.json")
        settings = WebSettings(
            host="127.0.0.1",
            https_port=0,
            http_port=0,
            advertise=False,
            hosts=("127.0.0.1", "localhost"),
        )
        self.box = Box(self.options, self.bus, settings, self.pairing)
        try:
            await self.box.open()
            self.url = self.box.url
            await self.box.start()
            self.ready.set()
            await self._stop.wait()
        finally:
            await self.box.close()
            keeper.cancel()

    @property
    def session(self) -> Session:
        return self.box.session

    @property
    def hub(self) -> Hub:
        assert self.box.hub is not None
        return self.box.hub

    @property
    def server(self) -> WebServer:
        assert self.box.server is not None
        return self.box.server

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
        if self._host_addresses is not None:
            aioice.ice.get_host_addresses = self._host_addresses
            self._host_addresses = None
