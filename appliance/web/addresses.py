"""Which address a phone should use to reach the box.

The box's hostname usually resolves to a loopback address (Debian and Raspberry Pi OS map it to
127.0.1.1), so the address comes from the network interfaces themselves: the IPv4 addresses of
every interface, loopback and link-local ones left out, the interface of the default route first
(that is the Wi-Fi or Ethernet the phones are on), then private LAN ranges, then the rest.

:func:`choose_addresses` is pure (tested on made-up interface lists); :func:`local_interfaces`
and :func:`default_route_interface` read the machine; :class:`AddressWatcher` notices when the
choice changes (DHCP, a Wi-Fi reconnect) so that the box re-advertises and reprints its URL.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

ROUTE_TABLE = Path("/proc/net/route")
WATCH_EVERY = 5.0  # seconds between looks at the interfaces


@dataclass(frozen=True)
class Interface:
    name: str
    addresses: tuple[str, ...]  # IPv4, dotted


def _rank(address: str) -> int | None:
    """0 for private LAN ranges, 1 for other usable addresses, None for unusable ones."""
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        return None
    if ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast:
        return None
    return 0 if ip.is_private else 1


def choose_addresses(interfaces: Sequence[Interface], default: str | None) -> list[str]:
    """The addresses a phone could use, best first: the default route's interface, then
    private ranges, then the rest (by interface name, so the order is stable)."""
    ranked: list[tuple[int, int, str, str]] = []
    for iface in interfaces:
        for address in iface.addresses:
            rank = _rank(address)
            if rank is None:
                continue
            ranked.append((0 if iface.name == default else 1, rank, iface.name, address))
    seen: dict[str, None] = {}
    for *_, address in sorted(ranked):
        seen.setdefault(address, None)
    return list(seen)


def parse_route_table(text: str) -> str | None:
    """The interface of the default route in ``/proc/net/route`` text (lowest metric)."""
    best: tuple[int, str] | None = None
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        name, destination, flags, metric = fields[0], fields[1], fields[3], fields[6]
        try:
            up = int(flags, 16) & 0x1
            if destination != "00000000" or not up:
                continue
            candidate = (int(metric), name)
        except ValueError:
            continue
        if best is None or candidate < best:
            best = candidate
    return best[1] if best else None


def default_route_interface(table: Path = ROUTE_TABLE) -> str | None:
    try:
        return parse_route_table(table.read_text())
    except OSError:
        return None


def local_interfaces() -> list[Interface]:
    """This machine's interfaces with their IPv4 addresses (through ``ifaddr``)."""
    import ifaddr

    out = []
    for adapter in ifaddr.get_adapters():
        addresses = tuple(str(ip.ip) for ip in adapter.ips if isinstance(ip.ip, str))
        out.append(Interface(str(adapter.nice_name), addresses))
    return out


def reachable_addresses() -> list[str]:
    """The box's addresses for phones, best first (empty when it has no network)."""
    return choose_addresses(local_interfaces(), default_route_interface())


class AddressWatcher:
    """Looks at the addresses every ``every`` seconds and awaits ``changed(addresses)`` when
    the list differs from the last one."""

    def __init__(
        self,
        changed: Callable[[list[str]], Awaitable[None]],
        current: list[str],
        every: float = WATCH_EVERY,
        look: Callable[[], list[str]] = reachable_addresses,
    ) -> None:
        self.changed = changed
        self.current = list(current)
        self.every = every
        self.look = look
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                now = await asyncio.to_thread(self.look)
            except OSError as exc:
                log.warning("could not read the network interfaces: %s", exc)
                continue
            if now != self.current:
                self.current = now
                try:
                    await self.changed(now)
                except Exception:  # a failed re-advertisement must not end the watching
                    log.exception("acting on a new address failed")
