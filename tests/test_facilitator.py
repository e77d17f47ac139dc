"""The facilitator of a room, server-level: a whole box on loopback (no browser), the facilitator
over HTTPS with the facilitator's PIN, participants as phones on the hub (paired, their
messages through the hub's checks). Every facilitator action is refused to a participant and
to nobody; the volume ceiling is measured at the sink; hands off, remove, approval, the
microphone and camera policy, the calm preset, the end of a session, what is kept, the summary.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import ssl
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

from appliance.audio.ceiling import PeakCeiling, ceiling_amplitude
from appliance.audio.sinks import MemorySink
from appliance.directions.encoded import decode
from appliance.events import DirectionApplied, Notice, ProtocolError, from_json, to_json
from appliance.perform.room import CALM, LOCKED_ALL, LOCKED_ONE, WAITING, RoomRules
from appliance.perform.summary import Summary
from appliance.perform.summary_plot import draw
from appliance.store import DirectionRow, FeedbackRow, ProfileRow, UtteranceRow
from appliance.web.facilitator import NOT_FACILITATOR
from appliance.web.facilitator_key import FacilitatorKey, set_pin
from appliance.web.hub import Peer
from appliance.web.phones import token_hash
from appliance.web.ratelimit import GuessGuard
from export.webbox import WebBox
from tests.rigs import Rig

PIN = "24681357"
TLS = ssl._create_unverified_context()  # the box's self-signed certificate
ACTIONS: dict[str, dict[str, Any]] = {  # every facilitator action, with a valid body
    "ceiling": {"percent": 50},
    "volume": {"percent": 60},
    "lock_all": {"on": True},
    "lock": {"phone": "phone-1", "on": True},
    "approval": {"on": True},
    "approve": {"phone": "phone-1"},
    "remove": {"phone": "phone-1"},
    "microphone": {"policy": "off"},
    "camera": {"policy": "off"},
    "keep": {"what": "everything"},
    "calm": {},
    "end_session": {},
}


# -- a phone on the hub, without WebRTC ------------------------------------------------------


class FakePC:
    connectionState = "connected"

    def getSenders(self) -> list:  # aiortc's name
        return []

    async def close(self) -> None:
        pass


@dataclass
class FakeChannel:
    sent: list[Any] = field(default_factory=list)
    readyState: str = "open"  # the data channel's name

    def send(self, text: str) -> None:
        self.sent.append(from_json(text))


async def _join(box: WebBox, name: str) -> Peer:
    hub = box.hub
    token = box.pairing.pair_with_pin(box.pairing.current_pin(), name)
    assert token is not None
    phone = box.pairing.phone_of(token)
    assert phone is not None
    peer = Peer(FakePC(), name, paired=True, client="127.0.0.1", token_hash=token_hash(token))  # type: ignore[arg-type]
    peer.channel = FakeChannel()
    hub._profile(phone.id, phone.name)  # as a connecting phone is remembered
    hub.peers.append(peer)
    return peer


def join(box: WebBox, name: str) -> Peer:
    return box.call(_join(box, name))


async def _receive(box: WebBox, peer: Peer, message: dict[str, Any]) -> list:
    return box.hub.receive(peer, json.dumps(message))


def say(box: WebBox, peer: Peer, **message: Any) -> list:
    """What the box answers a phone's data-channel message."""
    return box.call(_receive(box, peer, message))


def refused(answers: list) -> str:
    return " ".join(a.message for a in answers if isinstance(a, ProtocolError))


# -- HTTPS ------------------------------------------------------------------------------------


def request(
    box: WebBox, path: str, body: dict[str, Any] | None = None, cookie: str = ""
) -> tuple[int, Any, dict[str, str]]:
    origin = box.url.rstrip("/")
    headers = {"Origin": origin}
    if cookie:
        headers["Cookie"] = cookie
    data = None if body is None else json.dumps(body).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    req = urllib.request.Request(box.url + path.lstrip("/"), data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, context=TLS, timeout=30) as response:
            status, raw, got = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        status, raw, got = exc.code, exc.read(), dict(exc.headers)
    kind = got.get("Content-Type", "")
    return status, (json.loads(raw) if kind.startswith("application/json") else raw), got


