"""The phones connected over WebRTC: offers and answers, the music track, the event channel.

Each phone sends its microphone and camera and gets the music back; a data channel named
``events`` carries JSON events both ways (:mod:`appliance.events`). What a phone sends is
checked (size, JSON, known type, fields, allowed from a phone, paired) and anything wrong gets an
``error`` event back, never a crash. Every phone hears the same performance and sees who did what.
Incoming tracks are read continuously; while the walkie-talkie button is held the music is
ducked, the microphone goes to the box's ears (:mod:`appliance.speech.listening`), which
tell that phone what they heard and what the box will do, and the camera's newest frame to
the box's eyes (:mod:`appliance.vision.watching`); typed text goes the same way as speech.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from appliance.audio.format import RATE
from appliance.audio.sinks import Broadcast
from appliance.bus import Bus
from appliance.events import (
    FROM_PHONE,
    Action,
    Authenticate,
    Command,
    Duck,
    Event,
    Notice,
    ProtocolError,
    Talk,
    Volume,
    from_json,
    to_json,
)
from appliance.perform.commands import parse_command
from appliance.perform.room import RoomRules
from appliance.speech.listening import Listening, Voice
from appliance.vision.watching import Eyes, Watch
from appliance.web.music_track import MusicTrack
from appliance.web.pairing import Pairing
from appliance.web.phones import token_hash
from appliance.web.sdp_check import sdp_problem

log = logging.getLogger(__name__)

MAX_MESSAGE = 4096  # bytes per data-channel message
MAX_SDP = 64 * 1024
MAX_TALK = 30.0  # seconds recorded per button press at most
DUCK_EVERY = 1.0  # seconds between duck requests while the button is held
MAX_PEERS = 16  # phones connected or connecting at once
MAX_PEERS_PER_CLIENT = 4  # of them from one address
CONNECT_TIMEOUT = 10.0  # seconds an answered offer has to connect before it is dropped
REFUSAL_EVERY = 1.0  # seconds between "too many commands" answers to one phone
_numbers = itertools.count(1)


class OfferError(ValueError):
    """An offer the box cannot answer (the HTTP layer answers ``status`` with the message)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Peer:
    pc: RTCPeerConnection
    name: str
    paired: bool
    client: str = ""  # the address it came from
    # the hash of its pairing's token, checked again before every command (it may be revoked)
    token_hash: str = ""
    source: str = field(default_factory=lambda: f"phone-{next(_numbers)}")  # throttling key
    last_refusal: float = 0.0
    channel: Any = None
    talking: bool = False
    talk_started: float = 0.0
    listening: Listening | None = None
    watch: Watch | None = None  # its face is read while the button is held
    talk_frames: list[np.ndarray] = field(default_factory=list)  # kept only when asked to
    video_frames: int = 0
    audio_frames: int = 0
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def send(self, event: Event) -> None:
        if self.channel is not None and self.channel.readyState == "open":
            self.channel.send(to_json(event))


