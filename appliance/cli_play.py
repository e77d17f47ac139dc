"""``appliance play`` / ``run``: the box with a live console — what plays, who did what, the
transport state, the PIN and the address — and typed commands on stdin."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
import time

from rich.console import Console
from rich.markup import escape

from appliance.box import Box
from appliance.bus import Bus
from appliance.directions.plain import describe as plain_directions
from appliance.errors import ApplianceError
from appliance.events import (
    Action,
    Command,
    DirectionApplied,
    Duck,
    Event,
    Moved,
    Notice,
    NowPlaying,
    PieceEnded,
    Position,
    Problem,
    Reply,
    TransportChanged,
    Volume,
)
from appliance.perform.commands import parse_command
from appliance.perform.session import PlayOptions, Session
from appliance.sd_notify import stopping
from appliance.watchdog import watch_the_music
from appliance.web.server import WebSettings, qr_text

console = Console(highlight=False)
log = logging.getLogger(__name__)
HELP = (
    "type: pause · resume · stop · from the beginning · back · bar N · next · "
    "play <piece> · volume N · softer / faster / more legato / like a lullaby … · quit"
)
CONSOLE = "console"
_STATES = {"playing": "▶ playing", "paused": "⏸ paused", "stopped": "■ stopped"}


def describe(event: Event) -> str | None:
    """One console line for an event (None: nothing to show)."""
    if isinstance(event, NowPlaying):
        return f"♪ {event.composer}: {event.title}  (style seed {event.seed}, {event.bars} bars)"
    if isinstance(event, Position):
        tempo, vel = f"{event.tempo_bpm:5.1f}", f"{event.velocity:4.0f}"
        return f"  bar {event.bar:>3} · {tempo} ♩/min · velocity {vel}"
    if isinstance(event, TransportChanged):
        return _STATES.get(event.state, event.state)
    if isinstance(event, DirectionApplied):
        said = plain_directions(event.directions, event.from_bar, event.text)
        return f"→ {event.who}: {said}" if event.who else f"→ {said}"
    if isinstance(event, Moved):
        return f"⤺ from bar {event.bar}"
    if isinstance(event, Action):
        return f"· {event.who}: {event.what}"
    if isinstance(event, PieceEnded):
        return "● piece ended"
    if isinstance(event, Problem):
        return f"! {event.message}"
    if isinstance(event, Notice):
        return f"… {event.message}" if event.kind == "loading" else f"✓ {event.message}"
    return None


async def _show(bus: Bus, quiet_positions: bool) -> None:
    async for event in bus.subscribe():
        if quiet_positions and isinstance(event, Position):
            continue
        if isinstance(event, Action) and event.who == CONSOLE:
            continue  # the console's own commands need no echo
        line = describe(event)
        if line:
            # text that cannot be shown (a lone surrogate, a terminal without UTF-8) is
            # replaced, never allowed to end the console's view
            shown = line.encode("utf-8", "replace").decode("utf-8")
            try:
                console.print(escape(shown))
            except (UnicodeError, OSError):
                log.warning("could not show an event on the console")


def _read_commands(box: Box, quit_: threading.Event) -> None:
    """stdin, one command a line, queued in order (never waits for one to be carried out):
    understood at the box's desk like a phone's words, with the reply shown."""
    with contextlib.suppress(AttributeError, ValueError):  # bytes that are not text: replaced
        sys.stdin.reconfigure(errors="replace")  # type: ignore[union-attr]
    session, desk = box.session, box.ears.desk if box.ears is not None else None
    for line in sys.stdin:
        text = line.strip()[:500]
        if text.lower() in ("quit", "exit", "q"):
            break
        if not text:
            continue
        if desk is None or isinstance(parse_command(text), Volume | Duck):
            refusal = session.conductor.submit(Command(text), CONSOLE)
        else:
            refusal = desk.submit(text, None, CONSOLE, None, _show_reply)
        if refusal is not None:
            console.print(f"! {escape(refusal)} — {HELP}", style="dim")
    else:
        return  # end of input: keep playing
    quit_.set()


def _show_reply(event: Event) -> None:
    if isinstance(event, Reply):
        console.print(f"→ {escape(event.text)}", style="dim" if event.understood else "yellow")


async def _announce_ready(session: Session, bus: Bus) -> None:
    started = time.monotonic()
    while not session.ready:
        await asyncio.sleep(0.1)
    took = time.monotonic() - started
    bus.publish(Notice(f"ready (models loaded in {took:.1f} s)", kind="ready"))


async def play_async(
    options: PlayOptions,
    seconds: float | None,
    quiet_positions: bool,
    web: WebSettings | None = None,
) -> None:
    bus = Bus(asyncio.get_running_loop())
    shower = asyncio.create_task(_show(bus, quiet_positions))
    await asyncio.sleep(0)
    box = Box(options, bus, web, on_url=_show_url)
    quit_ = threading.Event()
    try:
        await box.open()
        session = box.session
        if box.server is not None:
            _show_pairing(box)
        await box.start()
        watch = watch_the_music(session.producer, box.url)  # systemd: READY=1, WATCHDOG=1
        for problem in session.problems:  # opening's and starting's (e.g. no sound card)
            console.print(f"[yellow]![/yellow] {escape(problem)}")
        ready = asyncio.create_task(_announce_ready(session, bus))
        console.print(HELP, style="dim")
        threading.Thread(
            target=_read_commands, args=(box, quit_), name="stdin", daemon=True
        ).start()
        deadline = None if seconds is None else time.monotonic() + seconds
        while not quit_.is_set() and (deadline is None or time.monotonic() < deadline):
            await asyncio.sleep(0.1)
        ready.cancel()
        if watch is not None:
            watch.cancel()
    finally:
        stopping()
        await box.close()
        await asyncio.sleep(0.05)  # let the last events reach the console
        shower.cancel()
    speaker = box.session.speaker
    if speaker is not None and speaker.underruns:
        console.print(f"audio underruns: {speaker.underruns}", style="dim")
    if seconds is not None:
        _check_played(box.session)


def _check_played(session: Session) -> None:
    """After a timed run (``--seconds``, e.g. CI's `make run`): say what was played, and fail
    when no music was made."""
    producer = session.producer
    made = producer.blocks * producer.block / producer.rate
    console.print(
        f"played {made:.1f} s of audio: {producer.notes_played} notes, "
        f"peak {producer.peak_dbfs():.1f} dBFS"
    )
    if producer.notes_played == 0 or producer.peak == 0.0:
        raise ApplianceError("no music was made")


def _show_url(url: str) -> None:
    console.print(qr_text(url), soft_wrap=True)
    console.print(f"phones: open [bold]{url}[/bold] (status page: {url}status)")


def _show_pairing(box: Box) -> None:
    pairing = box.pairing
    if pairing.problem:
        console.print(f"[yellow]![/yellow] {escape(pairing.problem)}")
    _show_url(box.url)
    console.print(f"PIN to pair a phone: [bold]{pairing.current_pin()}[/bold]")
    facilitator = box.facilitator
    if facilitator is not None:  # the room's facilitator: a page of their own, a PIN of their own
        how = "" if facilitator.key.is_set else " — set its PIN with `appliance facilitator pin`"
        console.print(f"facilitator: {box.url}facilitator{how}")

    def show_pin(pin: str) -> None:
        console.print(f"PIN to pair a phone is now: [bold]{pin}[/bold]")

    pairing.on_new_pin = show_pin


def play(
    options: PlayOptions,
    seconds: float | None = None,
    quiet: bool = False,
    web: WebSettings | None = None,
) -> None:
    asyncio.run(play_async(options, seconds, quiet, web))
