"""The box's web server: the phone page over HTTPS, pairing, WebRTC signalling, a status page.

- HTTPS with a self-signed certificate made at first start (``$APPLIANCE_DATA/web/``); plain HTTP
  answers with a redirect to HTTPS.
- ``GET /`` the phone app (``web/``, static, no CDN); ``GET /status`` the box's page (phones
  connected; on the box's own screen also the PIN and a QR code with a one-time pairing link),
  kept current by ``GET /api/status``; ``GET /api/pieces`` the library.
- ``POST /api/pair`` {"pin"} or {"link"} → {"token"}, held to the guessing limits of
  :mod:`appliance.web.ratelimit` (429 with ``Retry-After``); ``POST /api/invite`` {"token"} →
  {"pin", "link", "qr", "expires_in"} for a paired phone that invites someone; ``POST
  /api/offer`` {"sdp", "type", "token"} → the answer. All refuse requests whose ``Origin`` is
  not the box itself.
- ``GET /display`` the wall display (view-only, no pairing, the room's network only) and its feed
  ``GET /api/display`` (:mod:`appliance.web.display`).
- Slow or large requests are cut short (:mod:`appliance.web.http_limits`); the redirect's
  ``Location`` is built from a checked ``Host`` header (:mod:`appliance.web.hosts`).
- Advertised on the LAN with zeroconf (``_https._tcp``, a friendly name) at the address of the
  interface phones can reach (:mod:`appliance.web.addresses`); when that address changes the
  certificate, the advertisement and the URL follow, and ``on_url`` is told.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from aiohttp import web

from appliance.errors import ApplianceError
from appliance.paths import REPO_ROOT, data_dir
from appliance.web.addresses import AddressWatcher, reachable_addresses
from appliance.web.certs import ensure_certificate
from appliance.web.display import DisplayFeed
from appliance.web.hosts import https_location
from appliance.web.http_limits import HANDLER_ARGS, MAX_BODY, limit_bodies, read_json
from appliance.web.hub import Hub, OfferError
from appliance.web.pairing import Pairing
from appliance.web.phones import token_hash
from appliance.web.ratelimit import GuessGuard

if TYPE_CHECKING:
    from appliance.web.facilitator import Facilitator

log = logging.getLogger(__name__)
WEB_ROOT = REPO_ROOT / "web"
PIN_CHECK = 2.0  # seconds between looks at the PIN's age (and at the paired phones' file)
WARN_EVERY = 600.0  # seconds between warnings that someone is guessing PINs


@dataclass
class WebSettings:
    host: str = "0.0.0.0"
    https_port: int = 8443
    http_port: int = 8080  # 0: no redirecting HTTP server
    name: str = "Piano"
    advertise: bool = True
    hosts: tuple[str, ...] = ()  # names/addresses for the certificate (default: the LAN's)


def qr_svg(text: str) -> str:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    data = image.to_string()
    return data.decode() if isinstance(data, bytes) else str(data)


def qr_text(text: str) -> str:
    import io

    import qrcode

    qr = qrcode.QRCode(border=1)
    qr.add_data(text)
    out = io.StringIO()
    qr.print_ascii(out=out, invert=True)
    return out.getvalue()


class WebServer:
    def __init__(
        self,
        hub: Hub,
        library: Any,
        settings: WebSettings | None = None,
        on_url: Callable[[str], None] | None = None,
        display: DisplayFeed | None = None,
    ) -> None:
        self.hub = hub
        self.display = display  # the wall display's read-only feed (``/display``)
        self.library = library
        self.settings = settings or WebSettings()
        self.pairing = hub.pairing
        self.on_url = on_url  # told the new URL when the box's address changes
        self.facilitator: Facilitator | None = None  # the room's facilitator page and actions
        self._runner: web.AppRunner | None = None
        self._redirect: web.AppRunner | None = None
        self._zeroconf: Any = None
        self._context: ssl.SSLContext | None = None
        self._watcher: AddressWatcher | None = None
        self._pin_keeper: asyncio.Task[None] | None = None
        self.guard = GuessGuard()  # how often PINs may be guessed, per client and overall
        self.clock: Callable[[], float] = time.monotonic
        self._warned = -WARN_EVERY
        self.hosts: list[str] = []
        self.url = ""
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def _hosts(self, addresses: list[str]) -> list[str]:
        """Names and addresses for the certificate, the one to show first."""
        s = self.settings
        hosts = list(s.hosts) or [*addresses, "localhost", "127.0.0.1", socket.gethostname()]
        if s.host not in ("0.0.0.0", "") and s.host not in hosts:
            hosts.insert(0, s.host)
        return list(dict.fromkeys(hosts))

    async def start(self) -> str:
        s = self.settings
        watch = not s.hosts and s.host in ("0.0.0.0", "")
        addresses = await asyncio.to_thread(reachable_addresses) if watch else []
        hosts = self.hosts = self._hosts(addresses)
        cert, key = ensure_certificate(data_dir() / "web", hosts)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert), str(key))
        self._context = context
        app = web.Application(client_max_size=MAX_BODY, middlewares=[limit_bodies, self._errors])
        app.add_routes(
            [
                web.get("/", self._index),
                web.get("/status", self._status),
                web.get("/api/status", self._status_json),
                web.get("/api/pieces", self._pieces),
                web.post("/api/pair", self._pair),
                web.post("/api/invite", self._invite),
                web.post("/api/offer", self._offer),
                web.static("/static", WEB_ROOT),
            ]
        )
        if self.display is not None:
            app.add_routes(self.display.routes())
            await self.display.start()
        if self.facilitator is not None:
            self.facilitator.add_routes(app)
        self._runner = web.AppRunner(app, **HANDLER_ARGS)
        await self._runner.setup()
        site = web.TCPSite(self._runner, s.host, s.https_port, ssl_context=context)
        await self._listen(site, s.https_port, "--https-port")
        port = self._bound_port(site) or s.https_port
        shown = hosts[0] if s.host in ("0.0.0.0", "") else s.host
        self.port = port
        self.url = f"https://{shown}:{port}/"
        if s.http_port:
            redirect = web.Application()
            redirect.router.add_route("*", "/{tail:.*}", self._to_https)
            self._redirect = web.AppRunner(redirect, **HANDLER_ARGS)
            await self._redirect.setup()
            await self._listen(
                web.TCPSite(self._redirect, s.host, s.http_port), s.http_port, "--http-port"
            )
        if s.advertise:
            await asyncio.to_thread(self._advertise, port, hosts)
        await self.hub.start()
        if watch:
            self._watcher = AddressWatcher(self._addresses_changed, addresses)
            self._watcher.start()
        self._pin_keeper = asyncio.create_task(self._keep_pin_current())
        return self.url

    async def _keep_pin_current(self) -> None:
        """Renew an expired PIN on time, so that every place showing it is told at once; notice
        phones forgotten from the command line."""
        while True:
            self.pairing.current_pin()
            self.pairing.refresh()
            await asyncio.sleep(PIN_CHECK)

    async def _addresses_changed(self, addresses: list[str]) -> None:
        """A new address (DHCP, Wi-Fi reconnect): new certificate names, advertisement, URL."""
        hosts = self.hosts = self._hosts(addresses)
        cert, key = await asyncio.to_thread(ensure_certificate, data_dir() / "web", hosts)
        if self._context is not None:  # new connections get the new certificate
            self._context.load_cert_chain(str(cert), str(key))
        self.url = f"https://{hosts[0]}:{self.port}/"
        if self.settings.advertise:
            if self._zeroconf is not None:
                await asyncio.to_thread(self._zeroconf.close)
                self._zeroconf = None
            await asyncio.to_thread(self._advertise, self.port, hosts)
        log.info("the box is now at %s", self.url)
        if self.on_url is not None:
            self.on_url(self.url)

    async def close(self) -> None:
        if self._pin_keeper is not None:
            self._pin_keeper.cancel()
        if self._watcher is not None:
            await self._watcher.stop()
        await self.hub.close()
        if self.display is not None:
            await self.display.close()
        if self._zeroconf is not None:
            await asyncio.to_thread(self._zeroconf.close)
        for runner in (self._runner, self._redirect):
            if runner is not None:
                await runner.cleanup()

    async def _listen(self, site: web.TCPSite, port: int, option: str) -> None:
        try:
            await site.start()
        except OSError as exc:
            await self.close()
            raise ApplianceError(
                f"cannot serve the phone page on port {port} ({exc.strerror or exc}); "
                f"choose another with {option}"
            ) from None

    @staticmethod
    def _bound_port(site: web.TCPSite) -> int | None:
        server = site._server  # aiohttp keeps the asyncio server here
        sockets = getattr(server, "sockets", None) or []
        return int(sockets[0].getsockname()[1]) if sockets else None

    def _advertise(self, port: int, hosts: list[str]) -> None:
        from zeroconf import ServiceInfo, Zeroconf

        addresses = [socket.inet_aton(h) for h in hosts if _is_ipv4(h) and not h.startswith("127.")]
        if not addresses:
            return
        try:
            self._zeroconf = Zeroconf(interfaces=[h for h in hosts if _is_ipv4(h)])
            info = ServiceInfo(
                "_https._tcp.local.",
                f"{self.settings.name}._https._tcp.local.",
                addresses=addresses,
                port=port,
                properties={"path": "/"},
                server=f"{socket.gethostname()}.local.",
            )
            self._zeroconf.register_service(info)
        except Exception as exc:  # no multicast on this network: the QR code still works
            log.warning("zeroconf advertising failed: %s", exc)

    # -- handlers ----------------------------------------------------------------------------

    @web.middleware
    async def _errors(self, request: web.Request, handler: Any) -> web.StreamResponse:
        try:
            response: web.StreamResponse = await handler(request)
            return response
        except web.HTTPException:
            raise
        except Exception:
            log.exception("request failed: %s", request.path)
            return web.json_response({"error": "the box could not do that"}, status=500)

    async def _to_https(self, request: web.Request) -> web.Response:
        port = self.port or self.settings.https_port
        try:
            location = https_location(request.headers.get("Host", ""), port, request.path_qs)
        except ValueError:
            raise web.HTTPBadRequest(text="a valid Host header is needed") from None
        raise web.HTTPMovedPermanently(location)

    async def _index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(WEB_ROOT / "index.html")

    def _same_origin(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if not origin:
            return False
        parts = urlsplit(origin)
        return parts.scheme == "https" and parts.netloc == request.host

    async def _json(self, request: web.Request) -> dict[str, Any]:
        if not self._same_origin(request):
            raise web.HTTPForbidden(
                text=json.dumps({"error": "requests must come from the box's own page"}),
                content_type="application/json",
            )
        body = await read_json(request)
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "the body must be a JSON object"}),
                content_type="application/json",
            )
        return body

    async def _pair(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        device = str(body.get("name") or "phone")[:40]
        pin, link = body.get("pin"), body.get("link")
        if not isinstance(pin, str) and not isinstance(link, str):
            return web.json_response({"error": "send a PIN or a link"}, status=400)
        # From here to the outcome nothing awaits: concurrent guesses are counted one by one.
        client, now, shared = request.remote or "?", self.clock(), isinstance(pin, str)
        wait = self.guard.wait(client, now, shared)
        if wait > 0:
            return self._too_many(client, wait)
        if isinstance(pin, str):
            token = self.pairing.pair_with_pin(pin, device)
        else:
            token = self.pairing.pair_with_link(str(link), device)
        if token is None:
            self.guard.failed(client, now, shared)
            return web.json_response({"error": "wrong or expired PIN"}, status=403)
        self.guard.succeeded(client)
        return web.json_response({"token": token, "name": device})

    def _too_many(self, client: str, wait: float) -> web.Response:
        seconds = max(1, round(wait))
        now = self.clock()
        if self.guard.everyone.wait(now) > 0 and now - self._warned >= WARN_EVERY:
            self._warned = now
            log.warning(
                "many wrong PINs (last from %s): PIN pairing paused; the QR code works", client
            )
        return web.json_response(
            {"error": f"too many wrong tries: wait {seconds} s", "retry_after": seconds},
            status=429,
            headers={"Retry-After": str(seconds)},
        )

    async def _invite(self, request: web.Request) -> web.Response:
        """A paired phone shows the PIN and the pairing QR code to someone it invites."""
        body = await self._json(request)
        token = body.get("token") if isinstance(body.get("token"), str) else None
        client = request.remote or "?"
        if self.guard.wait(client, self.clock(), shared=False) > 0:
            return self._too_many(client, self.guard.wait(client, self.clock(), shared=False))
        device = self.pairing.device_of(token)
        if device is None:
            self.guard.failed(client, self.clock(), shared=False)
            return web.json_response(
                {"error": "only a paired phone can invite: pair again with the box's PIN"},
                status=403,
            )
        room = self.hub.room
        why = None if room is None else room.refusal(token_hash(token or ""))
        if why is not None:  # hands off (or not yet let in): no inviting either
            return web.json_response({"error": why}, status=403)
        log.info("%s shows the PIN to invite someone", device)
        return web.json_response(self._invitation())

    def _invitation(self) -> dict[str, Any]:
        """The PIN, the one-time link and its QR code, and how long they last."""
        link = f"{self.url}?link={self.pairing.current_link()}"
        return {
            "pin": self.pairing.current_pin(),
            "link": link,
            "qr": qr_svg(link),
            "expires_in": round(self.pairing.pin_expires_in()),
        }

    async def _offer(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        token = body.get("token") if isinstance(body.get("token"), str) else None
        try:
            answer = await self.hub.answer(body, token, request.remote or "")
        except OfferError as exc:
            return web.json_response({"error": str(exc)}, status=exc.status)
        return web.json_response(answer)

    async def _pieces(self, request: web.Request) -> web.Response:
        refresh = getattr(self.library, "refresh", None)
        if refresh is not None:  # pieces added while the box runs
            await asyncio.to_thread(refresh)
        pieces = [
            {
                "id": p.id,
                "title": p.title,
                "composer": p.composer,
                "key": p.key,
                "catalogue": p.catalogue,
                "aliases": list(p.aliases),
            }
            for p in sorted(self.library.pieces.values(), key=lambda p: (p.composer, p.title))
        ]
        return web.json_response({"pieces": pieces})

    def status(self, local: bool) -> dict[str, Any]:
        """What the status page shows; the PIN and the pairing QR code only on the box itself."""
        out: dict[str, Any] = {
            "name": self.settings.name,
            "url": self.url,
            "phones": [{"name": p.name, "paired": p.paired} for p in self.hub.peers],
        }
        if local:
            invitation = self._invitation()
            out |= {
                "pin": invitation["pin"],
                "pin_expires_in": invitation["expires_in"],
                "qr": invitation["qr"],
            }
            if self.pairing.problem:
                out["problem"] = self.pairing.problem
        return out

    async def _status_json(self, request: web.Request) -> web.Response:
        return web.json_response(self.status(is_local(request.remote)))

    async def _status(self, request: web.Request) -> web.Response:
        state = self.status(is_local(request.remote))
        peers = "".join(
            f"<li>{escape(p['name'])}{'' if p['paired'] else ' (listening)'}</li>"
            for p in state["phones"]
        )
        if "pin" in state:
            pairing = f"""<div class="qr" id="qr">{state["qr"]}</div>
