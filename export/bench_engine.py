"""Engine benchmarks (part of ``make bench``): command latency, audible latency, CPU, underruns.

The box plays in real time to a private PulseAudio null sink through sounddevice (as it would
to a sound card) while the sink's monitor is recorded:

- **command → first affected note scheduled**: a direction ("softer" / "louder", alternating)
  at random moments; the time until the re-rendered notes are in the schedule;
- **command → audible change**: ducking and pausing at random moments; the time until the
  recorded level falls below half of what it was just before (the recording's clock is tied to
  the system clock at its end);
- **CPU**: the process's CPU time over wall time while playing;
- **underruns** over a soak run (default 10 minutes, target 0), with both cores saturated by
  other processes meanwhile (``--saturate``: a pure-Python busy loop per core and one numpy
  process multiplying matrices on as many BLAS threads as there are cores), as speech and face
  workers will; their CPU use is printed, so that one sees the cores were really busy. Counted:
  reads that found the speaker's queue empty; seconds in which the sound path took under 95 %
  of real time (when PortAudio's or PulseAudio's side is starved the queue never empties: the
  gap is after it, and only the blocks taken show it); blocks the producer made late. During
  the soak the box also builds the directions' descriptor table (the sentence model over every
  phrasing, numpy/BLAS work) in a background thread, as it does when the shipped embeddings do
  not match, and its time is printed.
  The box's numeric libraries run on one thread (``appliance/threads.py``), as ``appliance
  run`` does; ``--no-thread-limits`` leaves them at their defaults, for comparison.

    python -m export.bench_engine [--minutes 10] [--trials 20] [--saturate/--no-saturate]
                                  [--thread-limits/--no-thread-limits] [--nice 0]
"""

from __future__ import annotations

import os
import random
import resource
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from appliance.audio.nullsink import NullSink
from appliance.console import run_app
from appliance.perform.session import PlayOptions, Session
from appliance.process_priority import BOX_NICE
from appliance.threads import BOX_THREADS, limit_threads, worker_environment

console = Console()
WINDOW = 0.005  # seconds per loudness window
SHORT_SHARE = 0.95  # a second in which the sound path took less than this share of real time


_BUSY_LOOP = "while True: pass"
_BLAS_LOOP = (
    "import numpy as np\n"
    "a = np.random.default_rng(0).random((768, 768))\n"
    "while True: a = a @ a.T; a /= np.abs(a).max()\n"
)


