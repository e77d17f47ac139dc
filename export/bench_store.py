"""Store benchmark: write throughput, size per hour of use, and the time to export, import and
forget (figures only; nothing is asserted).

An hour of use, simulated: a session; a performance every 5 minutes (seed, per-note style
latents of ``--notes`` × 16 float32, directions in force); a piece of feedback and an utterance
(text, intents, a 384-float sentence embedding) a minute; a direction a minute; face readings
(52 blendshapes + head pose) at 10 a second while a button is held, 10 % of the time (a minute
in ten); four phones' profiles. ``--hours`` such hours are written through the store's queue
as fast as it takes them (their times spread over the last days), then flushed.

With ``--playing`` (as ``make bench`` runs it) the box's music plays meanwhile — the neural
renderer, FluidSynth and the audio producer in real time, as on the box — and the audio blocks
made late while the rows were written are counted too.

    python -m export.bench_store [--hours 24] [--notes 800] [--playing]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from appliance.audio.producer import Producer
from appliance.store import (
    DirectionRow,
    FaceReadingRow,
    FeedbackRow,
    PerformanceRow,
    PieceRow,
    ProfileRow,
    Row,
    SessionRow,
    Store,
    StoreSettings,
    UtteranceRow,
)

PHONES = ("Grandma", "Leo", "Ms Park", "Room 3")


def hour_of_use(start: float, notes: int, rng: np.random.Generator) -> list[Row]:
    """The rows of one simulated hour from ``start``, in time order."""
    session = SessionRow(started=start, ended=start + 3600)
    rows: list[Row] = [session]
    devices = [f"phone-{i}" for i in range(len(PHONES))]
    perf_id = ""
    for minute in range(60):
        t = start + minute * 60
        who = devices[minute % len(devices)]
        if minute % 5 == 0:
            perf = PerformanceRow(
                f"piece-{minute // 5 % 8}",
                session_id=session.id,
                profile_id=who,
                seed=int(rng.integers(1 << 31)),
                latents=rng.normal(size=(notes, 16)).astype(np.float32),
                directions=[{"cls": "softer", "strength": 0.4, "bar": 3}],
                model_version="2026.12",
                started=t,
            )
            perf_id = perf.id
            rows.append(perf)
        rows.append(
            FeedbackRow("too_fast", perf_id, who, -1.0, {"tempo": -0.5}, minute, 30.0, at=t + 10)
        )
        rows.append(
            UtteranceRow(
                "a little slower please, and softer in the middle",
                "en",
                [{"intent": "direction", "cls": "slower", "strength": 0.3}],
                rng.normal(size=384).astype(np.float32),
                session_id=session.id,
                profile_id=who,
                at=t + 20,
            )
        )
        rows.append(DirectionRow("slower", "speech", [["slower", 0.3]], perf_id, who, minute,
                                 at=t + 21))  # fmt: skip
        if minute % 10 == 7:  # the button held for one minute in ten: 10 % of the time
            for k in range(600):
                yaw, pitch, roll = rng.normal(scale=10, size=3).tolist()
                rows.append(
                    FaceReadingRow(
                        rng.uniform(size=52).astype(np.float32),
                        yaw,
                        pitch,
                        roll,
                        performance_id=perf_id,
                        profile_id=who,
                        at=t + 30 + k / 10,
                    )
                )
    return rows


@contextlib.contextmanager
def music() -> Iterator[Producer]:
    """The box's music, playing in real time until the block ends; yields its producer."""
    from appliance.audio.synth import Synth
    from appliance.library import open_library
    from appliance.library.choose import choose_piece
    from appliance.perform.engine import Engine
    from appliance.render.registry import active_model, neural_renderer
    from export.bench_learning import Discard

    library = open_library()
    engine = Engine(neural_renderer(active_model()[0]), library, None)
    producer = Producer(engine.advance, Synth(), [Discard()])
    engine.load(choose_piece(library, "", opening=True), 1, play=False)
    engine.start()
    producer.start()
    engine.play()
    time.sleep(3.0)  # settled
    try:
        yield producer
    finally:
        producer.stop()
        engine.close()


PACE = 60.0  # the paced hour is written 60 times faster than the box writes it


