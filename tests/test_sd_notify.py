"""sd_notify over a real datagram socket, and the watchdog fed only while the sound moves on."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance import sd_notify
from appliance.watchdog import alive, keep_watch, watch_the_music


@pytest.fixture
def manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A stand-in for systemd: a datagram socket at a path named by $NOTIFY_SOCKET."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2.0)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    yield sock
    sock.close()


def received(sock: socket.socket) -> str:
    return sock.recv(4096).decode()


def test_ready_watchdog_status_stopping_reach_the_socket(manager: socket.socket) -> None:
    assert sd_notify.ready("playing; phones: https://10.0.0.2:8443/")
    assert received(manager) == "READY=1\nSTATUS=playing; phones: https://10.0.0.2:8443/"
    assert sd_notify.watchdog()
    assert received(manager) == "WATCHDOG=1"
    assert sd_notify.status("two\nlines")
    assert received(manager) == "STATUS=two lines"
    assert sd_notify.stopping()
    assert received(manager) == "STOPPING=1"


def test_abstract_namespace_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"appliance-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(2.0)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert sd_notify.ready()
        assert received(sock) == "READY=1"


def test_without_a_manager_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not sd_notify.ready()
    assert not sd_notify.watchdog()
    assert sd_notify.socket_address("vsock:2:1") is None


def test_a_manager_gone_away_never_raises(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody-listens"))
    assert not sd_notify.watchdog()


def test_watchdog_interval_is_half_and_only_for_this_process() -> None:
    env = {"WATCHDOG_USEC": "30000000"}
    assert sd_notify.watchdog_interval(env) == 15.0
    assert sd_notify.watchdog_interval({**env, "WATCHDOG_PID": str(os.getpid())}) == 15.0
    assert sd_notify.watchdog_interval({**env, "WATCHDOG_PID": "1"}) is None
    assert sd_notify.watchdog_interval({}) is None
    assert sd_notify.watchdog_interval({"WATCHDOG_USEC": "x"}) is None


class FakeProducer:
    def __init__(self, step: int = 0) -> None:
        self._blocks = 0
        self.step = step  # blocks made between two looks (a sound path that moves on)

    @property
    def blocks(self) -> int:
        self._blocks += self.step
        return self._blocks


def test_pings_only_while_blocks_are_made() -> None:
    assert alive(3, 4) and not alive(4, 4)
    producer = FakeProducer()
    # blocks made before each look: playing, playing, stopped, stopped, playing again
    script = [10, 10, 0, 0, 5]
    pings: list[int] = []
    said: list[str] = []

    async def sleep(_: float) -> None:
        if not script:
            raise asyncio.CancelledError
        producer.step = 0
        producer._blocks += script.pop(0)

    async def scenario() -> None:
        with pytest.raises(asyncio.CancelledError):
            await keep_watch(
                producer, 15.0, lambda: pings.append(producer._blocks), said.append, sleep
            )

    asyncio.run(scenario())
    assert pings == [10, 20, 25]
    assert said == ["the sound has stopped moving on", "playing"]


def test_watch_the_music_sends_ready_and_feeds_the_watchdog(
    manager: socket.socket, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "20000")  # a 10 ms ping interval
    producer = FakeProducer(step=1)

    async def scenario() -> list[str]:
        task = watch_the_music(producer, "https://10.0.0.2:8443/")
        assert task is not None
        manager.setblocking(False)
        got: list[str] = []
        for _ in range(200):
            await asyncio.sleep(0.01)
            with contextlib.suppress(BlockingIOError):
                got.append(received(manager))
            if "WATCHDOG=1" in got:
                break
        task.cancel()
        return got

    got = asyncio.run(scenario())
    assert got[0] == "READY=1\nSTATUS=playing; phones: https://10.0.0.2:8443/"
    assert "WATCHDOG=1" in got


def test_watch_the_music_without_watchdog(manager: socket.socket) -> None:
    async def scenario() -> None:
        assert watch_the_music(FakeProducer()) is None

    asyncio.run(scenario())
    assert received(manager) == "READY=1\nSTATUS=playing"
