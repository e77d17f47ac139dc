"""The address phones are shown: chosen from the interfaces (not the hostname), the default
route's first; followed when it changes — on made-up lists and in a network namespace."""

import asyncio
import os
import shutil
import subprocess
import sys
import textwrap
import uuid

import pytest

from appliance.web.addresses import AddressWatcher, Interface, choose_addresses, parse_route_table

ROUTES = """Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth0	0000A8C0	00000000	0001	0	0	100	00FFFFFF	0	0	0
wlan0	00000000	0101A8C0	0003	0	0	600	00000000	0	0	0
eth0	00000000	0100000A	0003	0	0	100	00000000	0	0	0
"""


def test_the_default_route_with_the_lowest_metric_wins():
    assert parse_route_table(ROUTES) == "eth0"
    assert parse_route_table(ROUTES.replace("\t100\t00000000", "\t900\t00000000")) == "wlan0"
    assert parse_route_table("Iface\tDestination\n") is None
    assert parse_route_table("garbage\nx y z\n") is None


def test_loopback_and_link_local_are_never_offered():
    interfaces = [
        Interface("lo", ("127.0.0.1",)),
        Interface("eth0", ("169.254.3.4",)),
        Interface("docker0", ("172.17.0.1",)),
        Interface("wlan0", ("192.168.1.23",)),
    ]
    assert choose_addresses(interfaces, "wlan0") == ["192.168.1.23", "172.17.0.1"]
    assert choose_addresses(interfaces, None) == ["172.17.0.1", "192.168.1.23"]
    assert choose_addresses([Interface("lo", ("127.0.1.1",))], "lo") == []


def test_private_ranges_come_before_public_ones_without_a_default_route():
    interfaces = [Interface("a", ("8.8.4.4",)), Interface("b", ("10.1.2.3",))]
    assert choose_addresses(interfaces, None) == ["10.1.2.3", "8.8.4.4"]
    assert choose_addresses(interfaces, "a") == ["8.8.4.4", "10.1.2.3"]
    assert choose_addresses([Interface("x", ("not an address", "::1"))], None) == []


def test_the_watcher_reports_a_change_once():
    seen: list[list[str]] = []
    answers = iter([["192.168.1.5"], ["192.168.1.5"], ["192.168.1.9"], ["192.168.1.9"]])

    async def changed(addresses):
        seen.append(addresses)

    async def main():
        watcher = AddressWatcher(changed, ["192.168.1.5"], every=0.01,
                                 look=lambda: next(answers, ["192.168.1.9"]))  # fmt: skip
        watcher.start()
        await asyncio.sleep(0.2)
        await watcher.stop()

    asyncio.run(main())
    assert seen == [["192.168.1.9"]]


def _ip(ns: str, *args: str) -> None:
    subprocess.run(["ip", "netns", "exec", ns, "ip", *args], check=True, capture_output=True)


@pytest.fixture
def namespace():
    """A network namespace of the test's own with a veth pair and documentation-range test
    addresses inside it only; removed afterwards."""
    if shutil.which("ip") is None or os.geteuid() != 0:
        pytest.fail("needs iproute2 and root (`make test` installs it; CI runs as root)")
    ns = f"appliance-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        _ip(ns, "link", "add", "wifi0", "type", "veth", "peer", "name", "eth9")
        _ip(ns, "addr", "add", "192.0.2.10/24", "dev", "wifi0")
        _ip(ns, "addr", "add", "198.51.100.7/24", "dev", "eth9")
        for dev in ("lo", "wifi0", "eth9"):
            _ip(ns, "link", "set", dev, "up")
        _ip(ns, "route", "add", "default", "via", "192.0.2.1", "dev", "wifi0")
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=False)


WATCH = textwrap.dedent(
    """
    import asyncio, sys
    from appliance.web.addresses import AddressWatcher, reachable_addresses

    async def main():
        first = reachable_addresses()
        print("first", first[0] if first else "-", flush=True)
        done = asyncio.Event()

        async def changed(addresses):
            print("now", addresses[0] if addresses else "-", flush=True)
            done.set()

        watcher = AddressWatcher(changed, first, every=0.1)
        watcher.start()
        sys.stdin.readline()  # the test changes the network, then says so
        await asyncio.wait_for(done.wait(), 10)
        await watcher.stop()

    asyncio.run(main())
    """
)


def test_in_a_namespace_the_default_routes_address_is_chosen_and_followed(namespace):
    child = subprocess.Popen(
        ["ip", "netns", "exec", namespace, sys.executable, "-c", WATCH],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert child.stdout is not None and child.stdin is not None
        assert child.stdout.readline().split() == ["first", "192.0.2.10"]
        _ip(namespace, "route", "del", "default")
        _ip(namespace, "route", "add", "default", "via", "198.51.100.1", "dev", "eth9")
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().split() == ["now", "198.51.100.7"]
        assert child.wait(15) == 0, child.stderr.read() if child.stderr else ""
    finally:
        child.kill()
