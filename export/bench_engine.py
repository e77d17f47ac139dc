"""Engine benchmarks (part of ``make bench``): command latency, audible latency, CPU, underruns.

The box plays in real time to a private PulseAudio null sink through sounddevice (as it would
to a sound card) while the sink's monitor is recorded:

- **command → first affected note scheduled**: a direction ("softer" / "louder", alternating)
  at random moments; the time until the re-rendered notes are in the schedule;
- **command → audible change**: ducking and pausing at random moments; the time until the
  recorded level falls below half of what it was just before (the recording's clock is tied to
  the system clock at its end);
- **CPU**: the process's CPU time over wall time while playing;
- **underruns** over a soak run (default 10 minutes): blocks the sound card found empty after
  the start, and blocks the producer made late — by default with every core kept busy by
  other processes meanwhile (``--saturate``: one busy process per core), as speech and face
  workers will.

    python -m export.bench_engine [--soak-minutes 10] [--trials 20] [--saturate/--no-saturate]
"""

from __future__ import annotations

import os
import random
import resource
import subprocess
import sys
import time

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from appliance.audio.nullsink import NullSink
from appliance.console import run_app
from appliance.perform.session import PlayOptions, Session

console = Console()
WINDOW = 0.005  # seconds per loudness window


def _busy_process() -> subprocess.Popen[bytes]:
    """A process that keeps one core busy (at the normal priority of anything else)."""
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _levels(audio: np.ndarray, rate: int) -> np.ndarray:
    n = int(WINDOW * rate)
    mono = audio.mean(axis=1)
    usable = len(mono) // n * n
    return np.sqrt((mono[:usable].reshape(-1, n) ** 2).mean(axis=1))


def audible_delays(
    levels: np.ndarray, t_end: float, commands: list[float], max_delay: float = 0.5
) -> list[float]:
    """Per command time, seconds until the level drops below half its level just before."""
    t_first = t_end - len(levels) * WINDOW
    out = []
    for t in commands:
        i = int((t - t_first) / WINDOW)
        before = levels[max(i - 40, 0) : i]
        if i <= 0 or len(before) < 10 or np.median(before) < 1e-4:
            continue
        ref = float(np.median(before))
        stop = min(i + int(max_delay / WINDOW), len(levels) - 3)
        for j in range(i, stop):
            if np.all(levels[j : j + 3] < 0.5 * ref):
                out.append((j - i) * WINDOW)
                break
    return out


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main_cmd(
    trials: int = typer.Option(20, help="commands of each kind"),
    soak_minutes: float = typer.Option(10.0, help="length of the underrun soak run"),
    piece: str = typer.Option("joplin-maple-leaf-rag", help="piece to play"),
    seed: int = typer.Option(0),
    saturate: bool = typer.Option(True, help="keep every core busy during the soak"),
) -> None:
    """Print the engine's latency, CPU and underrun figures."""
    rng = random.Random(seed)
    with NullSink() as pulse:
        session = Session(PlayOptions(piece=piece, seed=seed, device="pulse", at_end="next"))
        if session.speaker is None:
            console.print(f"no audio output: {session.problems}")
            raise typer.Exit(1)
        engine = session.engine
        recording = pulse.record()
        session.start()
        time.sleep(2.0)

        scheduled = []
        for i in range(trials):
            time.sleep(rng.uniform(0.3, 0.8))
            t0 = time.perf_counter()
            engine.apply_text("softer" if i % 2 else "louder")
            scheduled.append(time.perf_counter() - t0)

        duck_times, pause_times = [], []
        for _ in range(trials):
            time.sleep(rng.uniform(0.0, 0.5))
            duck_times.append(time.monotonic())
            engine.duck()
            time.sleep(4.5)  # hold and release
        for _ in range(max(trials // 2, 3)):
            time.sleep(rng.uniform(1.0, 2.0))
            pause_times.append(time.monotonic())
            engine.pause()
            time.sleep(0.5)
            engine.play()
        t_end = time.monotonic()
        audio = recording.stop()
        levels = _levels(audio, pulse.rate)
        ducks = audible_delays(levels, t_end, duck_times)
        pauses = audible_delays(levels, t_end, pause_times)

        underruns0 = session.speaker.underruns
        late0 = session.producer.late_blocks
        blocks0 = session.producer.blocks
        hogs = [_busy_process() for _ in range(os.cpu_count() or 1)] if saturate else []
        cpu0, wall0 = _cpu(), time.monotonic()
        try:
            time.sleep(soak_minutes * 60)
        finally:
            for hog in hogs:
                hog.kill()
        cpu = (_cpu() - cpu0) / (time.monotonic() - wall0)
        underruns = session.speaker.underruns - underruns0
        late = session.producer.late_blocks - late0
        blocks = session.producer.blocks - blocks0
        latency = session.speaker.latency
        session.close()

    table = Table(title=f"engine ({piece}, PulseAudio null sink, {trials} trials each)")
    for col in ("measure", "p50", "p95", "target", "n"):
        table.add_column(col, justify="right")
    ms = 1000.0
    table.add_row(
        "command → first affected note scheduled (ms)",
        f"{percentile(scheduled, 50) * ms:.1f}",
        f"{percentile(scheduled, 95) * ms:.1f}",
        "≤ 30 p95",
        str(len(scheduled)),
    )
    for name, values in (("duck", ducks), ("pause", pauses)):
        table.add_row(
            f"command → audible change at the sink, {name} (ms)",
            f"{percentile(values, 50) * ms:.0f}",
            f"{percentile(values, 95) * ms:.0f}",
            "≤ 150 p95",
            str(len(values)),
        )
    console.print(table)
    console.print(f"output latency reported by PortAudio: {latency * ms:.0f} ms")
    busy = f", every core busy with {len(hogs)} other processes" if hogs else ""
    console.print(f"audio thread real-time: {session.producer.realtime}")
    console.print(
        f"soak {soak_minutes:g} min{busy}: CPU {cpu * 100:.1f} % of one core (whole process), "
        f"{blocks} blocks, sound-card underruns {underruns} (target 0), late blocks {late}"
    )


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()