def act(box: WebBox, cookie: str, action: str, **body: Any) -> dict[str, Any]:
    status, answer, _ = request(box, "/api/facilitator/act", {"action": action, **body}, cookie)
    assert status == 200, answer
    return answer


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    box = WebBox(tmp_path_factory.mktemp("room"), speech=False, vision=False).start()
    facilitator = box.box.facilitator
    assert facilitator is not None
    set_pin(PIN, facilitator.key.path)
    yield box
    box.stop()
    facilitator.rules_path.unlink(missing_ok=True)  # the next module's box starts afresh
    facilitator.key.path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def cookie(box) -> str:
    status, answer, headers = request(box, "/api/facilitator/unlock", {"pin": PIN})
    assert status == 200, answer
    set_cookie = headers["Set-Cookie"]
    assert "HttpOnly" in set_cookie and "Secure" in set_cookie and "SameSite=Strict" in set_cookie
    return set_cookie.split(";")[0]


@pytest.fixture
def room(box, cookie):
    """The room's rules back to their defaults after each test."""
    yield box.box.facilitator
    for action, body in (
        ("ceiling", {"percent": 100}),
        ("lock_all", {"on": False}),
        ("approval", {"on": False}),
        ("microphone", {"policy": "held"}),
        ("camera", {"policy": "held"}),
        ("keep", {"what": "feedback"}),
    ):
        act(box, cookie, action, **body)
    box.box.facilitator.rules.locked.clear()
    box.session.engine.set_volume(80)


# -- the role check ---------------------------------------------------------------------------


def test_every_facilitator_action_is_refused_to_a_participant_and_to_nobody(box, cookie, room):
    ann = join(box, "Ann")
    token = "never-shown"  # a participant has a pairing token, never a facilitator's
    phone_token = box.pairing.pair_with_pin(box.pairing.current_pin(), "Bea")
    rules_before = box.box.facilitator.rules.public()
    for who in ("", f"facilitator={phone_token}", f"facilitator={token}"):
        status, answer, _ = request(box, "/api/facilitator/state", cookie=who)
        assert status == 403 and answer["error"] == NOT_FACILITATOR
        for action, body in ACTIONS.items():
            body = {"action": action, "token": phone_token, **body}
            status, answer, _ = request(box, "/api/facilitator/act", body, who)
            assert status == 403 and answer["error"] == NOT_FACILITATOR, action
        for fmt in ("png", "pdf"):
            status, answer, _ = request(box, f"/api/facilitator/summary.{fmt}", cookie=who)
            assert status == 403 and answer["error"] == NOT_FACILITATOR
        status, answer, _ = request(box, "/api/facilitator/health", cookie=who)
        assert status == 403 and answer["error"] == NOT_FACILITATOR
    assert box.box.facilitator.rules.public() == rules_before
    assert ann in box.hub.peers and box.hub.room is box.box.facilitator.rules
    # nor over the data channel: a phone cannot send anything but a phone's events
    for kind in ("facilitator", "ceiling", "end_session", "lock_all", "problem", "notice"):
        assert refused(say(box, ann, type=kind, percent=100, on=True))
    assert box.box.facilitator.rules.public() == rules_before
    # the page itself is there for anyone; its actions are not
    status, page, _ = request(box, "/facilitator")
    assert status == 200 and b"facilitator.js" in page
    box.call(box.hub.drop(ann))


def test_the_facilitator_sees_the_box_s_health_as_the_doctor_says_it(box, cookie):
    status, answer, _ = request(box, "/api/facilitator/health", cookie=cookie)
    assert status == 200 and isinstance(answer["ok"], bool)
    names = {check["name"] for check in answer["checks"]}
    assert {"audio output", "synthesiser", "performance model", "disk space", "store"} <= names
    for check in answer["checks"]:
        assert check["status"] in ("ok", "warning", "problem", "skipped") and check["found"]
        assert check["status"] != "problem" or check["todo"]  # what to do, when wrong
    assert answer["ok"] == all(c["status"] != "problem" for c in answer["checks"])


