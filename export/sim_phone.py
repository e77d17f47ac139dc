"""A simulated phone for tests and benchmarks: an aiortc peer that does what the page does.

It offers an audio section (it receives the music) and the ``events`` data channel, posts the
offer to ``/api/offer`` with the box's Origin, can pair with a PIN first, sends events as JSON on
the data channel, and records every music frame it receives (arrival time and peak) and every
event the box sends it. Only ever pointed at a box on loopback.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError

SOUND = 1e-4  # a frame whose peak is above this carries music


def insecure_context() -> ssl.SSLContext:
    """The box's certificate is self-signed; the simulated phone accepts it (loopback only)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


async def post(
    url: str, path: str, body: Any, local_address: str | None = None
) -> tuple[int, dict[str, Any]]:
    """POST JSON to the box as its own page would (with its Origin); (status, JSON answer).
    ``local_address``: the loopback address to come from (127.0.0.x: another device)."""
    connector = aiohttp.TCPConnector(local_addr=(local_address, 0) if local_address else None)
    async with (
        aiohttp.ClientSession(connector=connector) as http,
        http.post(
            url + path, json=body, headers={"Origin": url.rstrip("/")}, ssl=insecure_context()
        ) as response,
    ):
        try:
            answer = await response.json(content_type=None)
        except ValueError:
            answer = {}
        return response.status, answer if isinstance(answer, dict) else {}


async def get(url: str, path: str) -> tuple[int, dict[str, Any]]:
    """GET JSON from the box (from 127.0.0.1: the box's own screen sees its PIN)."""
    async with (
        aiohttp.ClientSession() as http,
        http.get(url + path, ssl=insecure_context()) as response,
    ):
        try:
            answer = await response.json(content_type=None)
        except ValueError:
            answer = {}
        return response.status, answer if isinstance(answer, dict) else {}


@dataclass
class SimPhone:
    name: str = "sim phone"
    frames: list[tuple[float, float]] = field(default_factory=list)  # (arrival, peak)
    events: list[dict[str, Any]] = field(default_factory=list)
    token: str | None = None
    paired: bool = False
    address: str | None = None  # the loopback address it comes from (None: 127.0.0.1)
    microphone: Any = None  # a track to send as the phone's microphone (None: receive only)
    camera: Any = None  # a track to send as the phone's camera (None: none)

    def __post_init__(self) -> None:
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.connected = asyncio.Event()
        self.channel_open = asyncio.Event()
        self.first_frame = asyncio.Event()
        self.channel: Any = None
        self._reader: asyncio.Task[None] | None = None

    async def pair(self, url: str, pin: str) -> bool:
        body = {"pin": pin, "name": self.name}
        status, answer = await post(url, "api/pair", body, self.address)
        if status == 200:
            self.token = str(answer["token"])
        return status == 200

    async def join(self, url: str, timeout: float = 20.0) -> tuple[float, float]:
        """Connect; returns seconds to connected and to the first music frame."""
        t0 = time.perf_counter()
        if self.microphone is not None:
            self.pc.addTrack(self.microphone)  # sendrecv: the box answers with the music
        else:
            self.pc.addTransceiver("audio", direction="recvonly")
        if self.camera is not None:
            self.pc.addTrack(self.camera)
        self.channel = self.pc.createDataChannel("events")

        @self.channel.on("open")
        def on_open() -> None:
            self.channel_open.set()

        @self.channel.on("message")
        def on_message(message: str | bytes) -> None:
            if isinstance(message, str):
                self.events.append(json.loads(message))

        @self.pc.on("track")
        def on_track(track: Any) -> None:
            self._reader = asyncio.ensure_future(self._read(track))

        @self.pc.on("connectionstatechange")
        def on_state() -> None:
            if self.pc.connectionState == "connected":
                self.connected.set()

        await self.pc.setLocalDescription(await self.pc.createOffer())
        body: dict[str, Any] = {"sdp": self.pc.localDescription.sdp, "type": "offer"}
        if self.token:
            body["token"] = self.token
        status, answer = await post(url, "api/offer", body, self.address)
        if status != 200:
            raise ConnectionError(f"offer refused ({status}): {answer.get('error')}")
        self.paired = bool(answer.get("paired"))
        await self.pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], answer["type"]))
        await asyncio.wait_for(self.connected.wait(), timeout)
        t_connected = time.perf_counter() - t0
        await asyncio.wait_for(self.first_frame.wait(), timeout)
        await asyncio.wait_for(self.channel_open.wait(), timeout)
        return t_connected, time.perf_counter() - t0

    def send(self, event: dict[str, Any] | str) -> None:
        self.channel.send(event if isinstance(event, str) else json.dumps(event))

    async def _read(self, track: Any) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            now = time.perf_counter()
            peak = float(np.abs(frame.to_ndarray()).max()) / 32768.0
            self.frames.append((now, peak))
            self.first_frame.set()

    def frames_since(self, since: float) -> list[tuple[float, float]]:
        return [f for f in self.frames if f[0] >= since]

    def loud_arrivals(self, over: float) -> list[float]:
        """Arrival times of the frames whose peak is over ``over`` (clicks, for latency)."""
        return [at for at, peak in self.frames if peak > over]

    def music_share(self, since: float) -> float | None:
        """Of the frames received since ``since``, the share that carried music."""
        frames = self.frames_since(since)
        return sum(peak > SOUND for _, peak in frames) / len(frames) if frames else None

    def errors(self) -> list[str]:
        return [str(e.get("message")) for e in self.events if e.get("type") == "error"]

    async def close(self) -> None:
        await self.pc.close()
        if self._reader is not None:
            self._reader.cancel()


def music_per_second(frames: list[tuple[float, float]], start: float, end: float) -> list[int]:
    """Frames carrying music in each whole second between ``start`` and ``end`` (50 in a second
    means uninterrupted music at 20 ms frames)."""
    seconds = max(0, int(end - start))
    counts = [0] * seconds
    for at, peak in frames:
        i = int(at - start)
        if 0 <= i < seconds and peak > SOUND:
            counts[i] += 1
    return counts
