"""Telling systemd how the box is doing, with the standard library only.

systemd names a datagram socket in ``$NOTIFY_SOCKET`` (a path, or an abstract-namespace name
written with a leading ``@``) for a ``Type=notify`` service; the service sends it lines such as
``READY=1`` (started), ``WATCHDOG=1`` (still alive), ``STATUS=…`` (one line for ``systemctl
status``) and ``STOPPING=1``. Without the variable (a terminal, the tests, CI) every call does
nothing, so the box behaves the same wherever it runs.
"""

from __future__ import annotations

import os
import socket

NOTIFY_SOCKET = "NOTIFY_SOCKET"


def socket_address(value: str) -> str | bytes | None:
    """The address to send to for a ``$NOTIFY_SOCKET`` value: a path as it is, an abstract
    name (``@name``) as bytes starting with a NUL; None when there is none to use."""
    if not value:
        return None
    if value.startswith("@"):
        return b"\0" + value[1:].encode("utf-8")
    if value.startswith("/"):
        return value
    return None  # e.g. vsock:… addresses, which the box never runs under


def notify(*fields: str, environ: dict[str, str] | None = None) -> bool:
    """Send ``fields`` (``"READY=1"``, …) as one datagram to the service manager; True when
    sent. Nothing is sent (False) when the box does not run under a ``Type=notify`` service,
    and a manager that has gone away never stops the box."""
    env = os.environ if environ is None else environ
    address = socket_address(env.get(NOTIFY_SOCKET, ""))
    if address is None or not fields:
        return False
    message = "\n".join(fields).encode("utf-8", "replace")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto(message, address)
    except OSError:
        return False
    return True


def ready(status: str = "") -> bool:
    """Started: systemd's start job ends and the watchdog begins."""
    return notify("READY=1", *([f"STATUS={one_line(status)}"] if status else []))


def watchdog() -> bool:
    """Still alive (within ``WatchdogSec=``)."""
    return notify("WATCHDOG=1")


def status(text: str) -> bool:
    """The one line ``systemctl status`` shows."""
    return notify(f"STATUS={one_line(text)}")


def stopping() -> bool:
    """Stopping of its own accord (not a crash)."""
    return notify("STOPPING=1")


def one_line(text: str) -> str:
    return " ".join(text.split())


def watchdog_interval(environ: dict[str, str] | None = None) -> float | None:
    """Seconds between two ``WATCHDOG=1`` pings: half of the ``WatchdogSec=`` systemd gives in
    ``$WATCHDOG_USEC``, when it is meant for this process (``$WATCHDOG_PID``, if set, is ours);
    None when there is no watchdog."""
    env = os.environ if environ is None else environ
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    pid = env.get("WATCHDOG_PID", "")
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None
    return usec / 2_000_000
