"""The box with no network at all: ``appliance run`` (with its speech, language-model and
face-reading workers) in a network namespace of its own with only loopback up and no route.

The music plays, a phone in the same namespace pairs with the PIN the box showed, connects over
WebRTC on loopback and pauses the music; the box listens only on its HTTPS port, the HTTP
redirect and mDNS, and makes no outbound connection: every ``connect()`` of the box and its
workers is recorded (strace) and goes to loopback or a local socket, none fails for want of a
route, and the sockets (``ss``) hold nothing but the listening ports and the phone's
connections.

The phone is on the same machine as the box, and aioice leaves loopback out of a peer's ICE
candidates; so the box and the phone run with the one change the other loopback tests make
(:func:`export.webbox.loopback_only`), and nothing else.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance.paths import REPO_ROOT

pytestmark = pytest.mark.slow

HTTPS, HTTP, MDNS = 8443, 8080, 5353
# What the box's environment leaves out: onnxruntime sends no usage reports in CI (it looks for
# these variables), and the box must turn them off by itself, as it does on a real box.
NOT_ON_A_BOX = ("CI", "GITHUB_ACTIONS", "TF_BUILD", "ORT_DISABLE_TELEMETRY")
# seconds the box runs at least: libraries that report usage do it some seconds after they
# start (onnxruntime did after 12 s, then every 4–12 s)
OBSERVE = 25.0
BOX = (
    "import aioice.ice; from export.webbox import loopback_only; "
    "aioice.ice.get_host_addresses = loopback_only; from appliance.cli import main; main()"
)


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)


@pytest.fixture
def namespace() -> Iterator[str]:
    """A network namespace with only loopback up (skipped where none can be made)."""
    if shutil.which("ip") is None:
        pytest.skip("the ip command (iproute2) is not installed")
    name = f"appliance-test-{os.getpid()}"
    made = _ip("netns", "add", name)
    if made.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {made.stderr.strip()}")
    try:
        up = _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        assert up.returncode == 0, up.stderr
        yield name
    finally:
        _ip("netns", "delete", name)


def _in(namespace: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", namespace, *argv]


def _wait_for(path: Path, pattern: str, proc: subprocess.Popen[str], timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, path.read_text(errors="replace"))
        if found:
            return found.group(1)
        assert proc.poll() is None, f"the box ended: {path.read_text(errors='replace')[-2000:]}"
        time.sleep(0.2)
    raise AssertionError(f"{pattern!r} never shown: {path.read_text(errors='replace')[-2000:]}")


def _tree(root: int) -> set[int]:
    """``root`` and every process under it."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo += children.get(pid, [])
    return found


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def _host(address: str) -> str:
    return address.rsplit(":", 1)[0].strip("[]").split("%")[0]


def _loopback(host: str) -> bool:
    return host.startswith("127.") or host in ("::1", "::ffff:127.0.0.1", "*", "0.0.0.0", "::")


def _sockets(namespace: str, pids: set[int]) -> list[tuple[str, str, str, str]]:
    """(protocol, state, local, peer) of the sockets of ``pids`` in ``namespace``."""
    out = subprocess.run(
        _in(namespace, "ss", "-tunapH"), capture_output=True, text=True, timeout=30
    ).stdout
    sockets = []
    for line in out.splitlines():
        owners = {int(p) for p in re.findall(r"pid=(\d+)", line)}
        if owners & pids:
            proto, state, _, _, local, peer, *_ = line.split()
            sockets.append((proto, state, local, peer))
    return sockets


def test_the_box_works_with_no_network_and_connects_nowhere(namespace: str, tmp_path: Path) -> None:
    assert _ip("netns", "exec", namespace, "ip", "route", "show").stdout.strip() == ""
    trace = tmp_path / "connect.trace"
    strace = shutil.which("strace")
    tracing = [] if strace is None else [strace, "-f", "-qq", "--seccomp-bpf"]
    tracing += ["-e", "trace=connect", "-o", str(trace)] if tracing else []
    env = {k: v for k, v in os.environ.items() if k not in NOT_ON_A_BOX}
    env |= {"APPLIANCE_DATA": str(tmp_path / "data"), "COLUMNS": "200"}
    log = tmp_path / "box.txt"
    command = [sys.executable, "-c", BOX, "run", "--no-speaker", "--seconds", "300"]
    started = time.monotonic()
    with log.open("w") as out:
        box = subprocess.Popen(
            _in(namespace, *tracing, *command),
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    phone: subprocess.Popen[str] | None = None
    try:
        url = _wait_for(log, r"phones: open (https://\S+/) ", box, 120)
        pin = _wait_for(log, r"PIN to pair a phone: (\d+)", box, 10)
        _wait_for(log, r"(✓ ready)", box, 120)
        phone = subprocess.Popen(
            _in(namespace, sys.executable, "-m", "tests.netns_phone", url, pin),
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert phone.stdout is not None and phone.stdin is not None
        joined = phone.stdout.readline()
        assert joined.strip() == "joined", f"{joined}{phone.stderr.read() if phone.stderr else ''}"

        # While the phone listens: the box's sockets, in its namespace.
        sockets = _sockets(namespace, _tree(box.pid))
        listening = {_port(local) for proto, state, local, _ in sockets if state == "LISTEN"}
        assert listening == {HTTPS, HTTP}, sockets
        for proto, state, local, peer in sockets:
            if state == "LISTEN":
                continue
            if proto == "tcp":  # a connection the phone made to the box
                assert _port(local) in (HTTPS, HTTP), f"an outgoing connection: {sockets}"
            else:  # mDNS, or the WebRTC media of the phone on loopback
                assert _port(local) == MDNS or _loopback(_host(local)), sockets
            assert _loopback(_host(peer)), f"a peer off the machine: {sockets}"

        phone.stdin.write("go\n")
        phone.stdin.flush()
        result = json.loads(phone.stdout.readline() or "{}")
        assert phone.wait(30) == 0
        assert result.get("paired") is True, result
        assert result["music_frames"] >= 100, result  # 2 s of music of the 3 s it listened
        assert "paused" in result["states"], result  # its command changed the music
        assert result["errors"] == [], result

        time.sleep(max(0.0, started + OBSERVE - time.monotonic()))
        box.communicate("quit\n", timeout=60)
    finally:
        for proc in (phone, box):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(10)
    shown = log.read_text(errors="replace")
    assert box.returncode == 0, shown[-3000:]
    played = re.search(r"played [\d.]+ s of audio: (\d+) notes", shown)
    assert played and int(played.group(1)) > 0, shown[-3000:]
    assert "Traceback" not in shown, shown

    if strace is None:
        pytest.skip("strace is not installed: the connections attempted were not recorded")
    attempts = [line for line in trace.read_text().splitlines() if "connect(" in line]
    for line in attempts:
        assert "ENETUNREACH" not in line and "EHOSTUNREACH" not in line, line
        if "AF_INET6" in line:
            assert re.search(r'inet_pton\(AF_INET6, "(::1|::ffff:127\.[\d.]+)"', line), line
        elif "AF_INET" in line:
            assert re.search(r'inet_addr\("127\.', line), line
        else:
            assert re.search(r"AF_UNIX|AF_NETLINK|AF_UNSPEC", line), line
