"""``appliance play`` / ``run``: the engine with a live text status and typed commands."""

from __future__ import annotations

import asyncio
import sys

from rich.console import Console
from rich.markup import escape

from appliance.bus import Bus
from appliance.events import (
    DirectionApplied,
    Event,
    NowPlaying,
    PieceEnded,
    Position,
    Problem,
    TransportChanged,
)
from appliance.perform.commands import parse_command
from appliance.perform.session import PlayOptions, Session
from appliance.web.server import WebServer, WebSettings

console = Console(highlight=False)
HELP = (
    "type: pause · resume · stop · from the beginning · back · bar N · next · "
    "play <piece> · softer / faster / more legato / like a lullaby … · quit"
)


def describe(event: Event) -> str | None:
    if isinstance(event, NowPlaying):
        return f"▶ {event.composer}: {event.title}  (style seed {event.seed}, {event.bars} bars)"
    if isinstance(event, Position):
        tempo, vel = f"{event.tempo_bpm:5.1f}", f"{event.velocity:4.0f}"
        return f"  bar {event.bar:>3} · {tempo} ♩/min · velocity {vel}"
    if isinstance(event, TransportChanged):
        return f"■ {event.state}"
    if isinstance(event, DirectionApplied):
        return f"→ {event.text}: {', '.join(event.directions)} (from bar {event.from_bar})"
    if isinstance(event, PieceEnded):
        return "● piece ended"
    if isinstance(event, Problem):
        return f"! {event.message}"
    return None


async def _show(bus: Bus, quiet_positions: bool) -> None:
    async for event in bus.subscribe():
        if quiet_positions and isinstance(event, Position):
            continue
        line = describe(event)
        if line:
            console.print(escape(line))


async def _commands(session: Session) -> None:
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:  # end of input: keep playing
            await asyncio.Event().wait()
        if line.strip().lower() in ("quit", "exit", "q"):
            return
        event = parse_command(line)
        if event is not None:
            await asyncio.to_thread(session.engine.handle, event)


async def play_async(
    options: PlayOptions,
    seconds: float | None,
    quiet_positions: bool,
    web: WebSettings | None = None,
) -> None:
    bus = Bus(asyncio.get_running_loop())
    shower = asyncio.create_task(_show(bus, quiet_positions))
    await asyncio.sleep(0)
    if web is not None:
        options.stream = True
    session = await asyncio.to_thread(Session, options, bus)
    for problem in session.problems:
        console.print(f"[yellow]![/yellow] {escape(problem)}")
    server = None
    try:
        if web is not None and session.broadcast is not None:
            server = await start_web(session, bus, web)
        await asyncio.to_thread(session.start)
        console.print(HELP, style="dim")
        commands = asyncio.create_task(_commands(session))
        if seconds is not None:
            await asyncio.wait({commands}, timeout=seconds)
            commands.cancel()
        else:
            await commands
    finally:
        if server is not None:
            await server.close()
        session.close()
        shower.cancel()
        if session.speaker is not None and session.speaker.underruns:
            console.print(f"audio underruns: {session.speaker.underruns}", style="dim")


async def start_web(session: Session, bus: Bus, settings: WebSettings) -> WebServer:
    from appliance.paths import data_dir
    from appliance.web.hub import Hub
    from appliance.web.server import make_pairing, qr_text

    assert session.broadcast is not None
    pairing = make_pairing()
    hub = Hub(
        session.engine.handle,
        bus,
        session.engine.snapshot,
        session.broadcast,
        pairing,
        data_dir() / "recordings",
    )
    server = WebServer(hub, session.library, settings)
    url = await server.start()
    console.print(qr_text(url), soft_wrap=True)
    console.print(f"phones: open [bold]{url}[/bold] (status page: {url}status)")
    console.print(f"PIN to pair a phone: [bold]{pairing.current_pin()}[/bold]")
    return server


def play(
    options: PlayOptions,
    seconds: float | None = None,
    quiet: bool = False,
    web: WebSettings | None = None,
) -> None:
    asyncio.run(play_async(options, seconds, quiet, web))
