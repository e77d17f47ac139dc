"""Soak benchmark (``make bench``; a 2-minute version runs in CI): a box on loopback with phones
listening and conducting for a long time while one client abuses it.

The box runs in this process (engine, audio producer, HTTPS server, WebRTC hub); the phones run
in a child process (so that their work and memory are not counted as the box's), each from a
loopback address of its own (127.0.0.x), as separate devices would be:

- ``--phones`` paired phones receive the music and each sends a command every few seconds
  (directions, volume, seeks, another piece now and then, feedback);
- one abusive client, every second: a flood of directions from a paired phone, offers that
  never connect, malformed messages, and a connection that sends its headers slowly.

Reported, between the end of minute 1 and the end of the run: underruns (a phone's music
queue found short when a frame was due) and late audio blocks, the latency drift at the phones,
the box's memory (resident set) growth, commands sent and refused. Targets: 0 underruns, drift
under 20 ms, memory growth under 5 %.

The latency is measured end to end at both moments: the music is paused for a few seconds and
clicks are written into the box's output; the time from each click to the first frame holding
it at each phone (both processes read the same monotonic clock) is its latency there. The
drift is the change of a phone's median latency between the two moments.

    python -m export.bench_soak [--minutes 30] [--phones 8]
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import statistics
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import typer
from rich.console import Console

from appliance.console import run_app
from appliance.events import Pause, Play
from appliance.web.music_track import MusicTrack
from export.webbox import WebBox, loopback_only

console = Console()
WARM_UP = 60.0  # seconds before the measurements start (the first minute)
DRIFT_LIMIT = 0.020
CLICKS = 8  # per latency measurement
CLICK = 0.9  # the click's amplitude (the music stays well under it: about −10 dBFS peaks)
HEARD = 0.5  # a frame with a peak over this holds a click
GROWTH_LIMIT = 0.05
COMMANDS: list[dict[str, Any]] = [
    {"type": "direct", "text": "softer"},
    {"type": "direct", "text": "louder"},
    {"type": "direct", "text": "a bit faster"},
    {"type": "direct", "text": "slower"},
    {"type": "direct", "text": "more legato"},
    {"type": "direct", "text": "back to normal"},
    {"type": "volume", "percent": 70},
    {"type": "volume", "percent": 85},
    {"type": "seek", "target": "phrase"},
    {"type": "feedback", "kind": "like"},
]


@dataclass
class SoakResult:
    seconds: float
    phones: int
    underruns: int
    late_blocks: int
    most_late_ms: float
    latency_ms: list[tuple[float, float]]  # per phone: median click latency, minute 1 / end
    rss_start_mb: float
    rss_end_mb: float
    music_share: float  # of the frames the phones received after the warm-up, those with music
    sent: int
    refused: int
    abusive: dict[str, int]

    @property
    def drift_ms(self) -> list[float]:
        return [abs(end - start) for start, end in self.latency_ms]

    @property
    def growth(self) -> float:
        return self.rss_end_mb / self.rss_start_mb - 1.0

    @property
    def abused(self) -> bool:
        """Whether the abusive client really was at work (refused offers, told to slow down)."""
        return self.abusive["ghosts refused"] > 0 and self.abusive["abuser told to slow down"] > 0

    @property
    def passed(self) -> bool:
        return (
            self.underruns == 0
            and max(self.drift_ms, default=0.0) < DRIFT_LIMIT * 1000
            and self.growth < GROWTH_LIMIT
            and (self.abused or not self.abusive["flood"])
        )


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


# -- the phones (child process) -------------------------------------------------------------


async def _pin(url: str) -> str:
    from export.sim_phone import get

    _, status = await get(url, "api/status")
    return str(status.get("pin", ""))


async def _paired(url: str, name: str, address: str) -> Any:
    """A simulated phone paired with the PIN the box shows (read from its own status page)."""
    from export.sim_phone import SimPhone

    phone = SimPhone(name, address=address)
    if not await phone.pair(url, await _pin(url)):
        raise RuntimeError(f"{name} could not pair")
    return phone


async def _phone(phone: Any, url: str, index: int, seconds: float, stats: dict[str, Any]) -> None:
    await phone.join(url, timeout=60)
    rng = random.Random(index)
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        await asyncio.sleep(rng.uniform(2.0, 6.0))
        command = rng.choice(COMMANDS)
        if rng.random() < 0.03:
            command = {"type": "select_piece", "query": ""}
        phone.send(command)
        stats["sent"] += 1
    stats["refused"] += sum("too many commands" in e for e in phone.errors())
    stats["phones"].append(phone.loud_arrivals(HEARD))
    stats["frames"].append(phone.music_share(start + WARM_UP))
    await phone.close()


async def _slow_headers(url: str) -> None:
    """Open a connection and send a header line every 2 s (the server should give up)."""
    from export.sim_phone import insecure_context

    parts = urlsplit(url)
    try:
        _, writer = await asyncio.open_connection(
            parts.hostname, parts.port, ssl=insecure_context(), local_addr=("127.0.0.99", 0)
        )
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
        for i in range(30):
            await asyncio.sleep(2.0)
            writer.write(f"X-Slow-{i}: y\r\n".encode())
            await writer.drain()
        writer.close()
    except (OSError, ConnectionError, asyncio.IncompleteReadError):
        pass  # closed by the box: what it should do


async def _abuser(flooder: Any, url: str, seconds: float, counts: dict[str, int]) -> None:
    from export.sim_phone import SimPhone, post

    await flooder.join(url, timeout=60)
    start = time.perf_counter()
    slow: list[asyncio.Task[None]] = []
    while time.perf_counter() - start < seconds:
        for i in range(50):
            flooder.send({"type": "direct", "text": ["softer", "louder"][i % 2]})
        flooder.send("[" * 500 + "]" * 500)
        flooder.send('{"type": "launch"}')
        counts["flood"] += 52
        ghost = SimPhone("ghost", address="127.0.0.98")
        ghost.pc.addTransceiver("audio", direction="recvonly")
        await ghost.pc.setLocalDescription(await ghost.pc.createOffer())
        body = {"sdp": ghost.pc.localDescription.sdp, "type": "offer"}
        status, _ = await post(url, "api/offer", body, ghost.address)
        counts["ghost offers"] += 1
        counts["ghosts refused"] += status != 200
        await ghost.pc.close()
        if len(slow) < 3:
            slow.append(asyncio.create_task(_slow_headers(url)))
        slow = [t for t in slow if not t.done()]
        await asyncio.sleep(1.0)
    counts["abuser told to slow down"] = sum("too many" in e for e in flooder.errors())
    await flooder.close()
    for task in slow:
        task.cancel()


async def _drive(url: str, phones: int, seconds: float, abuse: bool) -> dict[str, Any]:
    stats: dict[str, Any] = {"sent": 0, "refused": 0, "phones": [], "frames": []}
    abusive = {"flood": 0, "ghost offers": 0, "ghosts refused": 0}
    paired = [await _paired(url, f"soak phone {i}", f"127.0.0.{10 + i}") for i in range(phones)]
    tasks = [_phone(phone, url, i, seconds, stats) for i, phone in enumerate(paired)]
    if abuse:
        flooder = await _paired(url, "abuser", "127.0.0.99")
        tasks.append(_abuser(flooder, url, seconds, abusive))
    await asyncio.gather(*tasks)
    stats["abusive"] = abusive
    return stats


def _phones_process(url: str, phones: int, seconds: float, abuse: bool, pipe: Connection) -> None:
    import aioice.ice

    os.setpriority(os.PRIO_PROCESS, 0, 0)  # the phones are other devices: normal priority
    aioice.ice.get_host_addresses = loopback_only
    try:
        pipe.send(asyncio.run(_drive(url, phones, seconds, abuse)))
    except BaseException as exc:  # reported to the parent
        pipe.send({"error": repr(exc)})


# -- the box (this process) -----------------------------------------------------------------


def _tracks(box: WebBox) -> list[MusicTrack]:
    return [
        s.track
        for p in list(box.hub.peers)
        for s in p.pc.getSenders()
        if isinstance(s.track, MusicTrack)
    ]


def _clicks(box: WebBox) -> list[float]:
    """Pause, write clicks into the box's output, play on; the times the clicks were written."""
    broadcast = box.session.broadcast
    assert broadcast is not None
    conductor = box.session.conductor  # (a piece asked for meanwhile is loaded, not started)
    conductor.submit(Pause(), "soak")
    time.sleep(1.0)  # the fade and the last notes' release
    click = np.zeros((480, 2), np.float32)
    click[:96] = CLICK
    times = []
    for _ in range(CLICKS):
        time.sleep(0.4)
        times.append(time.perf_counter())
        broadcast.write(click)
    time.sleep(1.0)
    conductor.submit(Play(), "soak")
    return times


