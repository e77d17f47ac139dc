"""The box's web server: the phone page over HTTPS, pairing, WebRTC signalling, a status page.

- HTTPS with a self-signed certificate made at first start (``$APPLIANCE_DATA/web/``); plain HTTP
  answers with a redirect to HTTPS.
- ``GET /`` the phone app (``web/``, static, no CDN); ``GET /status`` the box's page: PIN, QR
  code, phones connected; ``GET /api/pieces`` the library.
- ``POST /api/pair`` {"pin"} or {"link"} → {"token"}; ``POST /api/offer`` {"sdp", "type",
  "token"} → the answer. Both refuse requests whose ``Origin`` is not the box itself.
- Advertised on the LAN with zeroconf (``_https._tcp``, a friendly name).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from appliance.errors import ApplianceError
from appliance.paths import REPO_ROOT, data_dir
from appliance.web.certs import ensure_certificate, lan_addresses
from appliance.web.hub import Hub, OfferError
from appliance.web.pairing import Pairing

log = logging.getLogger(__name__)
WEB_ROOT = REPO_ROOT / "web"
MAX_BODY = 128 * 1024


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
    def __init__(self, hub: Hub, library: Any, settings: WebSettings | None = None) -> None:
        self.hub = hub
        self.library = library
        self.settings = settings or WebSettings()
        self.pairing = hub.pairing
        self._runner: web.AppRunner | None = None
        self._redirect: web.AppRunner | None = None
        self._zeroconf: Any = None
        self.url = ""
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> str:
        s = self.settings
        hosts = list(s.hosts) or [*lan_addresses(), "localhost", "127.0.0.1", socket.gethostname()]
        if s.host not in ("0.0.0.0", "") and s.host not in hosts:
            hosts.insert(0, s.host)
        cert, key = ensure_certificate(data_dir() / "web", hosts)
        import ssl

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert), str(key))
        app = web.Application(client_max_size=MAX_BODY, middlewares=[self._errors])
        app.add_routes(
            [
                web.get("/", self._index),
                web.get("/status", self._status),
                web.get("/api/pieces", self._pieces),
                web.post("/api/pair", self._pair),
                web.post("/api/offer", self._offer),
                web.static("/static", WEB_ROOT),
            ]
        )
        self._runner = web.AppRunner(app)
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
            self._redirect = web.AppRunner(redirect)
            await self._redirect.setup()
            await self._listen(
                web.TCPSite(self._redirect, s.host, s.http_port), s.http_port, "--http-port"
            )
        if s.advertise:
            await asyncio.to_thread(self._advertise, port, hosts)
        await self.hub.start()
        return self.url

    async def close(self) -> None:
        await self.hub.close()
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
        host = (request.host or "").split(":")[0] or "localhost"
        port = self.port or self.settings.https_port
        raise web.HTTPMovedPermanently(f"https://{host}:{port}{request.path_qs}")

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
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "the body must be JSON"}), content_type="application/json"
            ) from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "the body must be a JSON object"}),
                content_type="application/json",
            )
        return body

    async def _pair(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        device = str(body.get("name") or "phone")[:40]
        token = None
        if isinstance(body.get("pin"), str):
            token = self.pairing.pair_with_pin(body["pin"], device)
        elif isinstance(body.get("link"), str):
            token = self.pairing.pair_with_link(body["link"], device)
        if token is None:
            return web.json_response({"error": "wrong or expired PIN"}, status=403)
        return web.json_response({"token": token, "name": device})

    async def _offer(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        token = body.get("token") if isinstance(body.get("token"), str) else None
        try:
            answer = await self.hub.answer(body, token)
        except OfferError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(answer)

    async def _pieces(self, request: web.Request) -> web.Response:
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

    async def _status(self, request: web.Request) -> web.Response:
        link = f"{self.url}?link={self.pairing.new_link()}"
        peers = "".join(
            f"<li>{escape(p.name)}{'' if p.paired else ' (listening)'}</li>" for p in self.hub.peers
        )
        html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(self.settings.name)}</title><link rel="stylesheet" href="/static/style.css"></head>
<body class="status"><h1>{escape(self.settings.name)}</h1>
<p>Open <b>{escape(self.url)}</b> on a phone on this Wi-Fi, or scan:</p>
<div class="qr">{qr_svg(link)}</div>
<p>PIN to pair a phone: <b class="pin">{escape(self.pairing.current_pin())}</b></p>
<h2>Phones</h2><ul>{peers or "<li>none yet</li>"}</ul></body></html>"""
        return web.Response(text=html, content_type="text/html")


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
