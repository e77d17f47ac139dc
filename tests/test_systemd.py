"""The box's systemd unit and its installer.

- `systemd-analyze verify` must say nothing at all (it exits 0 on mere warnings). It checks that
  ExecStart's program exists, so the unit is verified as installed: systemd/install.sh puts it
  into a temporary root (DESTDIR, no Python step), a stand-in program is put where the venv's
  `appliance` would be, the system's own units are copied beside it, and `verify --root` reads
  that root.
- `systemd-analyze security --offline=yes` must rate the unit "OK" with an exposure of at most 2.5.
- The box itself under a stand-in service manager: READY once the music plays, WATCHDOG while it
  plays, STOPPING at the end.
- Booting the unit needs systemd as PID 1; elsewhere (a container) that test says why it skips.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
UNITS = sorted((REPO / "systemd").glob("*.service"))
INSTALL = REPO / "systemd" / "install.sh"
ANALYZE = shutil.which("systemd-analyze")
SYSTEM_UNITS = next(
    (p for p in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")) if p.is_dir()),
    None,
)
needs_analyze = pytest.mark.skipif(
    ANALYZE is None or SYSTEM_UNITS is None,
    reason="systemd-analyze is not installed (Debian package systemd; `make test` installs it)",
)


def unit_settings(unit: Path, section: str = "") -> dict[str, list[str]]:
    """The unit's settings (of one ``section`` only, e.g. "Service", when given)."""
    settings: dict[str, list[str]] = {}
    current = ""
    for line in unit.read_text().splitlines():
        if line.startswith("["):
            current = line.strip("[] ")
        elif "=" in line and not line.startswith("#") and section in ("", current):
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def install_into(root: Path, action: str = "install") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DESTDIR": str(root), "APPLIANCE_INSTALL_PYTHON": "no"}
    return subprocess.run(
        ["sh", str(INSTALL), action], env=env, capture_output=True, text=True, timeout=60
    )


def verify_root(tmp_path: Path) -> Path:
    """A root with the unit as installed, its program and the system's units."""
    root = tmp_path / "root"
    done = install_into(root)
    assert done.returncode == 0, done.stderr
    assert SYSTEM_UNITS is not None
    shutil.copytree(SYSTEM_UNITS, root / "usr" / "lib" / "systemd" / "system", symlinks=True)
    for unit in UNITS:
        program = unit_settings(unit)["ExecStart"][0].split()[0].lstrip("-@!+:")
        stub = root / program.lstrip("/")
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text("#!/bin/sh\n")
        stub.chmod(0o755)
    return root


def verify(root: Path, unit: str) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run(
        [ANALYZE, "verify", "--man=no", f"--root={root}", unit],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_there_is_a_unit() -> None:
    assert [u.name for u in UNITS] == ["appliance.service"]


@needs_analyze
def test_each_unit_verifies_without_a_word(tmp_path: Path) -> None:
    root = verify_root(tmp_path)
    for unit in UNITS:
        done = verify(root, unit.name)
        assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), (
            f"systemd-analyze verify {unit.name}:\n{done.stdout}{done.stderr}"
        )
    # and the check can fail: a misspelt value is only a warning, but it is output
    broken = root / "etc" / "systemd" / "system" / "appliance.service"
    broken.write_text(broken.read_text().replace("Restart=on-failure", "Restart=on-failur"))
    done = verify(root, "appliance.service")
    assert "on-failur" in done.stdout + done.stderr


