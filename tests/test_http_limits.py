"""The web server against unfriendly clients, on loopback: slow headers, huge bodies, odd Host
headers, PIN guessing from one and from many addresses (127.0.0.x), inviting, revoking, and
property-based fuzzing of the pairing API (how many inputs were tried is printed)."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.web.http_limits import HEADER_TIMEOUT, MAX_BODY
from appliance.web.pairing import Pairing
from appliance.web.phones import PhoneBook
from appliance.web.ratelimit import BackOff, BackOffPolicy, Bucket, GuessGuard
from appliance.web.server import WebServer, WebSettings

TLS = ssl._create_unverified_context()
COUNTS: dict[str, int] = {}


class StubHub:
    """The server's side of a hub with no phones: enough for pages, pairing and inviting."""

    def __init__(self, pairing: Pairing) -> None:
        self.pairing = pairing
        self.peers = ()
        self.room = None  # no facilitator's rules

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass


class EmptyLibrary:
    pieces: dict[str, Any] = {}  # noqa: RUF012 - read only


class Server:
    """A WebServer (HTTPS and the HTTP redirect) in a thread with its own event loop."""

    def __init__(self, folder: Path, guard: GuessGuard | None = None) -> None:
        self.pairing = Pairing(folder / "paired.json")
        self.loop = asyncio.new_event_loop()
        self.web: WebServer | None = None
        self.guard = guard
        self._started = threading.Event()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> Server:
        self._thread.start()
        settings = WebSettings(host="127.0.0.1", https_port=0, http_port=_free_port(),
                               advertise=False, hosts=("127.0.0.1",))  # fmt: skip
        self.http_port = settings.http_port
        self.web = WebServer(StubHub(self.pairing), EmptyLibrary(), settings)  # type: ignore[arg-type]
        if self.guard is not None:
            self.web.guard = self.guard
        asyncio.run_coroutine_threadsafe(self.web.start(), self.loop).result(30)
        self.port = self.web.port
        self.origin = f"https://127.0.0.1:{self.port}"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.web is not None
        asyncio.run_coroutine_threadsafe(self.web.close(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

    def post(
        self, path: str, body: object, source: str = "127.0.0.1", origin: bool = True,
        connection: http.client.HTTPSConnection | None = None,
    ) -> tuple[int, dict[str, Any], http.client.HTTPResponse]:  # fmt: skip
        conn = connection or http.client.HTTPSConnection(
            "127.0.0.1", self.port, context=TLS, timeout=10, source_address=(source, 0)
        )
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if origin:
            headers["Origin"] = self.origin
        conn.putrequest("POST", path)
        for name, value in {**headers, "Content-Length": str(len(data))}.items():
            conn.putheader(name, value)
        conn.endheaders()
        # the box may refuse before the whole body is sent: its answer is read below
        with contextlib.suppress(ssl.SSLError, BrokenPipeError, ConnectionResetError):
            conn.send(data)
        response = conn.getresponse()
        raw = response.read()
        if connection is None:
            conn.close()
        return response.status, json.loads(raw or b"{}"), response


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def generous() -> GuessGuard:
    """No guessing limits (for fuzzing the API itself)."""
    return GuessGuard(BackOff(BackOffPolicy(free=10**9)), Bucket(burst=10**9))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    with Server(tmp_path) as s:
        yield s


def _wrong(pairing: Pairing) -> str:
    return "000000" if pairing.current_pin() != "000000" else "111111"


# -- slow and large requests --------------------------------------------------------------------


def _slow_headers(port: int, tls: bool) -> float:
    """Send a request line, then one header line every 2 s; seconds until the box hangs up."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock = TLS.wrap_socket(raw, server_hostname="127.0.0.1") if tls else raw
    start = time.monotonic()
    sock.sendall(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    sock.settimeout(2.0)
    try:
        while time.monotonic() - start < 60:
            try:
                if sock.recv(4096) == b"":
                    break
            except TimeoutError:
                sock.sendall(b"X-Slow: yes\r\n")
    except (ConnectionError, ssl.SSLError, OSError):
        pass
    finally:
        sock.close()
    return time.monotonic() - start


def test_a_client_sending_a_header_line_every_2_s_is_cut_off(server: Server) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(2) as pool:
        https = pool.submit(_slow_headers, server.port, True)
        plain = pool.submit(_slow_headers, server.http_port, False)
        took = {"https": https.result(), "http": plain.result()}
    print(f"slow headers: connection closed after {took}")
    assert all(HEADER_TIMEOUT - 1 <= t <= HEADER_TIMEOUT + 4 for t in took.values()), took


def test_a_declared_100_mb_body_is_refused_before_it_is_read(server: Server) -> None:
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock = TLS.wrap_socket(raw, server_hostname="127.0.0.1")
    head = (
        f"POST /api/pair HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nOrigin: {server.origin}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n"
    )
    sock.sendall(head.encode())
    start = time.monotonic()
    answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer
    sent, chunk = 0, b"x" * 65536
    try:  # keep sending the body: the box must have hung up
        while sent < 100_000_000 and time.monotonic() - start < 20:
            sock.sendall(chunk)
            sent += len(chunk)
    except (ConnectionError, ssl.SSLError, OSError):
        pass
    took = time.monotonic() - start
    sock.close()
    print(f"100 MB body: 413 and closed after {sent} bytes of body, {took:.2f} s")
    assert sent < 20 * 2**20 and took < 5


def test_a_body_just_over_the_limit_is_refused_and_one_under_is_read(server: Server) -> None:
    status, body, response = server.post("/api/pair", b"{" + b" " * MAX_BODY + b"}")
    assert status == 413 and "limited" in body["error"]
    assert response.getheader("Connection", "").lower() == "close"
    status, body, _ = server.post("/api/pair", b'{"pin": "x"' + b" " * 1000 + b"}")
    assert status == 403


def test_a_body_sent_too_slowly_is_given_up(server: Server) -> None:
    raw = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock = TLS.wrap_socket(raw, server_hostname="127.0.0.1")
    head = (
        f"POST /api/pair HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nOrigin: {server.origin}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
    )
    sock.sendall(head.encode())
    start = time.monotonic()
    sock.settimeout(1.0)
    closed = False
    while time.monotonic() - start < 30 and not closed:
        try:
            closed = sock.recv(4096) == b""
        except TimeoutError:
            sock.sendall(b" ")
        except (ConnectionError, ssl.SSLError, OSError):
            closed = True
    sock.close()
    assert closed and time.monotonic() - start < 15


# -- the redirect's Host header -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "status", "location"),
    [
        ("[::1]:{port}", 301, "https://[::1]:{https}/status?x=1"),
        ("127.0.0.1:{port}", 301, "https://127.0.0.1:{https}/status?x=1"),
        ("piano.local", 301, "https://piano.local:{https}/status?x=1"),
        ("[::1", 400, None),
        ("evil.example/x", 400, None),
        ("a b", 400, None),
    ],
)
def test_the_redirect_builds_its_location_from_a_checked_host(
    server: Server, host: str, status: int, location: str | None
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=10)
    conn.putrequest("GET", "/status?x=1", skip_host=True)
    conn.putheader("Host", host.format(port=server.http_port))
    conn.endheaders()
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status == status
    if location is not None:
        assert response.getheader("Location") == location.format(https=server.port)


# -- guessing PINs ------------------------------------------------------------------------------


def test_one_client_gets_5_free_tries_then_must_wait(server: Server) -> None:
    pairing = server.pairing
    for _ in range(6):
        assert server.post("/api/pair", {"pin": _wrong(pairing)})[0] == 403
    status, body, response = server.post("/api/pair", {"pin": pairing.current_pin()})
    assert status == 429 and "wait" in body["error"] and int(response.getheader("Retry-After") or 0)
    time.sleep(1.1)  # the 6th wrong try earned a 1 s wait
    status, body, _ = server.post("/api/pair", {"pin": pairing.current_pin(), "name": "A"})
    assert status == 200 and pairing.device_of(body["token"]) == "A"
    # the right PIN forgot the client: a few mistakes are free again
    assert server.post("/api/pair", {"pin": _wrong(pairing)})[0] == 403


def test_many_addresses_share_one_budget_but_the_qr_link_still_pairs(server: Server) -> None:
    pairing = server.pairing
    statuses = [
        server.post("/api/pair", {"pin": _wrong(pairing)}, source=f"127.0.0.{10 + i}")[0]
        for i in range(25)
    ]
    assert statuses == [403] * 20 + [429] * 5
    status, _, response = server.post("/api/pair", {"pin": "123456"}, source="127.0.0.99")
    assert status == 429 and 0 < int(response.getheader("Retry-After") or 0) <= 300
    status, body, _ = server.post(
        "/api/pair", {"link": pairing.current_link(), "name": "owner"}, source="127.0.0.99"
    )
    assert status == 200 and pairing.device_of(body["token"]) == "owner"


def _hammer(server: Server, seconds: float) -> tuple[int, int]:
    """Wrong PINs as fast as one client can send them: (checked, refused with 429)."""
    conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=TLS, timeout=10)
    checked = refused = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        status = server.post("/api/pair", {"pin": "00000x"}, connection=conn)[0]
        checked += status == 403
        refused += status == 429
    conn.close()
    return checked, refused


def test_guessing_rate_before_and_after(tmp_path: Path) -> None:
    """Wrong PINs checked per second by one client: without limits and with them."""
    seconds = 3.0
    with Server(tmp_path / "unlimited", guard=generous()) as s:
        before = _hammer(s, seconds)
    with Server(tmp_path / "limited") as s:
        after = _hammer(s, seconds)
    print(
        f"PIN guesses checked per second: without limits {before[0] / seconds:.0f}, "
        f"with limits {after[0] / seconds:.1f} ({after[1]} refused with 429 in {seconds:.0f} s)"
    )
    assert before[0] > 50 and after[0] <= 7


def test_a_non_ascii_pin_or_token_is_refused_not_a_500(server: Server) -> None:
    for body in ({"pin": "١٢٣٤٥٦"}, {"pin": "ü" * 6}, {"link": "ß" * 22}, {"pin": "\ud800"}):
        assert server.post("/api/pair", body, source="127.0.0.50")[0] in (403, 429)
    assert server.post("/api/invite", {"token": "токен"})[0] == 403


# -- inviting and revoking ----------------------------------------------------------------------


def test_a_paired_phone_can_invite_and_a_forgotten_one_cannot(server: Server) -> None:
    pairing = server.pairing
    status, body, _ = server.post("/api/pair", {"pin": pairing.current_pin(), "name": "A"})
    token = body["token"]
    status, invite, _ = server.post("/api/invite", {"token": token})
    assert status == 200 and invite["pin"] == pairing.current_pin()
    assert invite["link"].endswith(f"?link={pairing.current_link()}")
    assert "<svg" in invite["qr"] and 0 < invite["expires_in"] <= 600
    assert server.post("/api/invite", {"token": token}, origin=False)[0] == 403
    assert server.post("/api/invite", {"token": "not a token"})[0] == 403
    assert server.post("/api/invite", [token])[0] == 400
    # someone else pairs with the invitation; then the first phone is forgotten (CLI)
    status, _, _ = server.post("/api/pair", {"link": invite["link"].split("=")[-1]})
    assert status == 200
    assert server.post("/api/pair", {"link": invite["link"].split("=")[-1]})[0] == 403  # used
    PhoneBook(server.pairing.phones.path).forget("A")
    assert server.post("/api/invite", {"token": token})[0] == 403


def test_status_shows_a_damaged_pairing_file_on_the_box_only(tmp_path: Path) -> None:
    first = Pairing(tmp_path / "paired.json")
    first.pair_with_pin(first.current_pin(), "A")
    (tmp_path / "paired.json").write_text("{damaged")
    with Server(tmp_path) as s:
        assert s.web is not None
        local = s.web.status(local=True)
        assert "restored 1 phone" in local["problem"]
        assert "problem" not in s.web.status(local=False)


# -- fuzzing ------------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from(["pin", "link", "token", "name"])
BODIES = (
    st.dictionaries(FIELDS, st.text(max_size=40) | JSON, max_size=4)
    | JSON
    | st.binary(max_size=200)
)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with Server(tmp_path_factory.mktemp("fuzz"), guard=generous()) as s:
        yield s


@pytest.mark.parametrize("path", ["/api/pair", "/api/invite"])
def test_fuzz_the_pairing_api(fuzz_server: Server, path: str) -> None:
    conn = http.client.HTTPSConnection("127.0.0.1", fuzz_server.port, context=TLS, timeout=10)
    seen: dict[int, int] = {}

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(body=BODIES)
    def one(body: object) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        status, answer, _ = fuzz_server.post(path, data, connection=conn)
        seen[status] = seen.get(status, 0) + 1
        assert status in (200, 400, 403), (status, body, answer)
        assert ("token" in answer or "pin" in answer) if status == 200 else "error" in answer
        if status == 200:  # only the right secret pairs
            assert isinstance(body, dict) and (
                path == "/api/invite" or body.get("pin") or body.get("link")
            )

    one()
    conn.close()
    COUNTS[path] = sum(seen.values())
    print(f"hypothesis: {COUNTS[path]} bodies POSTed to {path}: statuses {sorted(seen.items())}")
    assert COUNTS[path] >= 100


def test_fuzz_counts_are_reported(capsys: pytest.CaptureFixture[str]) -> None:
    with capsys.disabled():
        for path, count in COUNTS.items():
            print(f"\nhypothesis: {count} inputs tried on POST {path}", end="")
        print()
