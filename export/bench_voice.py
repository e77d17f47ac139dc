"""Benchmark: the voice path's latency and memory, on loopback, while the music plays.

A simulated phone (aiortc, :mod:`export.sim_phone`) holds the talk button and says espeak-ng
utterances into its microphone track, as a person would: it lets go ``--tail`` s after the last
word. Measured, per utterance length (about 2 s and about 5 s):

- **release → first changed note scheduled**: from the phone letting go of the button to the
  box publishing the applied direction (the re-rendered notes are then in the schedule);
- **speech onset → duck**: from the phone sending the first sound of the speech to the box
  hearing it as speech and asking the music to duck (the network and voice-activity delay);
- the resident memory of each worker process (speech recognition, language model).

``python -m export.bench_voice [--rounds 8] [--tail 0.4] [--llm/--no-llm]``; prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from appliance.events import DirectionApplied
from export.sim_microphone import SimMicrophone
from export.sim_phone import SimPhone
from export.spoken import espeak
from export.webbox import WebBox

SHORT = (  # about 2 s each, spoken at espeak-ng's 160 words a minute
    "please play it softer",
    "a little louder please",
    "now play a bit faster",
    "could you play slower",
)
LONG = (  # about 5 s each
    "that sounds nice but could you please play the next part a little bit softer",
    "I would like to hear the music a little bit louder from here on please",
    "can you please play this section slower and more gently than before",
    "the tempo is fine but please play a little bit faster from this point",
)


def nearest_percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0…1) of ``values``, the nearest value itself (nan for none)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def rss_mb_of(pid: int | None) -> float:
    if pid is None:
        return float("nan")
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


async def _round(
    box: WebBox, phone: SimPhone, mic: SimMicrophone, audio: Any, tail: float
) -> tuple[float, float] | None:

    voice = box.box.ears.voice if box.box.ears else None
    assert voice is not None
    applied = box.bus.subscribe(DirectionApplied)
    try:
        phone.send({"type": "talk", "pressed": True, "language": "en"})
        await asyncio.sleep(0.3)
        onsets = len(voice.onsets)
        sent = len(mic.speech_sent)
        seconds = mic.say(audio, 16_000)
        await asyncio.sleep(seconds + tail)
        released = time.perf_counter()
        phone.send({"type": "talk", "pressed": False})
        try:
            await asyncio.wait_for(applied.queue.get(), 20.0)
        except TimeoutError:
            return None
        changed = time.perf_counter() - released
        onset = voice.onsets[onsets] - mic.speech_sent[sent] if len(voice.onsets) > onsets else 0
        await asyncio.sleep(1.0)
        return changed, onset
    finally:
        applied.close()


async def _bench(box: WebBox, rounds: int, tail: float, folder: Path) -> dict[str, Any]:

    mic = SimMicrophone()
    phone = SimPhone("bench phone", microphone=mic)
    assert await phone.pair(box.url, box.pairing.current_pin())
    await phone.join(box.url)
    results: dict[str, Any] = {}
    for name, texts in (("2 s", SHORT), ("5 s", LONG)):
        changed, onsets, missed, lengths = [], [], 0, []
        for i in range(rounds):
            text = texts[i % len(texts)]
            audio = espeak(text, "en-us", 150, folder / f"{name[0]}-{i}.wav")
            lengths.append(len(audio) / 16_000)
            got = await _round(box, phone, mic, audio, tail)
            if got is None:
                missed += 1
                continue
            changed.append(got[0])
            onsets.append(got[1])
        results[name] = (changed, onsets, missed, statistics.mean(lengths))
    await phone.close()
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--tail", type=float, default=0.4, help="s between speech end and release")
    parser.add_argument("--llm", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        box = WebBox(folder, piece="bach-bwv846", llm=args.llm).start()
        try:
            ears = box.box.ears
            assert ears is not None and ears.recogniser is not None
            ears.recogniser.worker.wait_ready(120)
            time.sleep(2.0)
            results = box.call(_bench(box, args.rounds, args.tail, folder), timeout=1200)
            asr_rss = rss_mb_of(ears.recogniser.worker.pid)
            llm_pid = getattr(ears.fallback, "pid", None)
            llm_rss = rss_mb_of(llm_pid) if llm_pid else 0.0
        finally:
            box.stop()
    print(f"voice path on loopback while the music plays; release {args.tail:.1f} s after speech")
    print("| utterance | n | release → first changed note p50 / p95 | onset → duck p50 / p95 |")
    print("|---|---|---|---|")
    for name, (changed, onsets, missed, length) in results.items():
        if not changed:
            print(f"| {name} ({length:.1f} s) | 0 | — (all {missed} missed) | — |")
            continue
        print(
            f"| {name} ({length:.1f} s) | {len(changed)} (+{missed} not understood) "
            f"| {statistics.median(changed):.2f} / {nearest_percentile(changed, 0.95):.2f} s "
            f"| {1000 * statistics.median(onsets):.0f} / "
            f"{1000 * nearest_percentile(onsets, 0.95):.0f} ms |"
        )
    print(
        f"resident memory: speech recognition worker {asr_rss:.0f} MB, "
        f"language model worker {llm_rss:.0f} MB, together {asr_rss + llm_rss:.0f} MB"
    )


if __name__ == "__main__":
    main()