@needs_analyze
@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_exposure_is_at_most_2_5_and_ok(unit: Path) -> None:
    assert ANALYZE is not None
    done = subprocess.run(
        [ANALYZE, "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = done.stdout + done.stderr
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+) (\w+)", out)
    assert found, out
    assert float(found.group(1)) <= 2.5 and found.group(2) == "OK", found.group(0)


def test_the_unit_says_what_the_issue_asks() -> None:
    from appliance.cli import run

    s = unit_settings(REPO / "systemd" / "appliance.service")
    assert s["Type"] == ["notify"] and s["Restart"] == ["on-failure"] and s["WatchdogSec"]
    assert "network-online.target" in s["Wants"][0]
    assert {"network-online.target", "sound.target"} <= set(s["After"][0].split())
    assert s["CapabilityBoundingSet"] == [""] and s["AmbientCapabilities"] == [""]
    assert s["SupplementaryGroups"] == ["audio"] and s["User"] == ["appliance"]
    assert s["StateDirectory"] == ["appliance"] and s["ProtectSystem"] == ["strict"]
    assert s["RestrictAddressFamilies"] == ["AF_UNIX AF_INET AF_INET6 AF_NETLINK"]
    assert "--https-port" not in s["ExecStart"][0]  # so the defaults below are the ports
    ports = inspect.signature(run).parameters
    for option in ("https_port", "http_port"):  # no capability: unprivileged ports only
        assert ports[option].default.default > 1024


def test_install_is_idempotent_and_uninstall_removes_it(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for _ in range(2):
        done = install_into(root)
        assert done.returncode == 0, done.stderr
    unit = root / "etc" / "systemd" / "system" / "appliance.service"
    assert unit.read_text() == (REPO / "systemd" / "appliance.service").read_text()
    app = root / "opt" / "appliance" / "app"
    assert (app / "appliance" / "box.py").is_file() and (app / "web" / "index.html").is_file()
    assert not list(app.rglob("__pycache__"))
    sums = (app / "models_onnx" / "SHA256SUMS").read_text()
    assert "renderer/renderer.json" in sums
    wrapper = root / "usr" / "local" / "bin" / "appliance"
    assert "APPLIANCE_DATA=/var/lib/appliance" in wrapper.read_text()
    state = root / "var" / "lib" / "appliance"
    (state / "paired.json").write_text("{}")  # the box's own state
    for _ in range(2):
        done = install_into(root, "uninstall")
        assert done.returncode == 0, done.stderr
    assert not unit.exists() and not wrapper.exists()
    assert not (root / "opt" / "appliance").exists()
    assert (state / "paired.json").exists()  # kept unless APPLIANCE_PURGE=1


def test_install_refuses_models_that_differ_from_their_pins(tmp_path: Path) -> None:
    """A model changed or damaged in the source tree is not installed (nor pinned as good)."""
    source = tmp_path / "source"
    for part in ("appliance", "export", "web", "models_onnx", "systemd"):
        shutil.copytree(REPO / part, source / part, ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / part, source / part)
    model = source / "models_onnx" / "renderer" / "renderer.json"
    model.write_text(model.read_text().replace("{", "{ ", 1))
    root = tmp_path / "root"
    env = {**os.environ, "DESTDIR": str(root), "APPLIANCE_INSTALL_PYTHON": "no"}
    done = subprocess.run(
        ["sh", str(source / "systemd" / "install.sh"), "install"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "differ from their pinned checksums" in done.stderr and "Traceback" not in done.stderr
    assert not (root / "opt" / "appliance" / "app").exists()
    assert not (root / "opt" / "appliance" / "app.new").exists()


def test_the_box_tells_its_service_manager(tmp_path: Path) -> None:
    """`appliance run` under a stand-in for systemd: READY=1 once the music plays, WATCHDOG=1
    while it plays (a 1 s watchdog), STOPPING=1 at the end."""
    path = tmp_path / "notify"
    manager = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    manager.bind(str(path))
    manager.settimeout(0.2)
    env = {**os.environ, "NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "1000000"}
    env["APPLIANCE_DATA"] = str(tmp_path / "data")
    command = [sys.executable, "-c", "from appliance.cli import main; main()", "run"]
    command += ["--seconds", "4", "--host", "127.0.0.1", "--https-port", "0", "--http-port", "0"]
    command += ["--no-advertise", "--no-speaker", "--no-speech", "--no-llm", "--no-vision"]
    box = subprocess.Popen(
        command,
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    said: list[str] = []
    deadline = time.monotonic() + 90
    try:
        while box.poll() is None and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                said.append(manager.recv(4096).decode())
    finally:
        box.kill()
        _, err = box.communicate()
        manager.close()
    assert box.returncode == 0, err.decode(errors="replace")[-2000:]
    assert said[0].startswith("READY=1\nSTATUS=playing; phones: https://127.0.0.1:")
    assert said.count("WATCHDOG=1") >= 3  # ~4 s of music, a ping every 0.5 s
    assert said[-1] == "STOPPING=1"


def test_booting_the_unit() -> None:
    """Start the unit's sandbox for real with systemd-run (a transient service with the unit's
    hardening, Type=notify and a watchdog, running the box's own sd_notify)."""
    pid1 = Path("/proc/1/comm").read_text().strip() if Path("/proc/1/comm").exists() else "?"
    if pid1 != "systemd" or not Path("/run/systemd/system").is_dir():
        pytest.skip(
            f"systemd is not PID 1 here (PID 1 is {pid1!r}: a container), so no unit can be "
            "started; systemd-analyze verify/security above check the unit offline"
        )
    if os.geteuid() != 0 or shutil.which("systemd-run") is None:
        pytest.skip("starting a system service needs root and systemd-run")
    s = unit_settings(REPO / "systemd" / "appliance.service", "Service")
    leave_out = {"ExecStart", "User", "Group", "WorkingDirectory", "Environment", "StateDirectory"}
    leave_out |= {"StateDirectoryMode", "ProtectHome"}  # the clone may live under /home
    properties = [f"--property={k}={v}" for k, vs in s.items() if k not in leave_out for v in vs]
    script = (
        "import time; from appliance import sd_notify as n; n.ready('test'); "
        "[(n.watchdog(), time.sleep(0.2)) for _ in range(10)]; n.stopping()"
    )
    run = ["systemd-run", "--wait", "--collect", "--quiet", "--property=DynamicUser=yes"]
    run += [f"--setenv=PYTHONPATH={REPO}", "--property=WatchdogSec=5s", *properties]
    done = subprocess.run(
        [*run, sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