def paced(store: Store, producer: Producer, notes: int, rng: np.random.Generator) -> None:
    """One hour of use written at ``PACE`` times the real rate while the music plays: the
    audio blocks made late then (the box's own rate is 60 times slower still)."""
    rows = hour_of_use(time.time(), notes, rng)
    every = 3600.0 / PACE / len(rows)
    blocks, late = producer.blocks, producer.late_blocks
    producer.most_late = 0.0
    start = time.perf_counter()
    for n, row in enumerate(rows):
        store.put(row)
        wait = start + (n + 1) * every - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
    store.flush(timeout=600)
    print(
        f"while the music played, an hour of rows at {PACE:.0f}× the box's rate "
        f"({len(rows) * PACE / 3600:.0f} rows/s, {time.perf_counter() - start:.0f} s): audio "
        f"blocks {producer.blocks - blocks}, late {producer.late_blocks - late} "
        f"(at most {producer.most_late * 1000:.0f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--notes", type=int, default=800, help="notes per performance")
    parser.add_argument("--playing", action="store_true", help="with the music playing")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    now = time.time()
    hours = [hour_of_use(now - (args.hours - h) * 3600, args.notes, rng) for h in range(args.hours)]
    count = sum(len(h) for h in hours)
    gc.freeze()  # the collector need not walk the benchmark's own pile of rows on every put

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "store.sqlite3"
        settings = StoreSettings(queue_size=count + 100)
        with Store.open(path, settings) as store:
            store.put_many([PieceRow(f"piece-{i}", f"Piece {i}") for i in range(8)])
            store.put_many([ProfileRow(f"phone-{i}", n) for i, n in enumerate(PHONES)])
            store.flush()
            waits = np.zeros(count)
            i = 0
            playing: contextlib.AbstractContextManager[Producer | None] = (
                music() if args.playing else contextlib.nullcontext(None)
            )
            with playing as producer:
                blocks = late = 0
                if producer is not None:
                    blocks, late = producer.blocks, producer.late_blocks
                    producer.most_late = 0.0
                start = time.perf_counter()
                for rows in hours:
                    for row in rows:
                        t = time.perf_counter()
                        store.put(row)
                        waits[i] = time.perf_counter() - t
                        i += 1
                store.flush(timeout=600)
                took = time.perf_counter() - start
                transactions = store.counts.transactions
                if producer is not None:
                    print(
                        f"while the music played, {args.hours} hours of rows at once: audio "
                        f"blocks {producer.blocks - blocks}, late {producer.late_blocks - late} "
                        f"(at most {producer.most_late * 1000:.0f} ms)"
                    )
                    paced(store, producer, args.notes, rng)
            c = store.counts
            print(f"{count} rows ({args.hours} simulated hours), {transactions} transactions")
            p50, p99, p999 = np.percentile(waits, [50, 99, 99.9]) * 1e3
            print(
                f"write throughput: {count / took:,.0f} rows/s committed ({took:.2f} s); "
                f"dropped {c.dropped}, lost {c.lost}"
            )
            print(
                f"put() returns in {p50:.3f} ms (median), {p99:.3f} ms (99 %), {p999:.2f} ms "
                f"(99.9 %), {waits.max() * 1e3:.1f} ms at most (the longest waits are "
                f"the machine's: the caller is not scheduled; they are there with the writer "
                f"stalled too)"
            )
            used = store.size_bytes()
            print(
                f"size: {used / 1e6:.1f} MB of rows, {used / args.hours / 1e6:.2f} MB per hour "
                f"of use (3600 face readings an hour, latents {args.notes}×16 "
                f"per performance); the 500 MB default holds about "
                f"{500e6 / (used / args.hours):,.0f} hours"
            )

            archive = Path(folder) / "memory.zip"
            t = time.perf_counter()
            manifest = store.export(archive)
            print(
                f"export: {time.perf_counter() - t:.2f} s, {archive.stat().st_size / 1e6:.1f} MB "
                f"archive, {sum(manifest.rows.values())} rows"
            )
            t = time.perf_counter()
            report = store.forget_user("Leo")
            print(
                f"forget one of {len(PHONES)} people: {time.perf_counter() - t:.2f} s "
                f"({report.total} rows erased, file rewritten)"
            )
        with Store.open(Path(folder) / "other.sqlite3", settings) as other:
            t = time.perf_counter()
            merged = other.import_archive(archive)
            print(
                f"import into an empty box: {time.perf_counter() - t:.2f} s "
                f"({sum(a for a, _ in merged.values())} rows)"
            )
            t = time.perf_counter()
            everything = other.forget_all()
            print(
                f"forget everything: {time.perf_counter() - t:.2f} s "
                f"({everything.total} rows erased)"
            )


if __name__ == "__main__":
    main()