def run_soak(seconds: float, phones: int = 8, abuse: bool = True) -> SoakResult:
    """Run the soak for ``seconds`` (measured after the first minute) and return the figures."""
    total = WARM_UP + seconds + 10.0  # and the second latency measurement
    with tempfile.TemporaryDirectory() as tmp:
        box = WebBox(Path(tmp), piece="joplin-maple-leaf-rag").start()
        try:
            parent, child = multiprocessing.get_context("spawn").Pipe()
            process = multiprocessing.get_context("spawn").Process(
                target=_phones_process, args=(box.url, phones, total, abuse, child), daemon=True
            )
            process.start()
            time.sleep(WARM_UP)
            tracks = [t for t in _tracks(box) if t.listening]
            underruns0 = sum(t.ring.underruns for t in tracks)
            late0 = box.session.producer.late_blocks
            box.session.producer.most_late = 0.0  # (start-up is not the soak)
            rss0 = rss_mb()
            first = _clicks(box)
            time.sleep(max(0.0, seconds - 8.0))
            last = _clicks(box)
            underruns = sum(t.ring.underruns for t in tracks) - underruns0
            late = box.session.producer.late_blocks - late0
            box_late = box.session.producer.most_late
            rss1 = rss_mb()
            if not parent.poll(total + 120):
                raise RuntimeError("the phones did not finish")
            stats = parent.recv()
            process.join(10)
            if "error" in stats:
                raise RuntimeError(f"the phones failed: {stats['error']}")
        finally:
            box.stop()
    latencies = [
        (_latency(loud, first) * 1000, _latency(loud, last) * 1000) for loud in stats["phones"]
    ]
    shares = [s for s in stats["frames"] if s is not None]
    return SoakResult(
        seconds=seconds,
        phones=phones,
        underruns=underruns,
        late_blocks=late,
        most_late_ms=box_late * 1000,
        latency_ms=latencies,
        rss_start_mb=rss0,
        rss_end_mb=rss1,
        music_share=statistics.mean(shares) if shares else 0.0,
        sent=stats["sent"],
        refused=stats["refused"],
        abusive=stats["abusive"],
    )