def test_unlocking_needs_the_facilitators_pin_and_wrong_guesses_are_held_back(box, cookie):
    facilitator = box.box.facilitator
    guard, facilitator.guard = facilitator.guard, GuessGuard()
    try:
        phone_pin = box.pairing.current_pin()
        codes = [request(box, "/api/facilitator/unlock", {"pin": p})[0] for p in [phone_pin] * 3]
        assert codes == [403, 403, 403]  # the phones' PIN is not the facilitator's
        codes = [request(box, "/api/facilitator/unlock", {"pin": "00000000"})[0] for _ in range(5)]
        assert codes[:2] == [403, 403] and codes[-1] == 429  # then a wait, like pairing
        status, _, headers = request(box, "/api/facilitator/unlock", {"pin": PIN})
        assert status == 429 and int(headers["Retry-After"]) >= 1  # even the right one waits
        # guesses sent side by side are counted before they are checked
        facilitator.guard = GuessGuard()
        with ThreadPoolExecutor(20) as pool:
            codes = list(
                pool.map(
                    lambda _: request(box, "/api/facilitator/unlock", {"pin": "11111111"})[0],
                    range(20),
                )
            )
        print(f"20 guesses side by side: {codes.count(403)} checked, {codes.count(429)} held")
        assert codes.count(403) <= 6 and codes.count(429) >= 14
    finally:
        facilitator.guard = guard
    assert request(box, "/api/facilitator/state", cookie=cookie)[0] == 200
    # no Origin of the box's own: refused before anything else
    req = urllib.request.Request(
        box.url + "api/facilitator/act",
        data=json.dumps({"action": "calm"}).encode(),
        headers={"Cookie": cookie, "Origin": "https://evil.example"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused_:
        urllib.request.urlopen(req, context=TLS)
    assert refused_.value.code == 403


def test_hostile_bodies_get_a_plain_refusal(box, cookie, room):
    bodies = [
        {"action": "volume", "percent": 1e309},
        {"action": "ceiling", "percent": "loud"},
        {"action": "lock", "phone": {"x": 1}, "on": True},
        {"action": "lock_all", "on": "yes"},
        {"action": "camera", "policy": "on"},
        {"action": "keep", "what": "all"},
        {"action": "x" * 10_000},
        {"action": ["calm"]},
    ]
    for body in bodies:
        status, answer, _ = request(box, "/api/facilitator/act", body, cookie)
        assert status == 400 and answer["error"], body
    status, _, _ = request(box, "/api/facilitator/summary.svg", cookie=cookie)
    assert status == 404
    assert box.box.facilitator.rules.public() == RoomRules().public()


def test_the_pin_is_kept_only_as_a_salted_hash(tmp_path):
    path = tmp_path / "facilitator.json"
    pin = set_pin(path=path)
    assert len(pin) == 8 and pin.isdigit() and pin not in path.read_text()
    key = FacilitatorKey(path)
    assert key.check(pin) and not key.check("12345678") and not key.check("x" * 1000)
    token = key.issue()
    assert key.valid(token) and not key.valid(pin) and not key.valid(None)
    key.revoke_all()
    assert not key.valid(token)
    # a new PIN set on the box (`appliance facilitator pin`, another process) ends every unlock
    token = key.issue()
    assert key.valid(token)
    set_pin(path=path)
    assert not key.valid(token)
    assert key.valid(key.issue())  # unlocked again with the new PIN
    # a PIN checked just before another is set: its token is bound to the PIN it matched
    checked = key.verified(set_pin(path=path))
    assert checked is not None and key.verified("00000000") is None
    set_pin(path=path)
    assert not key.valid(key.issue(checked))


# -- the ceiling ------------------------------------------------------------------------------


def test_the_ceiling_holds_at_the_sink_against_fff_louder_and_volume_100(box, cookie, room):
    producer, engine = box.session.producer, box.session.engine
    sink = MemorySink()
    producer.audio_sinks.append(sink)
    ann = join(box, "Ann")
    try:
        act(box, cookie, "ceiling", percent=30)
        limit = ceiling_amplitude(30)
        assert limit is not None
        for text in ("volume 100", "fff", "louder", "much louder", "as loud as you can"):
            assert not refused(say(box, ann, type="command", text=text, language="en"))
        assert not refused(say(box, ann, type="volume", percent=100))
        time.sleep(0.5)  # the commands are carried out
        assert engine.asked_volume == 100 and engine.volume == 30
        start = len(sink.blocks)
        time.sleep(4.0)
        capped = np.concatenate(sink.blocks[start:])
        peak = float(np.abs(capped).max())
        print(f"ceiling 30 %: allowed peak {limit:.4f}, measured at the sink {peak:.4f}")
        assert 0.005 < peak <= limit + 1e-6  # music, under the ceiling
        act(box, cookie, "ceiling", percent=100)  # the same request without the ceiling
        time.sleep(0.5)
        start = len(sink.blocks)
        time.sleep(3.0)
        free = float(np.abs(np.concatenate(sink.blocks[start:])).max())
        print(f"no ceiling: measured at the sink {free:.4f}")
        assert free > 2 * limit
    finally:
        producer.audio_sinks.remove(sink)
        box.call(box.hub.drop(ann))


def test_lowering_the_ceiling_holds_every_block_at_once_and_for_every_listener(library, synth):
    """Rig-level: volume 100 and "much louder", then a ceiling of 20 % — not one block above it
    from that moment (the engine's volume fades down over 0.2 s; the producer holds the
    samples meanwhile), and the broadcast to WebRTC listeners gets the same samples."""
    from appliance.audio.sinks import Broadcast

    rig = Rig(library, synth, volume=100)
    broadcast = Broadcast()
    ring = broadcast.listen()
    rig.producer.audio_sinks.append(broadcast)
    rig.select("joplin-maple-leaf-rag", seed=5)
    rig.run(1.0)
    rig.engine.direct("much louder")
    loud = rig.run(1.5)
    rig.engine.set_ceiling(20)
    rig.producer.ceiling.set(ceiling_amplitude(20))
    capped = rig.run(2.0)
    limit = ceiling_amplitude(20)
    assert limit is not None and float(np.abs(loud).max()) > 3 * limit
    assert float(np.abs(capped).max()) <= limit + 1e-6
    assert float(np.abs(capped).max()) > limit / 4  # the music goes on
    heard = ring.read(ring.buffered)  # a WebRTC listener's queue: the newest 0.5 s
    assert len(heard) > 0 and float(np.abs(heard).max()) <= limit + 1e-6


def test_the_peak_ceiling_alone():
    ceiling = PeakCeiling(48_000)
    block = np.full((480, 2), 0.8, np.float32)
    assert np.array_equal(ceiling.apply(block.copy()), block)  # none set: untouched
    ceiling.set(0.2)
    assert float(np.abs(ceiling.apply(block.copy())).max()) <= 0.2 + 1e-7
    ceiling.set(None)
    back = [float(ceiling.apply(block.copy()).max()) for _ in range(40)]
    assert back[0] < 0.8 and back[-1] == pytest.approx(0.8)  # it comes back smoothly
    assert all(b <= a + 0.8 * 480 / (0.3 * 48_000) + 1e-6 for a, b in itertools.pairwise(back))


# -- hands off, who may conduct ---------------------------------------------------------------


def test_hands_off_for_all_phones_and_for_one(box, cookie, room):
    ann, bea = join(box, "Ann"), join(box, "Bea")
    try:
        act(box, cookie, "lock_all", on=True)
        for peer in (ann, bea):
            assert refused(say(box, peer, type="pause")) == LOCKED_ALL
            assert refused(say(box, peer, type="talk", pressed=True)) == LOCKED_ALL
        assert not refused(say(box, ann, type="talk", pressed=False))  # letting go always works
        act(box, cookie, "lock_all", on=False)
        state = act(box, cookie, "lock", phone=ann.source, on=True)["state"]
        assert {p["name"]: p["locked"] for p in state["phones"]} == {"Ann": True, "Bea": False}
        assert refused(say(box, ann, type="command", text="softer")) == LOCKED_ONE
        assert not refused(say(box, bea, type="command", text="softer"))
        act(box, cookie, "lock", phone=ann.source, on=False)
        assert not refused(say(box, ann, type="feedback", kind="like"))
        # every phone is told what the facilitator did
        time.sleep(0.3)
        told = [e for e in bea.channel.sent if getattr(e, "who", "") == "facilitator"]
        assert any("hands off: Ann" in e.what for e in told)
    finally:
        for peer in (ann, bea):
            box.call(box.hub.drop(peer))


def test_hands_off_cannot_be_escaped_by_inviting_or_pairing_again(box, cookie, room):
    """A phone with hands off gets no invitation (no PIN to pair again with), and a new pairing
    sent on the same connection keeps hands off."""
    token = box.pairing.pair_with_pin(box.pairing.current_pin(), "Dan")
    assert token is not None
    dan = join(box, "Dan")
    dan.token_hash = token_hash(token)
    try:
        status, answer, _ = request(box, "/api/invite", {"token": token})
        assert status == 200 and answer["pin"]  # before: a paired phone may invite
        act(box, cookie, "lock", phone=dan.source, on=True)
        status, answer, _ = request(box, "/api/invite", {"token": token})
        assert status == 403 and answer["error"] == LOCKED_ONE and "pin" not in answer
        again = box.pairing.pair_with_pin(box.pairing.current_pin(), "Dan")  # a PIN seen anyway
        assert again is not None
        assert not refused(say(box, dan, type="authenticate", token=again))
        assert dan.token_hash == token_hash(again)
        assert refused(say(box, dan, type="command", text="louder")) == LOCKED_ONE
        act(box, cookie, "lock_all", on=True)
        status, answer, _ = request(box, "/api/invite", {"token": again})
        assert status == 403 and answer["error"] == LOCKED_ALL
    finally:
        box.call(box.hub.drop(dan))


def test_a_paused_phone_that_connects_again_is_told_at_once(box, cookie, room):
    """A phone with hands off on its own (or waiting for approval) that reconnects hears it
    as soon as its data channel opens, not only when it next tries to conduct."""
    from tests.test_hub_receive import FakeChannel as OpenChannel
    from tests.test_hub_receive import FakeConnection

    eve = join(box, "Eve")
    act(box, cookie, "lock", phone=eve.source, on=True)

    async def reconnect(token: str) -> OpenChannel:
        again = Peer(FakeConnection(), "Eve", paired=True, client="127.0.0.1", token_hash=token)  # type: ignore[arg-type]
        box.hub._wire(again)
        channel = OpenChannel()
        again.pc.handlers["datachannel"](channel)  # type: ignore[attr-defined]
        return channel

    try:
        channel = box.call(reconnect(eve.token_hash))
        told = [e.message for e in channel.sent if isinstance(e, ProtocolError)]
        assert told == [LOCKED_ONE]
        act(box, cookie, "lock", phone=eve.source, on=False)
        channel = box.call(reconnect(eve.token_hash))
        assert not [e for e in channel.sent if isinstance(e, ProtocolError)]
    finally:
        box.call(box.hub.drop(eve))


def test_approve_a_waiting_phone_and_remove_one(box, cookie, room):
    ann = join(box, "Ann")
    try:
        act(box, cookie, "approval", on=True)
        assert not refused(say(box, ann, type="command", text="softer"))  # here already
        cem = join(box, "Cem")
        assert refused(say(box, cem, type="pause")) == WAITING
        state = request(box, "/api/facilitator/state", cookie=cookie)[1]
        assert {p["name"]: p["waiting"] for p in state["phones"]} == {"Ann": False, "Cem": True}
        act(box, cookie, "approve", phone=cem.source)
        assert not refused(say(box, cem, type="command", text="a bit faster"))
        answer = act(box, cookie, "remove", phone=cem.source)
        assert answer["done"] == "removed Cem"
        assert cem not in box.hub.peers and not box.pairing.still_valid(cem.token_hash)
        assert any(isinstance(e, Notice) and e.kind == "removed" for e in cem.channel.sent)
        assert "pair this phone" in refused(say(box, cem, type="pause"))  # it stays out
        status, answer, _ = request(
            box, "/api/facilitator/act", {"action": "remove", "phone": "phone-0"}, cookie
        )
        assert status == 400 and "not connected" in answer["error"]
    finally:
        box.call(box.hub.drop(ann))


# -- microphone and camera ----------------------------------------------------------------------


class FakeListening:
    closed = False

    def __init__(self) -> None:
        self.fed = 0

    def feed(self, samples, channels, rate) -> None:
        self.fed += 1

    def release(self) -> None:
        pass

    def finish(self) -> None:
        pass


class FakeVoice:
    def __init__(self) -> None:
        self.listened: list[FakeListening] = []

    def listen(self, *args) -> FakeListening:
        self.listened.append(FakeListening())
        return self.listened[-1]

    def said(self, *args) -> None:
        pass


class FakeWatch:
    def __init__(self) -> None:
        self.frames = 0

    def offer(self, frame) -> None:
        self.frames += 1

    def release(self) -> None:
        pass


class FakeEyes:
    def __init__(self) -> None:
        self.watches: list[FakeWatch] = []

    def watch(self, *args) -> FakeWatch:
        self.watches.append(FakeWatch())
        return self.watches[-1]


class FakeTrack:
    """A phone's microphone or camera: a few frames, then the end."""

    def __init__(self, kind: str, frames: int = 5) -> None:
        self.kind, self.left = kind, frames

    async def recv(self):
        import av
        from aiortc.mediastreams import MediaStreamError

        if self.left == 0:
            raise MediaStreamError
        self.left -= 1
        await asyncio.sleep(0)
        if self.kind == "video":
            return av.VideoFrame(16, 16, "yuv420p")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 960), np.int16), "s16", "mono")
        frame.sample_rate = 48_000
        return frame