class Hub:
    def __init__(
        self,
        submit: Callable[[Event, str, str | None], str | None],
        bus: Bus,
        snapshot: Callable[[], list[Event]],
        broadcast: Broadcast,
        pairing: Pairing,
        voice: Voice | None = None,
        eyes: Eyes | None = None,
        on_profile: Callable[[str, str], None] | None = None,
        keep_talk: Callable[[str, np.ndarray, int], None] | None = None,
    ) -> None:
        # queues a command (event, who, throttling key) — the conductor's; never blocks;
        # answers None, or why the command was refused
        self.submit = submit
        self.snapshot = snapshot  # what a newly connected phone is told first
        self.bus = bus
        self.broadcast = broadcast
        self.pairing = pairing
        # told each paired phone's device id and display name (the box's memory of profiles)
        self.on_profile = on_profile
        # given what a phone said (who, int16 mono samples, rate) when raw talk is kept (the
        # memory's setting, off by default); None: nothing of it is kept
        self.keep_talk = keep_talk
        self.voice = voice  # the box's ears (None: talking only ducks the music)
        self.eyes = eyes  # the box's eyes (None: the camera is not read)
        self.peers: list[Peer] = []
        # the room's rules (the facilitator's: hands off, who may conduct, microphone and
        # camera); None: no facilitator, every paired phone conducts
        self.room: RoomRules | None = None
        self._forward: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._forward = asyncio.create_task(self._forward_events())

    async def close(self) -> None:
        if self._forward is not None:
            self._forward.cancel()
        await asyncio.gather(*(self._drop(p) for p in list(self.peers)), return_exceptions=True)

    # -- signalling ----------------------------------------------------------------------------

    async def answer(self, offer: Any, token: str | None, client: str = "") -> dict[str, Any]:
        """Answer a phone's offer ({"sdp", "type": "offer"}) from address ``client``; raises
        OfferError when it is bad or the box has as many phones as it takes."""
        if len(self.peers) >= MAX_PEERS:
            raise OfferError(f"the box has as many phones as it takes ({MAX_PEERS})", 503)
        if sum(p.client == client for p in self.peers) >= MAX_PEERS_PER_CLIENT:
            raise OfferError("too many connections from this device", 429)
        if not isinstance(offer, dict):
            raise OfferError("the offer must be a JSON object")
        sdp, kind = offer.get("sdp"), offer.get("type")
        if kind != "offer" or not isinstance(sdp, str) or not sdp.strip():
            raise OfferError("expected {'type': 'offer', 'sdp': '…'}")
        if len(sdp) > MAX_SDP:
            raise OfferError("the offer is too large")
        if not sdp.startswith("v=0"):
            raise OfferError("the offer is not an SDP session description")
        problem = sdp_problem(sdp)
        if problem:
            raise OfferError(f"the offer cannot be used: {problem}")
        phone = self.pairing.phone_of(token)
        device = None if phone is None else phone.name
        name = device or f"listener {next(_numbers)}"
        if phone is not None:
            self._profile(phone.id, phone.name)
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        peer = Peer(pc, name, paired=device is not None, client=client)
        if device is not None and token:
            peer.token_hash = token_hash(token)
        self._wire(peer)  # before the remote description: it announces the phone's tracks
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except Exception as exc:  # aiortc raises ValueError and others for bad SDP
            await pc.close()
            raise OfferError(f"the offer cannot be used: {exc}") from None
        music = MusicTrack(self.broadcast)
        audio = [t for t in pc.getTransceivers() if t.kind == "audio"]
        if not audio:
            await pc.close()
            music.stop()
            raise OfferError("the offer has no audio section for the music")
        pc.addTrack(music)  # joins the phone's audio section: sendrecv, or sendonly to a listener
        try:
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception as exc:
            await pc.close()
            music.stop()
            raise OfferError(f"no answer possible: {exc}") from None
        self.peers.append(peer)
        peer.tasks.append(asyncio.create_task(self._connect_or_drop(peer)))
        self.bus.publish(Action(name, "joined" + ("" if peer.paired else " (listening)")))
        local = pc.localDescription
        return {"sdp": local.sdp, "type": local.type, "paired": peer.paired, "name": name}

    def _wire(self, peer: Peer) -> None:
        pc = peer.pc

        @pc.on("datachannel")
        def on_channel(channel: Any) -> None:
            peer.channel = channel
            for event in self.snapshot():
                peer.send(event)
            room = self.room  # a phone paused (or waiting) on its own is told at once
            why = room.refusal(peer.token_hash) if room is not None and peer.paired else None
            if why is not None:
                peer.send(ProtocolError(why))

            @channel.on("message")
            def on_message(message: str | bytes) -> None:
                for reply in self.receive(peer, message):
                    peer.send(reply)

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            peer.tasks.append(asyncio.ensure_future(self._consume(peer, track)))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self._drop(peer)

    async def _connect_or_drop(self, peer: Peer) -> None:
        """An answered offer that does not connect in time is dropped with all it holds."""
        await asyncio.sleep(CONNECT_TIMEOUT)
        if peer.pc.connectionState != "connected":
            log.info("%s did not connect in %.0f s: dropped", peer.name, CONNECT_TIMEOUT)
            await self._drop(peer)

    async def remove(self, name: str) -> int:
        """Disconnect every phone of this display name (gone, or sent away); how many."""
        gone = [p for p in self.peers if p.name == name]
        for peer in gone:
            await self._drop(peer)
        return len(gone)

    async def drop(self, peer: Peer) -> None:
        """Disconnect this phone (sent away by the facilitator, or at a session's end)."""
        await self._drop(peer)

    async def _drop(self, peer: Peer) -> None:
        if peer in self.peers:
            self.peers.remove(peer)
            self.bus.publish(Action(peer.name, "left"))
        current = asyncio.current_task()
        for task in peer.tasks:
            if task is not current:
                task.cancel()
        peer.tasks.clear()
        if peer.listening is not None:
            peer.listening.closed = True
        if peer.watch is not None:
            peer.watch.release()
        peer.talking, peer.talk_frames, peer.listening, peer.watch = False, [], None, None
        for sender in peer.pc.getSenders():
            if isinstance(sender.track, MusicTrack):
                sender.track.stop()
        await peer.pc.close()

    # -- what phones send ------------------------------------------------------------------------

    def receive(self, peer: Peer, message: str | bytes) -> list[Event]:
        """Check one data-channel message and act on it; returns what to answer that phone."""
        if isinstance(message, bytes):
            return [ProtocolError("send events as JSON text, not binary")]
        if len(message.encode()) > MAX_MESSAGE:
            return [ProtocolError(f"message over {MAX_MESSAGE} bytes refused")]
        try:
            event = from_json(message)
        except ValueError as exc:
            return [ProtocolError(str(exc))]
        if not isinstance(event, FROM_PHONE):
            return [ProtocolError(f"a phone cannot send {event.type!r} events")]
        if isinstance(event, Authenticate):
            return self._authenticate(peer, event.token)
        if peer.paired and not self.pairing.still_valid(peer.token_hash):
            peer.paired = False  # its pairing was revoked (or has expired) meanwhile
            self.bus.publish(Action(peer.name, "no longer paired (listening)"))
        if not peer.paired:
            return [ProtocolError("pair this phone with the box's PIN to control the music")]
        room = self.room
        why = None if room is None else room.refusal(peer.token_hash)
        if why is not None and not (isinstance(event, Talk) and not event.pressed):
            return [ProtocolError(why)]
        if isinstance(event, Talk):
            if event.pressed and room is not None and "held" not in (room.microphone, room.camera):
                return [ProtocolError("the microphone and the camera are off in this room")]
            self._talk(peer, event.pressed, event.language)
            return []
        if isinstance(event, Command) and self.voice is not None:
            quick = parse_command(event.text)  # the output volume is not an intent
            if not isinstance(quick, Volume | Duck | None):
                tell = self._teller(peer)
                self.voice.said(event.text, event.language, peer.name, peer.source, tell)
                return []
        refusal = self.submit(event, peer.name, peer.source)
        if refusal is None:
            return []
        now = time.monotonic()
        if now - peer.last_refusal < REFUSAL_EVERY:
            return []  # told a moment ago: a flood gets one answer a second, not one each
        peer.last_refusal = now
        return [ProtocolError(refusal)]

    def _authenticate(self, peer: Peer, token: str) -> list[Event]:
        """A listening phone that has just paired: the same connection may now conduct."""
        phone = self.pairing.phone_of(token)
        if phone is None:
            return [ProtocolError("that pairing is not valid: pair again with the box's PIN")]
        device = phone.name
        self._profile(phone.id, phone.name)
        before, peer.token_hash = peer.token_hash, token_hash(token)
        room = self.room
        if room is not None and before and before != peer.token_hash and before in room.locked:
            room.locked.add(peer.token_hash)  # hands off stays on a phone that pairs again
        if not peer.paired:
            peer.paired, old = True, peer.name
            peer.name = device
            self.bus.publish(Action(device, f"paired (was {old})"))
        return [Notice(peer.name, kind="paired")]

    def _talk(self, peer: Peer, pressed: bool, language: str = "") -> None:
        if pressed and not peer.talking:
            if peer.listening is not None:  # pressed again while the last words were heard
                peer.listening.finish()
            peer.talking, peer.talk_frames, peer.talk_started = True, [], time.monotonic()
            peer.tasks.append(asyncio.ensure_future(self._keep_ducking(peer)))
            if self.voice is not None and self._allowed("microphone"):
                peer.listening = self.voice.listen(
                    peer.name, peer.source, language, self._teller(peer)
                )
            if self.eyes is not None and self._allowed("camera"):
                peer.watch = self.eyes.watch(
                    peer.name, peer.source, self._teller(peer), peer.token_hash
                )
            self.bus.publish(Action(peer.name, "speaking"))
        elif not pressed and peer.talking:
            peer.talking = False
            if peer.listening is not None:
                peer.listening.release()  # it hears the last words still on their way
            if peer.watch is not None:
                peer.watch.release()
                peer.watch = None
            if self.keep_talk is not None and peer.talk_frames:
                self.keep_talk(peer.name, np.concatenate(peer.talk_frames), RATE)
            peer.talk_frames = []

    def _allowed(self, medium: str) -> bool:
        """Whether the room lets the box use phones' microphones (or cameras) at all."""
        return self.room is None or getattr(self.room, medium) != "off"

    def _profile(self, device_id: str, name: str) -> None:
        if self.on_profile is not None:
            self.on_profile(device_id, name)

    def _teller(self, peer: Peer) -> Callable[[Event], None]:
        """Send an event to this phone alone, from any thread."""
        loop = asyncio.get_running_loop()

        def tell(event: Event) -> None:
            def send() -> None:
                if peer in self.peers:
                    peer.send(event)

            loop.call_soon_threadsafe(send)

        return tell

    async def _keep_ducking(self, peer: Peer) -> None:
        while peer.talking and time.monotonic() - peer.talk_started < MAX_TALK:
            self.submit(Duck(), "", None)
            await asyncio.sleep(DUCK_EVERY)

    async def _consume(self, peer: Peer, track: MediaStreamTrack) -> None:
        """Read a phone's track continuously (so nothing backs up); while the button is held
        (and a moment after) its microphone goes to the box's ears."""
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if track.kind == "video":
                peer.video_frames += 1
                watch = peer.watch
                held = time.monotonic() - peer.talk_started < MAX_TALK
                if watch is not None and peer.talking and held and self._allowed("camera"):
                    watch.offer(frame)  # the newest frame; the box's eyes take it when free
                continue
            peer.audio_frames += 1
            listening = peer.listening
            if listening is not None and listening.closed:
                peer.listening = listening = None
            in_time = time.monotonic() - peer.talk_started < MAX_TALK
            # after the release too: the last words are still arriving
            feeding = listening is not None and (in_time or not peer.talking)
            keeping = self.keep_talk is not None and peer.talking and in_time
            if not self._allowed("microphone"):
                continue  # the room's microphone policy: nothing phones send is heard
            if not (feeding or keeping):
                continue
            samples = frame.to_ndarray()  # type: ignore[union-attr]
            channels = len(frame.layout.channels)  # type: ignore[union-attr]
            if feeding and listening is not None:
                listening.feed(samples, channels, frame.sample_rate)  # type: ignore[union-attr]
            if keeping:
                mono = samples.reshape(-1, channels).mean(axis=1) if channels > 1 else samples
                peer.talk_frames.append(np.asarray(mono, np.int16).ravel())

    # -- what the box tells every phone --------------------------------------------------------

    async def _forward_events(self) -> None:
        async for event in self.bus.subscribe():
            for peer in list(self.peers):
                try:
                    peer.send(event)
                except Exception:  # a closing channel
                    log.debug("could not send to %s", peer.name)
