"""The one place that assembles the box: the playing session (library, renderer, engine, command
path, synthesiser, outputs) and, when phones are welcome, the phone hub and the web server.

``appliance run`` / ``play`` (through :mod:`appliance.cli_play`), the browser tests and the
benchmarks all build the box here, so that what is tested is what runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from appliance.audio.note_tap import NoteTap
from appliance.bus import Bus
from appliance.listening_setup import Ears, open_ears, problem_on
from appliance.perform.session import PlayOptions, Session
from appliance.vision.watching import Eyes
from appliance.watching_setup import close_eyes, open_eyes
from appliance.web.display import DisplayFeed
from appliance.web.facilitator import Facilitator
from appliance.web.hub import Hub
from appliance.web.pairing import Pairing
from appliance.web.server import WebServer, WebSettings, make_pairing


class Box:
    """Open it (models and outputs), start it (music), close it; everything on ``bus``."""

    def __init__(
        self,
        options: PlayOptions,
        bus: Bus,
        web: WebSettings | None = None,
        pairing: Pairing | None = None,
        on_url: Callable[[str], None] | None = None,
    ) -> None:
        self.options = options
        self.bus = bus
        self.web_settings = web
        if web is not None:
            options.stream = True  # the phones listen to the music
        self._pairing = pairing
        self.on_url = on_url  # told the phones' address when it changes
        self.url = ""
        self.hub: Hub | None = None
        self.server: WebServer | None = None
        self.facilitator: Facilitator | None = None
        self.ears: Ears | None = None
        self.eyes: Eyes | None = None
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("the box is not open")
        return self._session

    @property
    def pairing(self) -> Pairing:
        if self._pairing is None:
            self._pairing = make_pairing()
        return self._pairing

    async def open(self) -> None:
        """Load everything (off the event loop) and, with phones, start serving them."""
        self._session = await asyncio.to_thread(Session, self.options, self.bus)
        session = self._session
        phones = self.web_settings is not None and session.broadcast is not None
        o = self.options
        if phones and o.vision:
            self.eyes = await asyncio.to_thread(open_eyes, session, problem_on(session))
        eyes = self.eyes
        if eyes is not None:  # each face read is remembered (numbers only)
            eyes.on_reading = session.memory.face_reading
        self.ears = await asyncio.to_thread(
            open_ears,
            session,
            problem_on(session),
            speech=phones and o.speech,
            llm=o.llm,
            face=eyes.like_this if eyes is not None else None,
        )
        if self.web_settings is None or session.broadcast is None:
            return
        self.hub = Hub(
            session.conductor.submit,
            self.bus,
            session.engine.snapshot,
            session.broadcast,
            self.pairing,
            self.ears.voice,
            self.eyes,
            on_profile=session.memory.profile,
            # what phones say is kept only when the memory's settings ask (off by default)
            keep_talk=session.memory.talk if session.memory.keeps_audio else None,
        )
        notes = NoteTap()  # the notes as they sound, for the wall display
        session.producer.midi_sinks.append(notes)
        display = DisplayFeed(self.bus, notes, session.engine.snapshot)
        self.server = WebServer(
            self.hub, session.library, self.web_settings, on_url=self.on_url, display=display
        )
        # the room's facilitator (its page unlocks with the facilitator's PIN, once one is set)
        self.facilitator = self.server.facilitator = Facilitator(
            self.hub, session, health=box_health
        )
        await self.facilitator.start()
        self.url = await self.server.start()

    async def start(self) -> None:
        """Start the music (the first piece)."""
        await asyncio.to_thread(self.session.start)

    async def close(self) -> None:
        if self.facilitator is not None:
            await self.facilitator.close()
        if self.server is not None:
            await self.server.close()
        if self.ears is not None:
            await asyncio.to_thread(self.ears.close)
        await asyncio.to_thread(close_eyes, self.eyes)
        if self._session is not None:
            self._session.close()


def box_health() -> list[dict[str, str]]:
    """The checks of `appliance doctor` for the facilitator's page: the ports the box serves
    itself and the models' checksums (checked at start) left out."""
    from appliance.doctor import health_summary

    return [check.to_dict() for check in health_summary(0, 0, models=False).checks]