def test_microphone_and_camera_policy_is_enforced_on_the_server(box, cookie, room):
    hub = box.hub
    voice, eyes = FakeVoice(), FakeEyes()
    saved = hub.voice, hub.eyes
    hub.voice, hub.eyes = voice, eyes
    ann = join(box, "Ann")
    try:
        answer = act(box, cookie, "microphone", policy="off")
        assert answer["state"]["rules"]["microphone"] == "off"
        assert not refused(say(box, ann, type="talk", pressed=True))
        assert voice.listened == [] and len(eyes.watches) == 1  # the camera only
        ann.listening = FakeListening()  # even a listening left over hears nothing
        box.call(hub._consume(ann, FakeTrack("audio")))
        box.call(hub._consume(ann, FakeTrack("video")))
        assert ann.audio_frames == 5 and ann.listening.fed == 0 and eyes.watches[0].frames == 5
        say(box, ann, type="talk", pressed=False)
        act(box, cookie, "camera", policy="off")
        assert "off in this room" in refused(say(box, ann, type="talk", pressed=True))
        ann.talking, ann.watch = True, FakeWatch()
        box.call(hub._consume(ann, FakeTrack("video")))
        assert ann.watch.frames == 0  # frames arrive and are ignored
        ann.talking, ann.watch, ann.listening = False, None, None
        act(box, cookie, "microphone", policy="held")
        act(box, cookie, "camera", policy="held")
        say(box, ann, type="talk", pressed=True)
        assert len(voice.listened) == 1 and len(eyes.watches) == 2
        say(box, ann, type="talk", pressed=False)
        # the phones are shown the room's rules
        time.sleep(0.3)
        rules = [e for e in ann.channel.sent if isinstance(e, Notice) and e.kind == "room"]
        assert any("microphone off" in e.message for e in rules)
        assert rules[-1].message.startswith("microphone on while the button is held")
        act(box, cookie, "camera", policy="off")  # and a phone that connects now, at once
        told = [e for e in hub.snapshot() if isinstance(e, Notice) and e.kind == "room"]
        assert told and told[0].message == "microphone on while the button is held, camera off"
    finally:
        hub.voice, hub.eyes = saved
        box.call(hub.drop(ann))


