"""The first commands after the box starts: how long until it is ready, and how long the first
free-form direction ("like a lullaby") and the first word direction ("softer") take from being
given to being applied, once the box says it is ready.

    python -m export.bench_first_command [--trials 3]

Each trial starts a whole box (library, neural renderer, engine, synthesiser, conductor; no
speakers) as `appliance run` does. "cold" trials start with the descriptor cache emptied,
"warm" ones with it filled (with the phrasings shipped embedded,
``models_onnx/renderer/descriptor_anchors.npy``, the two differ only when that file does not
match; ``export.bench_first_direction`` measures that case). Target: ≤ 0.3 s for the first
command once ready. Part of `make bench`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

from appliance.bus import Bus
from appliance.events import Direct, DirectionApplied, Event
from appliance.paths import cache_dir


class Waiter(Bus):
    """A bus that lets the benchmark wait for the next DirectionApplied."""

    def __init__(self) -> None:
        super().__init__()
        self.applied = threading.Event()

    def publish(self, event: Event) -> None:
        if isinstance(event, DirectionApplied):
            self.applied.set()


def trial(cold: bool) -> tuple[float, float, float]:
    from appliance.perform.session import PlayOptions, Session

    if cold:
        for path in cache_dir().glob("descriptor-anchors-*.npy"):
            path.unlink()
    bus = Waiter()
    folder = Path(tempfile.mkdtemp())
    started = time.perf_counter()
    session = Session(PlayOptions(speaker=False, library=folder / "library", seed=1), bus)
    session.start()
    while not session.ready:
        time.sleep(0.005)
    ready = time.perf_counter() - started
    times = []
    for words in ("like a lullaby", "softer"):
        bus.applied.clear()
        t0 = time.perf_counter()
        session.conductor.submit(Direct(words), "bench")
        if not bus.applied.wait(120):
            raise RuntimeError(f"{words!r} was never applied")
        times.append(time.perf_counter() - t0)
    session.close()
    shutil.rmtree(folder, ignore_errors=True)
    return ready, times[0], times[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("APPLIANCE_DATA", tempfile.mkdtemp())
    print("| start | trials | ready after start (s) | first free-form (s) | first word (s) |")
    print("|---|---|---|---|---|")
    for cold in (True, False):
        rows = [trial(cold) for _ in range(args.trials)]
        cells = [statistics.median(r[i] for r in rows) for i in range(3)]
        worst = max(r[1] for r in rows)
        print(
            f"| {'cold' if cold else 'warm'} | {args.trials} | {cells[0]:.2f} | "
            f"{cells[1]:.3f} (worst {worst:.3f}) | {cells[2]:.3f} |"
        )
    print("\nmedians; target ≤ 0.3 s for the first command once the box is ready")


if __name__ == "__main__":
    main()