@dataclass
class Hog:
    """Another process keeping cores busy (at the normal priority of anything else)."""

    kind: str
    process: subprocess.Popen[bytes]
    cpu0: float = 0.0

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its threads so far (Linux)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busy_cores() -> tuple[float, float]:
    """(busy, total) CPU jiffies of the whole machine so far."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    total = sum(values[:8])  # steal included, guests are counted in user already
    return float(total - idle), float(total)


def start_hogs(cores: int) -> list[Hog]:
    """A pure-Python busy loop per core, and one numpy process multiplying matrices on as
    many BLAS threads as there are cores (another program's choice, not the box's)."""
    hogs = [
        Hog("Python busy loop", subprocess.Popen([sys.executable, "-c", _BUSY_LOOP]))
        for _ in range(cores)
    ]
    blas_env = worker_environment(cores, keep_user=False)
    blas = subprocess.Popen([sys.executable, "-c", _BLAS_LOOP], env=blas_env)
    hogs.append(Hog(f"numpy matrix products, {cores} BLAS threads", blas))
    for hog in hogs:  # at the normal priority, whatever the box's own (threads inherit it)
        os.setpriority(os.PRIO_PROCESS, hog.process.pid, 0)
    return hogs


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


@dataclass
class Soak:
    """What happened while the box played on under load."""

    seconds: float
    blocks: int  # made, i.e. taken by the sound path (the speaker sets the pace)
    expected_blocks: int  # in real time
    short_seconds: int  # seconds in which the sound path took under 95 % of real time
    short_at: list[float]  # when (seconds into the soak) and
    short_share: list[float]  # what share of real time the sound path took in them
    late_blocks: int
    underruns: int
    notes: int
    cpu: float  # the box's process: CPU seconds per second
    machine_busy: float  # the whole machine: busy share of all cores
    hogs: list[tuple[str, float]]  # other processes: kind, CPU seconds per second
    table: str  # how long the descriptor table took to build, or how far it came


class TableBuild:
    """Builds the descriptor table (the sentence model over every phrasing) in a background
    thread of the box's process, as the box does when the shipped embeddings do not match; a
    few phrasings at a time, so that it can be stopped when the soak ends."""

    CHUNK = 16  # phrasings per call

    def __init__(self) -> None:
        self.seconds: float | None = None
        self.done = self.total = 0
        self.problem = ""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="descriptor-table", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            from appliance.directions.descriptors import DESCRIPTORS, core
            from appliance.nlp.embedding import SentenceEmbedder

            embedder = SentenceEmbedder()
            phrasings = [core(p) for d in DESCRIPTORS for p in d.phrasings]
        except Exception as exc:  # the sentence model not installed: the soak goes on
            self.problem = str(exc)
            return
        self.total = len(phrasings)
        t0 = time.perf_counter()
        for start in range(0, self.total, self.CHUNK):
            if self._stop.is_set():
                return
            embedder.embed_many(phrasings[start : start + self.CHUNK])
            self.done = min(start + self.CHUNK, self.total)
        self.seconds = time.perf_counter() - t0

    def stop(self) -> None:
        """Stop after the phrasings in hand (a BLAS call is not left running at exit)."""
        self._stop.set()
        self._thread.join()

    def describe(self) -> str:
        if self.seconds is not None:
            return f"{self.seconds:.1f} s"
        return f"not finished ({self.done} of {self.total} phrasings)"


def soak(session: Session, seconds: float, saturate: bool) -> tuple[Soak, str]:
    """Play on for ``seconds``, the cores saturated by other processes if ``saturate``;
    meanwhile the box builds the descriptor table. Returns the figures and any problem."""
    assert session.speaker is not None
    hogs = start_hogs(os.cpu_count() or 1) if saturate else []
    try:
        time.sleep(1.0)  # the others are up and busy
        for hog in hogs:
            hog.cpu0 = hog.cpu_seconds()
        producer = session.producer
        underruns0 = session.speaker.underruns
        late0, blocks0, notes0 = producer.late_blocks, producer.blocks, producer.notes_played
        machine0, cpu0, wall0 = busy_cores(), _cpu(), time.monotonic()
        build = TableBuild()
        short, period = 0, producer.block / producer.rate
        short_at: list[float] = []
        short_share: list[float] = []
        blocks_before, end = producer.blocks, wall0 + seconds
        while (now := time.monotonic()) < end:
            time.sleep(min(1.0, end - now))
            made = producer.blocks - blocks_before
            blocks_before += made
            share = made * period / max(time.monotonic() - now, 1e-6)
            if share < SHORT_SHARE:
                short += 1
                short_at.append(now - wall0)
                short_share.append(share)
        wall = time.monotonic() - wall0
        machine = busy_cores()
        hog_use = [(hog.kind, (hog.cpu_seconds() - hog.cpu0) / wall) for hog in hogs]
        build.stop()
        result = Soak(
            seconds=wall,
            blocks=producer.blocks - blocks0,
            expected_blocks=round(wall / period),
            short_seconds=short,
            short_at=short_at,
            short_share=short_share,
            late_blocks=producer.late_blocks - late0,
            underruns=session.speaker.underruns - underruns0,
            notes=producer.notes_played - notes0,
            cpu=(_cpu() - cpu0) / wall,
            machine_busy=(machine[0] - machine0[0]) / max(machine[1] - machine0[1], 1.0),
            hogs=hog_use,
            table=build.describe(),
        )
    finally:
        for hog in hogs:
            hog.process.kill()
            hog.process.wait()
    return result, build.problem


def print_soak(result: Soak, most_late: float, limits: str) -> None:
    cores = os.cpu_count() or 1
    table = Table(title=f"underrun soak: {result.seconds / 60:.1f} min, {limits}")
    for col in ("measure", "value", "target"):
        table.add_column(col, justify="left" if col == "measure" else "right")
    if result.hogs:
        table.add_row("other processes saturating the cores", str(len(result.hogs)), "")
        for kind, use in result.hogs:
            table.add_row(f"  {kind}", f"CPU {use * 100:.0f} % of a core", "")
    table.add_row("whole machine busy", f"{result.machine_busy * 100:.1f} % of {cores} cores", "")
    table.add_row("box process CPU", f"{result.cpu * 100:.1f} % of a core", "")
    missing = max(result.expected_blocks - result.blocks, 0)
    table.add_row(
        "blocks taken by the sound path (10 ms each)",
        f"{result.blocks} of {result.expected_blocks}",
        "all",
    )
    table.add_row(
        "audio missing (sound path behind real time)",
        f"{missing * result.seconds / max(result.expected_blocks, 1):.1f} s",
        "0 s",
    )
    table.add_row(
        f"seconds with a dropout (< {SHORT_SHARE:.0%} of real time)",
        str(result.short_seconds),
        "0",
    )
    if result.short_at:
        when = ", ".join(
            f"{t:.0f} s ({share:.0%})"
            for t, share in zip(result.short_at, result.short_share, strict=True)
        )
        table.add_row("  at (share of real time)", when, "")
    table.add_row("notes played", str(result.notes), "> 0")
    table.add_row("late blocks (clock pacing only)", str(result.late_blocks), "0")
    table.add_row("most late block, whole run (ms)", f"{most_late * 1000:.1f}", "")
    table.add_row("ring underruns (speaker found its queue empty)", str(result.underruns), "0")
    table.add_row("descriptor table built by the box meanwhile", result.table, "")
    console.print(table)
    dropouts = result.underruns + result.short_seconds + result.late_blocks
    met = dropouts == 0 and result.notes > 0
    console.print(
        f"underruns in {result.seconds / 60:.1f} min: {result.underruns} ring underruns, "
        f"{result.short_seconds} seconds with a dropout, {result.late_blocks} late blocks; "
        f"target 0 in 10 minutes: {'met' if met else 'NOT met'}"
    )


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main_cmd(
    trials: int = typer.Option(20, help="commands of each kind"),
    minutes: float = typer.Option(
        10.0, "--minutes", "--soak-minutes", help="length of the underrun soak run"
    ),
    piece: str = typer.Option("joplin-maple-leaf-rag", help="piece to play"),
    seed: int = typer.Option(0),
    saturate: bool = typer.Option(
        True, help="saturate every core with other processes during the soak"
    ),
    thread_limits: bool = typer.Option(
        True, help="one thread for the box's numeric libraries, as `appliance run` does"
    ),
    nice: int = typer.Option(
        BOX_NICE, help="the box's niceness (its own by default; 0 for comparison; needs root)"
    ),
) -> None:
    """Print the engine's latency, CPU and underrun figures."""
    if thread_limits:
        limit_threads()
        limits = f"the box's numeric libraries on {BOX_THREADS} thread"
    else:
        limits = "the box's numeric libraries on their default threads"
    limits += f", the box at nice {nice}"
    rng = random.Random(seed)
    with NullSink() as pulse:
        # at a piece's end the next one plays (the default)
        session = Session(PlayOptions(piece=piece, seed=seed, device="pulse", nice=nice))
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
            engine.direct("softer" if i % 2 else "louder")
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

        result, problem = soak(session, minutes * 60, saturate)
        latency = session.speaker.latency
        most_late = session.producer.most_late
        realtime = session.producer.realtime
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
    console.print(f"audio thread real-time: {realtime}")
    if problem:
        console.print(f"descriptor table not built: {problem}")
    print_soak(result, most_late, limits)


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()