def test_the_rules_outlast_a_restart_but_not_damage():
    rules = RoomRules.from_json({"ceiling": 40, "camera": "off", "keep": "everything"})
    assert (rules.ceiling, rules.camera, rules.keep) == (40, "off", "everything")
    again = RoomRules.from_json(json.loads(json.dumps(rules.to_json())))
    assert again.public() == rules.public()
    damaged = RoomRules.from_json({"ceiling": "loud", "camera": 7, "keep": None, "x": 1})
    assert damaged.public() == RoomRules().public()
    assert RoomRules.from_json([1, 2]).public() == RoomRules().public()
    for bad in (True, float("nan"), float("inf"), "50", None, [50]):
        with pytest.raises(ValueError):
            RoomRules().set("ceiling", bad)


# -- the calm preset --------------------------------------------------------------------------


def test_calm_is_soft_slow_and_legato_in_one_tap(box, cookie, room, library, synth):
    answer = act(box, cookie, "calm")
    assert answer["done"] == "calm: softer, slower, smoother"
    engine = box.session.engine
    wait_for(lambda: {"p", "adagio", "legato"} <= {r.cls for r in engine.steering.active})
    summary = box.box.facilitator.summary
    wait_for(lambda: [w for w in summary.who_asked().get("facilitator", []) if "calm" in w])
    time.sleep(0.3)
    calm_lines = [a for a in summary.asked if "calm" in a.what]
    assert len(calm_lines) == 1  # told once (not again as the direction it became)
    steering = box.session.engine.steering
    assert steering is not None and {r.cls for r in steering.active} >= {"p", "adagio", "legato"}
    # what it does to the notes: the same piece and style with and without it
    plain, calm = Rig(library, synth), Rig(library, synth)
    for rig in (plain, calm):
        rig.select("joplin-maple-leaf-rag", seed=5)
        rig.run(2.0)
    first = calm.engine.apply(decode(CALM), "calm", "facilitator", "button")
    for rig in (plain, calm):
        rig.run(6.0)
    beats = calm.engine.score.notes["onset_beat"]

    def after(rig: Rig) -> tuple[float, float, float]:
        on = {e.note: e for e in rig.midi.events if e.kind == "note_on"}
        a, b = first + 8, first + 48
        tempo = 60.0 * float(beats[b] - beats[a]) / (on[b].time - on[a].time)
        velocity = float(np.mean([on[n].value for n in range(a, b) if n in on]))
        return tempo, velocity, len(on)

    t0, v0, _ = after(plain)
    t1, v1, _ = after(calm)
    print(f"calm: tempo {t0:.0f} → {t1:.0f} quarters a minute, velocity {v0:.0f} → {v1:.0f}")
    assert t1 < t0 * 0.97 and v1 < v0 - 2
    events = [e for e in calm.bus.events if isinstance(e, DirectionApplied)]
    assert events[-1].directions == CALM


