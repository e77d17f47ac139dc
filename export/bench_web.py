"""Web benchmarks (part of ``make bench``): connection set-up, audio latency, CPU with many phones.

The box runs on loopback (engine, audio producer, HTTPS server, WebRTC hub); the phones are
aiortc client peers doing what the page does (offer with an audio section and a data channel,
POST /api/offer with the right Origin, read the music continuously):

- **set-up**: from creating the offer to the connection being up and to the first music frame;
- **audio latency**: with the music paused (silence), a click is written into the box's audio
  output; the time until a phone receives a frame holding it (includes the phone side's
  jitter buffer);
- **CPU** of the box's process with ``--peers`` phones listening, and **underruns** of the
  phones' audio queues (frames the music track found short) meanwhile.

    python -m export.bench_web [--peers 8] [--seconds 30] [--clicks 20]
"""

from __future__ import annotations

import asyncio
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from appliance.console import run_app
from appliance.web.music_track import MusicTrack
from export.sim_phone import SimPhone
from export.webbox import WebBox

console = Console()


CHROMIUM = "/usr/bin/chromium"
_WATCH = """() => new Promise((resolve) => {
  const deadline = Date.now() + 3000;
  const tick = () => {
    if (window.appliance.level() > 0.05) return resolve(Date.now());
    if (Date.now() > deadline) return resolve(null);
    setTimeout(tick, 1);
  };
  tick();
})"""


def browser_latencies(box: WebBox, clicks: int) -> list[float]:
    """Click in the box's output → detected by the page's WebAudio analyser in headless
    Chromium (loopback; wall clocks of the same machine)."""
    import threading

    from playwright.sync_api import sync_playwright

    out: list[float] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--use-fake-ui-for-media-stream",
                  "--use-fake-device-for-media-stream", "--allow-loopback-in-peer-connection",
                  "--autoplay-policy=no-user-gesture-required",
                  "--disable-background-networking", "--disable-component-update"],
            ignore_default_args=["--mute-audio"],
        )  # fmt: skip
        page = browser.new_context(ignore_https_errors=True).new_page()
        page.goto(box.url)
        page.click("#start")
        page.click("#listen-only")
        page.click("#skip-pair")
        page.wait_for_function("window.appliance.state.pc.connectionState === 'connected'")
        page.wait_for_function("window.appliance.level() > 0.001", timeout=20000)
        box.session.engine.pause()
        page.wait_for_function("window.appliance.level() < 0.0005", timeout=20000)
        broadcast = box.session.broadcast
        assert broadcast is not None
        click = np.zeros((480, 2), np.float32)
        click[:96] = 0.9
        for _ in range(clicks):
            page.wait_for_timeout(400)
            sent: dict[str, float] = {}

            def click_later(sent: dict[str, float] = sent) -> None:
                time.sleep(0.1)  # the page is watching by now
                sent["t"] = time.time() * 1000.0
                broadcast.write(click)

            clicker = threading.Thread(target=click_later, daemon=True)
            clicker.start()
            seen = page.evaluate(_WATCH)  # resolves when the page hears the click
            clicker.join()
            if seen and "t" in sent:
                out.append((float(seen) - sent["t"]) / 1000.0)
        box.session.engine.play()
        browser.close()
    return out


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def _bench(box: WebBox, peers: int, seconds: float, clicks: int) -> dict[str, Any]:
    phones = [SimPhone(f"bench phone {i}", address=f"127.0.0.{20 + i}") for i in range(peers)]
    setups = []
    for phone in phones:  # one after another, as people arrive
        setups.append(await phone.join(box.url))
    await asyncio.sleep(2.0)
    tracks = [
        s.track for p in list(box.hub.peers) for s in p.pc.getSenders()
        if isinstance(s.track, MusicTrack)
    ]  # fmt: skip
    underruns0 = sum(t.ring.underruns for t in tracks)
    frames0 = sum(t.frames for t in tracks)
    cpu0, wall0 = _cpu(), time.monotonic()
    await asyncio.sleep(seconds)
    cpu = (_cpu() - cpu0) / (time.monotonic() - wall0)
    underruns = sum(t.ring.underruns for t in tracks) - underruns0
    frames = sum(t.frames for t in tracks) - frames0

    engine = box.session.engine
    await asyncio.to_thread(engine.pause)
    await asyncio.sleep(1.0)
    broadcast = box.session.broadcast
    assert broadcast is not None
    click = np.zeros((480, 2), np.float32)
    click[:48] = 0.9
    latencies = []
    listener = phones[0]
    for _ in range(clicks):
        await asyncio.sleep(0.5)
        start = len(listener.frames)
        t_click = time.perf_counter()
        broadcast.write(click)
        deadline = time.perf_counter() + 2.0
        while time.perf_counter() < deadline:
            heard = [t for t, peak in listener.frames[start:] if peak > 0.3]
            if heard:
                latencies.append(heard[0] - t_click)
                break
            await asyncio.sleep(0.002)
    await asyncio.to_thread(engine.play)
    for phone in phones:
        await phone.close()
    return {
        "setups": setups,
        "cpu": cpu,
        "underruns": underruns,
        "frames": frames,
        "latencies": latencies,
    }


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main_cmd(
    peers: int = typer.Option(8, help="phones listening at once"),
    seconds: float = typer.Option(30.0, help="how long to measure CPU and underruns"),
    clicks: int = typer.Option(20, help="clicks for the latency measurement"),
    browser: bool = typer.Option(True, help="also measure the latency into headless Chromium"),
) -> None:
    """Print connection set-up time, engine-to-phone audio latency, CPU and underruns."""
    with tempfile.TemporaryDirectory() as tmp:
        box = WebBox(Path(tmp), piece="joplin-maple-leaf-rag").start()
        try:
            result = box.call(_bench(box, peers, seconds, clicks), timeout=seconds + 300)
            in_browser = browser_latencies(box, clicks) if browser else []
        finally:
            box.stop()
    ms = 1000.0
    table = Table(title=f"web: {peers} aiortc phones on loopback")
    for col in ("measure", "p50", "p95", "n"):
        table.add_column(col, justify="right")
    connected = [a for a, _ in result["setups"]]
    first = [b for _, b in result["setups"]]
    lat = result["latencies"]
    for name, values in (
        ("offer → connected (ms)", connected),
        ("offer → first music frame (ms)", first),
        ("click in the box's output → at the phone (ms)", lat),
        ("click in the box's output → heard in Chromium's page (ms)", in_browser),
    ):
        table.add_row(
            name,
            f"{np.percentile(values, 50) * ms:.0f}" if values else "-",
            f"{np.percentile(values, 95) * ms:.0f}" if values else "-",
            str(len(values)),
        )
    console.print(table)
    console.print(
        f"box process CPU with {peers} phones: {result['cpu'] * 100:.0f} % of one core "
        f"(2 cores = 200 %); music frames sent {result['frames']}, "
        f"short reads (underruns) {result['underruns']}"
    )


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()