<p>PIN to pair a phone: <b class="pin" id="pin">{escape(state["pin"])}</b></p>"""
        else:
            pairing = "<p>The PIN to pair a phone is shown on the box's own screen.</p>"
        if "problem" in state:
            pairing += f'<p class="error">{escape(state["problem"])}</p>'
        html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(self.settings.name)}</title><link rel="stylesheet" href="/static/style.css"></head>
<body class="status"><h1>{escape(self.settings.name)}</h1>
<p>Open <b id="url">{escape(self.url)}</b> on a phone on this Wi-Fi, or scan:</p>
{pairing}
<h2>Phones</h2><ul id="phones">{peers or "<li>none yet</li>"}</ul>
<script src="/static/status.js"></script></body></html>"""
        return web.Response(text=html, content_type="text/html")


def is_local(remote: str | None) -> bool:
    """Whether a request comes from the box itself (its own screen or console)."""
    try:
        return remote is not None and ipaddress.ip_address(remote.split("%")[0]).is_loopback
    except ValueError:
        return False


def _is_ipv4(host: str) -> bool:
    try:
        socket.inet_aton(host)
    except OSError:
        return False
    return host.count(".") == 3


def pairing_store() -> Path:
    return data_dir() / "web" / "paired.json"


def make_pairing() -> Pairing:
    return Pairing(pairing_store())