def wait_for(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


# -- the end of a session ---------------------------------------------------------------------


def _rows(box: WebBox, kind, **match) -> list:
    store = box.session.memory.store
    assert store is not None
    store.flush()
    return [r for r in store.all(kind) if all(getattr(r, k) == v for k, v in match.items())]


def test_ending_the_session_sends_phones_away_keeps_only_anonymous_feedback_and_a_summary(
    box, cookie, room
):
    ann, bea = join(box, "Ann"), join(box, "Bea")
    ann_id = box.pairing.phones.phones[ann.token_hash].id
    pin_before = box.pairing.current_pin()
    session_before = box.session.memory.session.id
    assert not refused(say(box, ann, type="command", text="softer", language="en"))
    assert not refused(say(box, ann, type="feedback", kind="too_loud"))
    assert not refused(say(box, bea, type="command", text="next", language="en"))
    wait_for(lambda: _rows(box, FeedbackRow, profile_id=ann_id))
    wait_for(lambda: _rows(box, UtteranceRow, profile_id=ann_id))
    wait_for(lambda: _rows(box, DirectionRow, profile_id=ann_id))
    assert _rows(box, ProfileRow, device_id=ann_id)
    time.sleep(1.0)  # a few bars for the curves

    # a double tap: one ends the session, the other is told it is ending (the summary stays)
    with ThreadPoolExecutor(2) as pool:
        body = {"action": "end_session"}
        taps = [pool.submit(request, box, "/api/facilitator/act", body, cookie) for _ in "ab"]
        answers = sorted((t.result()[:2] for t in taps), key=lambda a: a[0])
    assert [status for status, _ in answers] == [200, 400], answers
    assert "ending already" in answers[1][1]["error"]
    answer = answers[0][1]
    revoked = int(answer["done"].split("(")[1].split()[0])
    assert revoked >= 2  # every phone that took part this session (earlier tests' too)
    assert "only anonymous feedback kept" in answer["done"]
    assert box.hub.peers == []
    for peer in (ann, bea):
        assert any(isinstance(e, Notice) and e.kind == "ended" for e in peer.channel.sent)
        assert not box.pairing.still_valid(peer.token_hash)
        assert "pair this phone" in refused(say(box, peer, type="pause"))
    assert box.pairing.current_pin() != pin_before
    assert box.session.memory.session.id != session_before
    # kept: the feedback, without anyone's name; gone: the rest of the session and Ann
    assert not _rows(box, ProfileRow, device_id=ann_id)
    assert not _rows(box, UtteranceRow, profile_id=ann_id)
    assert not _rows(box, UtteranceRow, session_id=session_before)
    assert not _rows(box, DirectionRow, profile_id=ann_id)
    feedback = [r for r in _rows(box, FeedbackRow) if r.kind == "too_loud"]
    assert feedback and all(r.profile_id is None for r in feedback)
    assert box.session.memory.device_of("Ann") is None
    # the music plays on
    assert box.session.engine.state == "playing"

    state = request(box, "/api/facilitator/state", cookie=cookie)[1]
    assert state["last_summary"] is True and state["phones"] == []
    last = box.box.facilitator.last
    assert last is not None and last.pieces and len(last.seconds) >= 1
    assert {"Ann", "Bea"} <= set(last.who_asked())
    status, png, headers = request(box, "/api/facilitator/summary.png?which=last", cookie=cookie)
    assert status == 200 and png.startswith(b"\x89PNG") and len(png) > 20_000
    assert headers["Content-Type"] == "image/png"
    status, pdf, headers = request(box, "/api/facilitator/summary.pdf?which=last", cookie=cookie)
    assert status == 200 and pdf.startswith(b"%PDF") and len(pdf) > 5_000
    print(f"summary: PNG {len(png)} bytes, PDF {len(pdf)} bytes")


def test_keeping_everything_keeps_the_session(box, cookie, room):
    act(box, cookie, "keep", what="everything")
    ann = join(box, "Ann")
    ann_id = box.pairing.phones.phones[ann.token_hash].id
    say(box, ann, type="command", text="softer", language="en")
    wait_for(lambda: _rows(box, UtteranceRow, profile_id=ann_id))
    answer = act(box, cookie, "end_session")
    assert "anonymous" not in answer["done"]
    assert _rows(box, ProfileRow, device_id=ann_id)
    assert _rows(box, UtteranceRow, profile_id=ann_id)


def test_a_session_the_box_stopped_in_is_forgotten_at_the_next_start(tmp_path, monkeypatch):
    """In a room that keeps nothing (a facilitator PIN set, the default rule), a session no
    facilitator ended — the box was stopped, restarted or crashed — is forgotten when the box
    starts again, as an ended one is: only anonymous feedback stays."""
    data = tmp_path / "data"
    monkeypatch.setenv("APPLIANCE_DATA", str(data))
    set_pin(PIN)
    first = WebBox(tmp_path / "box", speech=False, vision=False).start()
    try:
        ann = join(first, "Ann")
        ann_id = first.pairing.phones.phones[ann.token_hash].id
        assert not refused(say(first, ann, type="command", text="softer", language="en"))
        assert not refused(say(first, ann, type="feedback", kind="too_loud"))
        wait_for(lambda: _rows(first, UtteranceRow, profile_id=ann_id))
        wait_for(lambda: _rows(first, FeedbackRow, profile_id=ann_id))
        stopped_in = first.session.memory.session.id
    finally:
        first.stop()  # no End session: the box is simply stopped
    second = WebBox(tmp_path / "box", speech=False, vision=False).start()
    try:
        wait_for(lambda: not _rows(second, ProfileRow, device_id=ann_id), 30)
        assert not _rows(second, UtteranceRow, session_id=stopped_in)
        assert not _rows(second, DirectionRow, profile_id=ann_id)
        feedback = [r for r in _rows(second, FeedbackRow) if r.kind == "too_loud"]
        assert feedback and all(r.profile_id is None for r in feedback)
        assert second.session.memory.device_of("Ann") is None
        assert not second.pairing.still_valid(ann.token_hash)  # her pairing went too
        facilitator = second.box.facilitator
        assert facilitator is not None
        wait_for(lambda: facilitator.settled == second.session.memory.session.started)
        kept = json.loads(facilitator.rules_path.read_text())
        assert kept["settled_until"] == facilitator.settled and kept["keep"] == "feedback"
        assert second.session.engine.state == "playing"
    finally:
        second.stop()


def test_a_box_without_a_facilitator_keeps_its_sessions(tmp_path, monkeypatch):
    """At home (no facilitator PIN) the box remembers people across starts: their tastes are
    what makes the next performances theirs."""
    monkeypatch.setenv("APPLIANCE_DATA", str(tmp_path / "data"))
    first = WebBox(tmp_path / "box", speech=False, vision=False).start()
    try:
        ann = join(first, "Ann")
        ann_id = first.pairing.phones.phones[ann.token_hash].id
        assert not refused(say(first, ann, type="command", text="softer", language="en"))
        wait_for(lambda: _rows(first, UtteranceRow, profile_id=ann_id))
    finally:
        first.stop()
    second = WebBox(tmp_path / "box", speech=False, vision=False).start()
    try:
        facilitator = second.box.facilitator
        assert facilitator is not None
        wait_for(lambda: facilitator.settled == second.session.memory.session.started)
        assert _rows(second, ProfileRow, device_id=ann_id)
        assert _rows(second, UtteranceRow, profile_id=ann_id)
    finally:
        second.stop()


def test_the_summary_drawn_from_events():
    from appliance.events import Action, NowPlaying, Position

    summary = Summary(started=0.0)
    summary.take(NowPlaying(title="Prelude", composer="Bach"), now=1.0)
    summary.take(NowPlaying(title="Prelude", composer="Bach"), now=2.0)  # the same piece
    for bar in range(30):
        summary.take(Position(bar=bar, tempo_bpm=90 + bar, velocity=64), now=3.0 + bar)
    summary.take(Action("Ann", "next piece"), now=10.0)
    summary.take(Action("Ann", "joined"), now=11.0)  # not a request
    summary.take(DirectionApplied("softer", ("p +1.00 from_now",), who="Bea", source="speech"))
    summary.ended = 100.0
    assert [p.title for p in summary.pieces] == ["Prelude"]
    assert summary.who_asked() == {"Ann": ["next piece"], "Bea": ["softer"]}
    assert draw(summary, "png").startswith(b"\x89PNG")
    assert draw(summary, "pdf").startswith(b"%PDF")
    with pytest.raises(ValueError):
        draw(summary, "svg")
    assert to_json(Notice("x", kind="room"))  # the rules' notice is an ordinary event
