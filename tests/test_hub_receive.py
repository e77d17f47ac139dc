"""What a phone sends on the data channel, without WebRTC: a hub with a fake conductor
(``submit``), a real bus and a real pairing; the connection and its channel are stand-ins at
the network edge. Paired phones conduct, listeners are refused, bad messages are answered."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from aiortc import RTCPeerConnection

from appliance.audio.sinks import Broadcast
from appliance.bus import Bus
from appliance.events import (
    Action,
    Command,
    Duck,
    Event,
    Notice,
    Pause,
    ProtocolError,
    Seek,
    TransportChanged,
    from_json,
    to_json,
)
from appliance.web.hub import MAX_MESSAGE, REFUSAL_EVERY, Hub, Peer
from appliance.web.pairing import Pairing
from appliance.web.phones import PhoneBook, token_hash


class FakeChannel:
    """The data channel: what the box sent, as events."""

    def __init__(self) -> None:
        self.readyState = "open"
        self.sent: list[Event] = []
        self.handlers: dict[str, Callable[..., Any]] = {}

    def send(self, text: str) -> None:
        self.sent.append(from_json(text))

    def on(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def register(handler: Callable[..., Any]) -> Callable[..., Any]:
            self.handlers[name] = handler
            return handler

        return register

    def message(self, text: str | bytes) -> list[Event]:
        """The phone sends ``text``; returns what the box answered."""
        before = len(self.sent)
        self.handlers["message"](text)
        return self.sent[before:]


class FakeConnection(FakeChannel):
    """The peer connection: its callbacks, and nothing to close."""

    connectionState = "connected"

    def getSenders(self) -> list[Any]:
        return []

    async def close(self) -> None:
        self.readyState = "closed"


@dataclass
class Conductor:
    """The fake ``submit``: records (event, who, source) and answers ``refusal``."""

    refusal: str | None = None
    got: list[tuple[Event, str, str | None]] = field(default_factory=list)

    def __call__(self, event: Event, who: str, source: str | None) -> str | None:
        self.got.append((event, who, source))
        return self.refusal


SNAPSHOT: list[Event] = [TransportChanged("paused")]


@dataclass
class Box:
    hub: Hub
    conductor: Conductor
    pairing: Pairing
    path: Path

    def phone(self, paired: bool, name: str = "kitchen phone") -> tuple[Peer, FakeChannel]:
        """A phone whose data channel has just opened (paired with a fresh token, or not)."""
        peer = Peer(cast(RTCPeerConnection, FakeConnection()), name, paired=False)
        if paired:
            token = self.pairing.pair_with_pin(self.pairing.current_pin(), name)
            assert token is not None
            peer.paired, peer.token_hash = True, token_hash(token)
        self.hub._wire(peer)
        channel = FakeChannel()
        cast(FakeConnection, peer.pc).handlers["datachannel"](channel)
        return peer, channel


@pytest.fixture
def box(tmp_path: Path) -> Box:
    pairing = Pairing(tmp_path / "paired.json")
    conductor = Conductor()
    hub = Hub(conductor, Bus(), lambda: SNAPSHOT, Broadcast(), pairing)
    return Box(hub, conductor, pairing, tmp_path / "paired.json")


def only_error(replies: list[Event]) -> str:
    assert len(replies) == 1 and isinstance(replies[0], ProtocolError), replies
    return replies[0].message


def test_an_opened_channel_is_told_the_state_first(box: Box) -> None:
    _, channel = box.phone(paired=False)
    assert channel.sent == SNAPSHOT


def test_a_paired_phones_commands_reach_the_conductor_with_its_name_and_source(box: Box) -> None:
    peer, channel = box.phone(paired=True)
    assert channel.message(to_json(Pause())) == []
    assert channel.message('{"type": "seek", "target": "bar", "bar": 12}') == []
    assert channel.message('{"type": "command", "text": "softer"}') == []
    assert box.conductor.got == [
        (Pause(), "kitchen phone", peer.source),
        (Seek("bar", 12), "kitchen phone", peer.source),
        (Command("softer"), "kitchen phone", peer.source),
    ]
    other, _ = box.phone(paired=True, name="tablet")
    assert other.source != peer.source  # each phone is throttled on its own


def test_a_listening_phone_is_refused_and_nothing_reaches_the_conductor(box: Box) -> None:
    _, channel = box.phone(paired=False)
    for message in ('{"type": "pause"}', '{"type": "talk", "pressed": true}'):
        assert "pair this phone" in only_error(channel.message(message))
    assert box.conductor.got == []


@pytest.mark.parametrize(
    ("message", "words"),
    [
        ("{", "not JSON"),
        ("", "not JSON"),
        ("[1, 2]", "JSON object"),
        ('"pause"', "JSON object"),
        ("1" * 5000, "over"),
        (json.dumps({"type": "direct", "text": "x" * MAX_MESSAGE}), f"over {MAX_MESSAGE} bytes"),
        ("[" * 50 + "]" * 50, "nested"),
        (b"\x00\x01", "binary"),
        ('{"type": "launch"}', "unknown event type"),
        ('{"pause": 1}', "unknown event type"),
        ('{"type": "now_playing"}', "cannot send"),
        ('{"type": "error", "message": "x"}', "cannot send"),
        ('{"type": "seek", "target": "bar", "bar": "12"}', "must be int"),
        ('{"type": "seek", "target": "sideways"}', "seek target"),
        ('{"type": "volume", "percent": 1000}', "between 0 and 100"),
        ('{"type": "pause", "now": true}', "unknown fields"),
        ('{"type": "direct", "text": "\\ud800"}', "not valid Unicode"),
        ('{"type": "feedback", "kind": "meh"}', "feedback kind"),
    ],
)
def test_a_malformed_message_is_answered_not_raised(
    box: Box, message: str | bytes, words: str
) -> None:
    _, channel = box.phone(paired=True)
    assert words in only_error(channel.message(message))
    assert box.conductor.got == []
    assert channel.message('{"type": "play"}') == [] and len(box.conductor.got) == 1


def test_a_refusal_is_sent_back_once_a_second_not_once_per_command(box: Box) -> None:
    box.conductor.refusal = "too many commands waiting: try again in a moment"
    peer, channel = box.phone(paired=True)
    assert only_error(channel.message('{"type": "pause"}')) == box.conductor.refusal
    assert channel.message('{"type": "pause"}') == []  # a flood gets one answer a second
    peer.last_refusal -= REFUSAL_EVERY  # a second later
    assert only_error(channel.message('{"type": "pause"}')) == box.conductor.refusal
    assert len(box.conductor.got) == 3


def test_a_revoked_pairing_stops_the_next_command(box: Box) -> None:
    async def main() -> tuple[list[Event], list[Event]]:
        heard = box.hub.bus.subscribe(Action)
        peer, channel = box.phone(paired=True)
        assert channel.message('{"type": "pause"}') == []
        PhoneBook(box.path).forget("kitchen phone")  # `appliance phones forget`, elsewhere
        replies = channel.message('{"type": "play"}')
        assert not peer.paired
        await asyncio.sleep(0)
        return replies, [heard.queue.get_nowait() for _ in range(heard.queue.qsize())]

    replies, actions = asyncio.run(main())
    assert "pair this phone" in only_error(replies)
    assert [e for e, _, _ in box.conductor.got] == [Pause()]
    assert actions == [Action("kitchen phone", "no longer paired (listening)")]


def test_a_listener_that_pairs_meanwhile_may_conduct_on_the_same_channel(box: Box) -> None:
    peer, channel = box.phone(paired=False, name="listener 3")
    bad = channel.message('{"type": "authenticate", "token": "guessed"}')
    assert "not valid" in only_error(bad) and not peer.paired
    token = box.pairing.pair_with_pin(box.pairing.current_pin(), "kitchen phone")
    assert token is not None
    auth = json.dumps({"type": "authenticate", "token": token})
    assert channel.message(auth) == [Notice("kitchen phone", kind="paired")]
    assert peer.paired and peer.name == "kitchen phone"
    assert channel.message('{"type": "pause"}') == []
    assert box.conductor.got == [(Pause(), "kitchen phone", peer.source)]


def test_holding_the_talk_button_ducks_the_music_and_says_who_speaks(box: Box) -> None:
    async def main() -> list[Event]:
        heard = box.hub.bus.subscribe(Action)
        peer, channel = box.phone(paired=True)
        box.hub.peers.append(peer)
        assert channel.message('{"type": "talk", "pressed": true}') == []
        await asyncio.sleep(0.05)
        assert channel.message('{"type": "talk", "pressed": false}') == []
        await box.hub.close()  # drops the phone: its ducking task ends with it
        assert peer.tasks == []
        await asyncio.sleep(0)
        return [heard.queue.get_nowait() for _ in range(heard.queue.qsize())]

    actions = asyncio.run(main())
    assert box.conductor.got[0] == (Duck(), "", None)  # ducking is nobody's command
    assert {e for e, _, _ in box.conductor.got} == {Duck()}
    assert actions == [
        Action("kitchen phone", "speaking"),
        Action("kitchen phone", "left"),
    ]


def test_what_happens_on_the_box_reaches_every_open_channel(box: Box) -> None:
    async def main() -> tuple[list[Event], list[Event]]:
        await box.hub.start()
        await asyncio.sleep(0)  # the forwarder subscribes
        a, channel_a = box.phone(paired=True)
        b, channel_b = box.phone(paired=False, name="listener 4")
        box.hub.peers += [a, b]
        channel_b.readyState = "closing"  # a channel going away is skipped, not an error
        box.hub.bus.publish(Action("console", "next piece"))
        await asyncio.sleep(0.01)
        sent = list(channel_a.sent), list(channel_b.sent)
        await box.hub.close()
        return sent

    a, b = asyncio.run(main())
    assert a == [*SNAPSHOT, Action("console", "next piece")]
    assert b == SNAPSHOT