def _latency(loud: list[float], clicks: list[float]) -> float:
    """Median time from each click to the first loud frame after it at one phone (a click not
    heard within a second counts as a second)."""
    delays = []
    for at in clicks:
        heard = [t for t in loud if at <= t < at + 1.0]
        delays.append(min(heard) - at if heard else 1.0)
    return statistics.median(delays)


def show(result: SoakResult) -> None:
    mark = {True: "[green]ok[/green]", False: "[red]over the target[/red]"}
    drift = max(result.drift_ms, default=0.0)
    console.print(
        f"soak: {result.seconds / 60:.1f} min after a 1-min warm-up, {result.phones} phones "
        f"conducting and listening, one abusive client ({result.abusive})"
    )
    console.print(
        f"  underruns at the phones' music queues: {result.underruns} "
        f"{mark[result.underruns == 0]}; late audio blocks: {result.late_blocks} "
        f"(the latest {result.most_late_ms:.0f} ms late)"
    )
    starts = [round(a) for a, _ in result.latency_ms]
    ends = [round(b) for _, b in result.latency_ms]
    console.print(
        f"  click latency at the phones (ms) after minute 1: {starts}, at the end: {ends}; "
        f"drift, max over phones: {drift:.1f} ms {mark[drift < DRIFT_LIMIT * 1000]}"
    )
    console.print(
        f"  box memory: {result.rss_start_mb:.0f} MB → {result.rss_end_mb:.0f} MB "
        f"({result.growth * 100:+.1f} %) {mark[result.growth < GROWTH_LIMIT]}"
    )
    console.print(
        f"  frames with music at the phones: {result.music_share * 100:.1f} %; commands sent "
        f"{result.sent}, refused {result.refused}"
    )


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main_cmd(
    minutes: float = typer.Option(30.0, help="how long to soak, after a 1-minute warm-up"),
    phones: int = typer.Option(8, help="phones listening and conducting"),
    abuse: bool = typer.Option(True, help="with the abusive client"),
) -> None:
    """Run the soak and print the figures against the targets."""
    result = run_soak(minutes * 60.0, phones, abuse)
    show(result)
    if not result.passed:
        raise typer.Exit(1)


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()
