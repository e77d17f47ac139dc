"""The facilitator of a room (a therapist, a teacher): one adult whose page controls what the
phones may do. Every action here is checked on the server: only a request carrying a
facilitator's token (:mod:`appliance.web.facilitator_key`, unlocked with the facilitator's PIN,
never a phone's pairing) reaches it; anyone else gets a 403 that says why.

- ``GET /facilitator`` the page (``web/facilitator.html``, static);
- ``POST /api/facilitator/unlock`` {"pin"} → a cookie with the token (guesses held to the
  limits of :mod:`appliance.web.ratelimit`, 429 beyond);
- ``GET /api/facilitator/state`` the room's rules, the volume, the phones, the summary so far;
- ``POST /api/facilitator/act`` {"action", …}: ``ceiling`` / ``volume`` {"percent"},
  ``lock_all`` {"on"}, ``lock`` {"phone", "on"}, ``approval`` {"on"}, ``approve`` {"phone"},
  ``remove`` {"phone"}, ``microphone`` / ``camera`` {"policy": "off" | "held"}, ``keep``
  {"what": "feedback" | "everything"}, ``calm``, ``end_session``;
- ``GET /api/facilitator/summary.png`` / ``.pdf`` (``?which=last`` the session ended last).

The rules themselves (:class:`~appliance.perform.room.RoomRules`) are pure and enforced by the
hub (commands, microphone, camera), the engine (the volume under the ceiling) and the audio
producer (no sample above the ceiling: the speakers and every WebRTC listener alike).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from appliance.audio.ceiling import ceiling_amplitude
from appliance.events import Action, Direct, Event, Notice
from appliance.paths import REPO_ROOT, data_dir, write_atomically
from appliance.perform.room import CALM, LOCKED_ONE, RoomRules, describe, percent
from appliance.perform.session import Session
from appliance.perform.summary import Summary
from appliance.perform.summary_plot import draw
from appliance.web.facilitator_key import TOKEN_LIFETIME, FacilitatorKey
from appliance.web.http_limits import read_json
from appliance.web.hub import Hub, Peer
from appliance.web.ratelimit import GuessGuard

log = logging.getLogger(__name__)
COOKIE = "facilitator"
HEALTH_EVERY = 30.0  # seconds a health report is kept before the checks run again
HEALTH_TIME_LIMIT = 20.0
WHO = "facilitator"
NOT_FACILITATOR = (
    "only the facilitator can do that: unlock the facilitator page with the facilitator's PIN"
)
ENDED = "the session has ended: thank you for playing"
HANDS_ON = "hands on: the facilitator has given this phone its controls back"
LET_IN = "the facilitator lets this phone conduct now"
Handler = Callable[[dict[str, Any]], Awaitable[str]]


def rules_file() -> Path:
    return data_dir() / "web" / "room.json"


class Facilitator:
    def __init__(
        self,
        hub: Hub,
        session: Session,
        key: FacilitatorKey | None = None,
        rules_path: Path | None = None,
        health: Callable[[], list[dict[str, str]]] | None = None,
    ) -> None:
        self.hub = hub
        self.health = health  # the box's health checks, one dict per check (appliance.doctor)
        self.session = session
        self.key = key or FacilitatorKey()
        self.rules_path = rules_path or rules_file()
        stored = _read(self.rules_path)
        self.rules = RoomRules.from_json(stored)
        # sessions that started before this are settled: ended by the facilitator, or decided
        # on at a start of the box (forgotten or kept by the room's rule then in force)
        self.settled = _settled_until(stored)
        hub.room = self.rules
        self.guard = GuessGuard()  # the facilitator's PIN is guessed no faster than a phone's
        self.clock: Callable[[], float] = time.monotonic
        self.summary = Summary()
        self._ending = False  # an end of session under way
        self.last: Summary | None = None  # the session ended last
        self._health_cache: tuple[float, list[dict[str, str]], bool] | None = None
        self.devices: set[str] = set()  # the phones (pairing ids) that took part this session
        told = hub.on_profile

        def on_profile(device_id: str, name: str) -> None:
            self.devices.add(device_id)
            if told is not None:
                told(device_id, name)

        hub.on_profile = on_profile
        snapshot = hub.snapshot

        def with_rules() -> list[Event]:  # a phone that connects is told the room's rules
            return [*snapshot(), Notice(describe(self.rules), kind="room")]

        hub.snapshot = with_rules
        self._task: asyncio.Task[None] | None = None
        self._settling: asyncio.Task[None] | None = None
        self._apply_ceiling()
        self.actions: dict[str, Handler] = {
            "ceiling": self._ceiling,
            "volume": self._volume,
            "lock_all": self._lock_all,
            "lock": self._lock,
            "approval": self._approval,
            "approve": self._approve,
            "remove": self._remove,
            "microphone": self._media,
            "camera": self._media,
            "keep": self._keep,
            "calm": self._calm,
            "end_session": self._end_session,
        }

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen())
        self._settling = asyncio.create_task(self._settle())

    async def _settle(self) -> None:
        """The sessions since the last settled one ended without the facilitator (the box was
        stopped, restarted or crashed): in a room that keeps nothing (a facilitator PIN is set
        and the rule is "only anonymous feedback") they are forgotten as an ended session is."""
        memory = self.session.memory
        try:
            # (never settled before — a new box, or one from before this was kept —: what the
            # rule was then is not known, so nothing earlier is forgotten)
            if self.settled > 0 and self.key.is_set and self.rules.keep == "feedback":
                problem, devices = await asyncio.to_thread(memory.forget_unended, self.settled)
                if problem is not None:
                    log.warning("the last session could not be forgotten: %s", problem)
                    return  # tried again at the next start
                phones = self.hub.pairing.phones  # their pairings go too, as at an end
                self._revoke({p.hash for p in phones.listing() if p.id in set(devices)})
            self.settled = memory.session.started
            self._save()
        except Exception:  # never the end of the box
            log.exception("settling the last session failed")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._settling is not None and not self._settling.done():
            await asyncio.wait({self._settling}, timeout=10.0)  # a forgetting is not cut short

    async def _listen(self) -> None:
        async for event in self.hub.bus.subscribe():
            self.summary.take(event)

    def add_routes(self, app: web.Application) -> None:
        app.add_routes(
            [
                web.get("/facilitator", self._page),
                web.post("/api/facilitator/unlock", self._unlock),
                web.get("/api/facilitator/state", self._state),
                web.post("/api/facilitator/act", self._act),
                web.get("/api/facilitator/summary.{fmt}", self._summary),
                web.get("/api/facilitator/health", self._health),
            ]
        )

    # -- the role check ------------------------------------------------------------------------

    def is_facilitator(self, request: web.Request) -> bool:
        return self.key.valid(request.cookies.get(COOKIE))

    def _refuse(self) -> web.Response:
        return web.json_response({"error": NOT_FACILITATOR}, status=403)

    # -- HTTP ----------------------------------------------------------------------------------

    async def _page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(REPO_ROOT / "web" / "facilitator.html")

    async def _body(self, request: web.Request) -> dict[str, Any] | web.Response:
        if not _same_origin(request):
            return web.json_response(
                {"error": "requests must come from the box's own page"}, status=403
            )
        body = await read_json(request)
        if not isinstance(body, dict):
            return web.json_response({"error": "the body must be a JSON object"}, status=400)
        return body

    async def _unlock(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        if not self.key.is_set:
            return web.json_response(
                {"error": "no facilitator PIN is set: on the box, run `appliance facilitator pin`"},
                status=409,
            )
        pin = body.get("pin")
        client, now = request.remote or "?", self.clock()
        wait = self.guard.wait(client, now)
        if wait > 0:
            seconds = max(1, round(wait))
            return web.json_response(
                {"error": f"too many wrong tries: wait {seconds} s", "retry_after": seconds},
                status=429,
                headers={"Retry-After": str(seconds)},
            )
        # counted as wrong before it is checked (off the loop): guesses sent side by side
        # cannot all slip past the wait; a right PIN then forgets the count
        self.guard.failed(client, now)
        salt = await asyncio.to_thread(self.key.verified, pin) if isinstance(pin, str) else None
        if salt is None:
            return web.json_response({"error": "that is not the facilitator's PIN"}, status=403)
        self.guard.succeeded(client)
        response = web.json_response({"ok": True})
        response.set_cookie(
            COOKIE,
            self.key.issue(salt),  # bound to the PIN checked (not one set meanwhile)
            max_age=int(TOKEN_LIFETIME),
            path="/",
            secure=True,
            httponly=True,
            samesite="Strict",
        )
        return response

    async def _state(self, request: web.Request) -> web.Response:
        if not self.is_facilitator(request):
            return self._refuse()
        return web.json_response(self.state())

    async def _act(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        if not self.is_facilitator(request):
            return self._refuse()
        action = body.get("action")
        handler = self.actions.get(action) if isinstance(action, str) else None
        if handler is None:
            return web.json_response(
                {"error": f"no such action; the actions are {', '.join(self.actions)}"}, status=400
            )
        try:
            done = await handler(body)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"done": done, "state": self.state()})

    async def _summary(self, request: web.Request) -> web.Response:
        if not self.is_facilitator(request):
            return self._refuse()
        fmt = request.match_info["fmt"]
        if fmt not in ("png", "pdf"):
            return web.json_response({"error": "a summary is a .png or a .pdf"}, status=404)
        summary = self.last if request.query.get("which") == "last" else self.summary
        if summary is None:
            return web.json_response({"error": "no session has ended yet"}, status=404)
        data = await asyncio.to_thread(draw, summary, fmt, "Session summary")
        stamp = time.strftime("%Y-%m-%d-%H%M", time.localtime(summary.started))
        return web.Response(
            body=data,
            content_type="image/png" if fmt == "png" else "application/pdf",
            headers={"Content-Disposition": f'attachment; filename="session-{stamp}.{fmt}"'},
        )

    async def _health(self, request: web.Request) -> web.Response:
        """The box's health, as `appliance doctor` says it (the ports it serves itself and the
        models' checksums left out: they are checked at start), at most every HEALTH_EVERY s."""
        if not self.is_facilitator(request):
            return self._refuse()
        now = self.clock()
        if self._health_cache is None or now - self._health_cache[0] >= HEALTH_EVERY:
            if self.health is None:
                return web.json_response({"error": "no health checks on this box"}, status=404)
            try:
                checks = await asyncio.wait_for(asyncio.to_thread(self.health), HEALTH_TIME_LIMIT)
            except TimeoutError:
                return web.json_response({"error": "the health checks took too long"}, status=503)
            healthy = all(c["status"] != "problem" for c in checks)
            self._health_cache = (now, checks, healthy)
        _, checks, healthy = self._health_cache
        return web.json_response({"ok": healthy, "checks": checks})

    # -- what the page shows -------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        engine = self.session.engine
        return {
            "rules": self.rules.public(),
            "volume": engine.volume,
            "asked_volume": engine.asked_volume,
            "phones": [self._phone(p) for p in self.hub.peers],
            "summary": self.summary.to_json(),
            "last_summary": self.last is not None,
        }

    def _phone(self, peer: Peer) -> dict[str, Any]:
        key = peer.token_hash
        return {
            "id": peer.source,
            "name": peer.name,
            "paired": peer.paired,
            "locked": bool(key) and key in self.rules.locked,
            "waiting": peer.paired and self.rules.waiting(key),
        }

    def _peer(self, body: dict[str, Any]) -> Peer:
        phone = body.get("phone")
        found = next((p for p in self.hub.peers if p.source == phone), None)
        if found is None:
            raise ValueError("that phone is not connected")
        return found

    # -- the actions ---------------------------------------------------------------------------

    def _said(self, what: str) -> str:
        self.hub.bus.publish(Action(WHO, what))
        return what

    def _changed(self, what: str) -> str:
        """A rule changed: kept for the next start, and every phone told."""
        self._save()
        self.hub.bus.publish(Notice(describe(self.rules), kind="room"))
        return self._said(what)

    def _save(self) -> None:
        """The lasting rules, and where the settled sessions end, for the next start."""
        kept = {**self.rules.to_json(), "settled_until": self.settled}
        try:
            self.rules_path.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(self.rules_path, json.dumps(kept).encode())
        except OSError as exc:
            log.warning("the room's rules could not be saved: %s", exc)

    def _apply_ceiling(self) -> None:
        self.session.engine.set_ceiling(self.rules.ceiling)
        self.session.producer.ceiling.set(ceiling_amplitude(self.rules.ceiling))

    async def _ceiling(self, body: dict[str, Any]) -> str:
        self.rules.set("ceiling", body.get("percent"))
        self._apply_ceiling()
        return self._changed(f"volume ceiling {self.rules.ceiling} %")

    async def _volume(self, body: dict[str, Any]) -> str:
        self.session.engine.set_volume(percent(body.get("percent")))
        return self._said(f"volume {self.session.engine.volume} %")

    async def _lock_all(self, body: dict[str, Any]) -> str:
        self.rules.set("locked_all", body.get("on"))
        return self._changed("hands off: all phones" if self.rules.locked_all else "hands on")

    async def _lock(self, body: dict[str, Any]) -> str:
        peer, on = self._peer(body), body.get("on")
        if not isinstance(on, bool):
            raise ValueError("expected on: true or false")
        if not peer.token_hash:
            raise ValueError("that phone only listens")
        if on:
            self.rules.locked.add(peer.token_hash)
        else:
            self.rules.locked.discard(peer.token_hash)
        # that phone is told at once (its page shows its controls locked, or back)
        peer.send(Notice(LOCKED_ONE, kind="locked") if on else Notice(HANDS_ON, kind="unlocked"))
        return self._said(f"hands off: {peer.name}" if on else f"hands on: {peer.name}")

    async def _approval(self, body: dict[str, Any]) -> str:
        self.rules.set("approval", body.get("on"))
        if self.rules.approval:  # the phones here already conduct; new ones wait
            self.rules.approved |= {p.token_hash for p in self.hub.peers if p.paired}
        return self._changed(
            "new phones wait to be let in" if self.rules.approval else "every paired phone conducts"
        )

    async def _approve(self, body: dict[str, Any]) -> str:
        peer = self._peer(body)
        if not peer.token_hash:
            raise ValueError("that phone only listens: it must pair first")
        self.rules.approved.add(peer.token_hash)
        peer.send(Notice(LET_IN, kind="unlocked"))
        return self._said(f"{peer.name} may conduct")

    def _revoke(self, token_hashes: set[str]) -> int:
        phones = self.hub.pairing.phones
        ids = {p.id for p in phones.listing() if p.hash in token_hashes}
        for phone_id in ids:
            phones.forget(phone_id)
        return len(ids)

    async def _remove(self, body: dict[str, Any]) -> str:
        peer = self._peer(body)
        peer.send(Notice("the facilitator has asked this phone to leave", kind="removed"))
        if peer.token_hash:
            self._revoke({peer.token_hash})
        await self.hub.drop(peer)
        return self._said(f"removed {peer.name}")

    async def _media(self, body: dict[str, Any]) -> str:
        medium = str(body.get("action"))
        self.rules.set(medium, body.get("policy"))
        shown = "off" if getattr(self.rules, medium) == "off" else "on while the button is held"
        return self._changed(f"{medium} {shown}")

    async def _keep(self, body: dict[str, Any]) -> str:
        self.rules.set("keep", body.get("what"))
        if self.rules.keep == "feedback":
            return self._changed("after the session only anonymous feedback is kept")
        return self._changed("the session is kept in the box's memory")

    async def _calm(self, body: dict[str, Any]) -> str:
        calm = Direct("calm", directions=CALM)
        refusal = self.session.conductor.submit(calm, WHO, None, "button")
        if refusal is not None:
            raise ValueError(refusal)
        return self._said("calm: softer, slower, smoother")

    async def _end_session(self, body: dict[str, Any]) -> str:
        """Every phone sent away, the session's pairings revoked (and a new PIN), the summary
        kept for this page, and the memory of it forgotten unless the room keeps it."""
        if self._ending:  # (a double tap: the ended session's summary must stay)
            raise ValueError("the session is ending already")
        self._ending = True
        try:
            return await self._end(body)
        finally:
            self._ending = False

    async def _end(self, body: dict[str, Any]) -> str:
        self.summary.ended = time.time()
        self.last, self.summary = self.summary, Summary()
        for event in self.session.engine.snapshot():  # the piece playing opens the next one
            self.summary.take(event)
        peers = list(self.hub.peers)
        for peer in peers:
            peer.send(Notice(ENDED, kind="ended"))
        await asyncio.sleep(0.2)  # the notices go out before the connections close
        hashes = {p.token_hash for p in peers if p.token_hash}
        listing = self.hub.pairing.phones.listing()
        devices = sorted(self.devices | {p.id for p in listing if p.hash in hashes})
        revoked = self._revoke(hashes | {p.hash for p in listing if p.id in self.devices})
        for peer in peers:
            await self.hub.drop(peer)
        self.hub.pairing.new_pin()
        self.devices = set()
        self.rules.locked.clear()
        self.rules.approved.clear()
        self.rules.locked_all = False
        memory = self.session.memory
        ended = memory.new_session()
        forgotten = ""
        settled = True
        if self.rules.keep == "feedback":
            problem = await asyncio.to_thread(memory.forget_session, ended, devices)
            forgotten = "; only anonymous feedback kept" if problem is None else f"; {problem}"
            settled = problem is None  # else forgotten at the next start
        if settled:
            self.settled = memory.session.started
            self._save()
        return self._said(f"ended the session ({revoked} pairing(s) revoked{forgotten})")


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if not origin:
        return False
    parts = urlsplit(origin)
    return parts.scheme == "https" and parts.netloc == request.host


def _settled_until(stored: Any) -> float:
    value = stored.get("settled_until") if isinstance(stored, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return 0.0  # never settled (or damaged): every earlier session is decided on now


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
