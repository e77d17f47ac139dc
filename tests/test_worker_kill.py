"""Supervision of the heavy workers, end to end: the real box on loopback (engine, audio
producer, phone hub, the speech-recognition, language-model and face-reading workers, each in a
process of its own) and a simulated phone with a microphone and a camera. Each worker is killed
with SIGKILL in the middle of a request; the music goes on without a gap (the audio producer's
blocks and notes, and the music frames at the phone), the worker is running again (a new
process) within 2 s, the phone hears at once what the box says when it cannot tell — "didn't
catch that" for speech, "I didn't understand" for a free-form sentence — and the next request
works. A hung worker (stopped, SIGSTOP) is found by its missing heartbeat within 2 s
(:mod:`appliance.workers.heartbeat`) and started again the same way."""

from __future__ import annotations

import asyncio
import functools
import itertools
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.speech.listening import FINAL
from appliance.vision.watching import PAUSED, RESUMED
from appliance.workers.supervisor import Worker
from export import face_samples
from export.sim_camera import SimCamera
from export.sim_microphone import SimMicrophone
from export.sim_phone import SimPhone, music_per_second
from export.spoken import espeak
from export.webbox import WebBox

pytestmark = pytest.mark.slow

RESTART = 2.0  # seconds from the kill to the worker's new process, at most
GAP = 0.3  # seconds without a new audio block that count as a gap in the music
NOTE_GAP = 1.0  # seconds without a note that count as the music having stopped


class Pulse:
    """The audio producer's counters, sampled every 10 ms on a thread of the test's own."""

    def __init__(self, box: WebBox) -> None:
        self.producer = box.session.producer
        self.samples: list[tuple[float, int, int]] = []  # (monotonic, blocks, notes)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Pulse:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2.0)

    def _run(self) -> None:
        while not self._stop.is_set():
            p = self.producer
            self.samples.append((time.monotonic(), p.blocks, p.notes_played))
            time.sleep(0.01)

    def check(self, start: float, end: float) -> None:
        """Blocks came without a gap between ``start`` and ``end`` (monotonic), at the clock's
        pace, and notes all along (a prelude in even semiquavers: never a second without)."""
        window = [s for s in self.samples if start <= s[0] <= end]
        assert len(window) > 10, "the producer was not watched"
        stall = self._longest(window, 1)
        assert stall < GAP, f"no audio block for {stall:.2f} s"
        seconds = window[-1][0] - window[0][0]
        made = (window[-1][1] - window[0][1]) * self.producer.block / self.producer.rate
        assert made >= 0.9 * seconds, f"{made:.2f} s of audio made in {seconds:.2f} s"
        quiet = self._longest(window, 2)
        assert quiet < NOTE_GAP, f"no note played for {quiet:.2f} s"

    @staticmethod
    def _longest(window: list[tuple[float, int, int]], column: int) -> float:
        """The longest time the counter in ``column`` stood still."""
        longest, last_change = 0.0, window[0][0]
        for before, now in itertools.pairwise(window):
            if now[column] != before[column]:
                last_change = now[0]
            longest = max(longest, now[0] - last_change)
        return longest


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebBox]:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    box = WebBox(tmp_path_factory.mktemp("box"), piece="bach-bwv846", llm=True).start()
    try:
        ears, eyes = box.box.ears, box.box.eyes
        assert ears is not None and ears.recogniser is not None, box.problems
        assert ears.fallback is not None and eyes is not None, box.problems
        for worker in (ears.recogniser.worker, _llm(box), eyes.worker.worker):
            assert worker.wait_ready(90.0), f"the {worker.name} worker: {worker.last_failure}"
        yield box
    finally:
        box.stop()


def _llm(box: WebBox) -> Worker:
    ears = box.box.ears
    assert ears is not None
    worker = getattr(ears.fallback, "worker", None)
    assert isinstance(worker, Worker)
    return worker


async def _until(predicate: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.02)
    return predicate()


def _asked_or_told(asked: threading.Event, phone: SimPhone, since: int) -> bool:
    return asked.is_set() or bool(_of(phone, "reply", since))


def _of(phone: SimPhone, kind: str, since: int = 0) -> list[dict[str, Any]]:
    return [e for e in phone.events[since:] if e.get("type") == kind]


async def _phone(box: WebBox, address: str) -> tuple[SimPhone, SimMicrophone, SimCamera]:
    mic = SimMicrophone()
    frames, _ = face_samples.read_video(face_samples.sample("single_face.mp4"), max_frames=20)
    camera = SimCamera(frames, fps=30.0)
    phone = SimPhone(f"phone {address}", address=address, microphone=mic, camera=camera)
    assert await phone.pair(box.url, box.pairing.current_pin())
    await phone.join(box.url)
    return phone, mic, camera


def _kill_when_asked(
    worker: Worker,
    monkeypatch: pytest.MonkeyPatch,
    when: Callable[[], bool] = lambda: True,
    sig: int = signal.SIGKILL,
) -> tuple[threading.Event, list[tuple[int, float]]]:
    """Kill ``worker``'s process with SIGKILL (or send it ``sig``) just after the next request
    sent to it while ``when()``; returns the event set then and [(pid, monotonic time)]."""
    asked, killed = threading.Event(), []
    call = worker.call

    def calling(request: Any, timeout: float, hung_after: float | None = None) -> Any:
        if not asked.is_set() and "forget" not in request and when():
            asked.set()
            pid = worker.pid
            assert pid is not None

            def kill() -> None:
                time.sleep(0.05)  # the request is on its way, its answer not yet
                os.kill(pid, sig)
                killed.append((pid, time.monotonic()))

            threading.Thread(target=kill, daemon=True).start()
        return call(request, timeout, hung_after)

    monkeypatch.setattr(worker, "call", calling)
    return asked, killed


async def _restarted(worker: Worker, pid: int, killed_at: float, within: float = RESTART) -> float:
    """Seconds from the kill to the worker's new process."""
    await _until(lambda: worker.pid not in (None, pid), 10.0)
    assert worker.pid not in (None, pid), f"the {worker.name} worker was not started again"
    took = time.monotonic() - killed_at
    assert took < within, f"the {worker.name} worker took {took:.2f} s to start again"
    print(f"the {worker.name} worker: a new process {took:.2f} s after the signal")
    return took


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSTOP], ids=["killed", "hung"])
def test_speech_recognition_killed_mid_utterance(
    box: WebBox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sig: int
) -> None:
    ears = box.box.ears
    assert ears is not None and ears.voice is not None and ears.recogniser is not None
    worker, voice = ears.recogniser.worker, ears.voice
    words = espeak(
        "please play a little bit slower and softer", "en-us", 150, tmp_path / "slower.wav"
    )

    async def say(phone: SimPhone, mic: SimMicrophone) -> int:
        start = len(phone.events)
        phone.send({"type": "talk", "pressed": True, "language": "en"})
        await asyncio.sleep(0.2)
        await asyncio.sleep(mic.say(words, 16_000))
        phone.send({"type": "talk", "pressed": False})  # as the speech ends
        return start

    async def main() -> None:
        phone, mic, _ = await _phone(box, "127.0.0.31")
        with Pulse(box) as pulse:
            # killed while the utterance's final text is recognised (when a pause in the
            # speech was recognised already, there is nothing left to do then: say it again)
            asked, killed = _kill_when_asked(
                worker, monkeypatch, lambda: voice.busy == FINAL, sig=sig
            )
            for _ in range(3):
                start = await say(phone, mic)
                await _until(functools.partial(_asked_or_told, asked, phone, start))
                if asked.is_set():
                    break
                await asyncio.sleep(0.5)
            assert asked.is_set(), "the final text was never recognised"
            assert await _until(lambda: killed, 2.0)
            pid, killed_at = killed[0]
            music_from = time.perf_counter() - (time.monotonic() - killed_at)
            reply = await _until(lambda: _of(phone, "reply", start), 5.0)
            told = time.monotonic() - killed_at
            assert reply, f"the phone was left waiting: {phone.events[start:]}"
            assert "didn't catch that" in reply[0]["text"] and reply[0]["understood"] is False
            assert told < RESTART, f"the phone was told after {told:.1f} s"
            await _restarted(worker, pid, killed_at)
            await asyncio.sleep(max(0.0, killed_at + 2.0 - time.monotonic()))
            pulse.check(killed_at - 0.5, killed_at + 2.0)
            per_second = music_per_second(phone.frames, music_from - 1.0, time.perf_counter())
            assert min(per_second) >= 40, per_second  # 50 music frames a second at the phone
        # The next utterance is recognised (whatever whisper makes of synthetic speech).
        assert worker.wait_ready(30.0)
        start = await say(phone, mic)
        heard = await _until(
            lambda: [e for e in _of(phone, "heard", start) if e["final"] and e["text"]], 30
        )
        assert heard, phone.events[start:]
        assert await _until(lambda: _of(phone, "reply", start), 30)
        await phone.close()

    asyncio.run(asyncio.wait_for(main(), 90))


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSTOP], ids=["killed", "hung"])
def test_the_language_model_killed_while_answering(
    box: WebBox, monkeypatch: pytest.MonkeyPatch, sig: int
) -> None:
    worker = _llm(box)
    asked, killed = _kill_when_asked(worker, monkeypatch, sig=sig)

    async def main() -> None:
        phone, _, _ = await _phone(box, "127.0.0.32")
        with Pulse(box) as pulse:
            start = len(phone.events)
            text = "purple elephants dance on a tuesday"
            phone.send({"type": "command", "text": text, "language": "en"})
            assert await _until(asked.is_set, 10.0), "the language model was not asked"
            assert await _until(lambda: killed, 2.0)
            pid, killed_at = killed[0]
            reply = await _until(lambda: _of(phone, "reply", start), 5.0)
            assert reply, f"the phone was left waiting: {phone.events[start:]}"
            assert reply[0]["understood"] is False and "didn't understand" in reply[0]["text"]
            # killed: at once, not at the end of the language model's time limit (1.5 s);
            # hung: at that time limit at the latest
            told = time.monotonic() - killed_at
            within = 1.0 if sig == signal.SIGKILL else RESTART
            assert told < within, f"the phone was told {told:.1f} s after the worker died"
            await _restarted(worker, pid, killed_at)
            await asyncio.sleep(1.0)
            pulse.check(killed_at - 0.5, killed_at + 2.0)
        # The next sentence goes through the desk again, and the new worker answers.
        start = len(phone.events)
        phone.send({"type": "command", "text": "softer please", "language": "en"})
        reply = await _until(lambda: _of(phone, "reply", start), 10.0)
        assert reply and reply[0]["understood"] is True, phone.events[start:]
        ears = box.box.ears
        assert ears is not None and ears.fallback is not None
        fallback = ears.fallback
        answer = await asyncio.to_thread(
            fallback.intents, "could you play it a little more tenderly", "en", 60.0
        )
        assert answer is not None, worker.last_failure
        await phone.close()

    asyncio.run(asyncio.wait_for(main(), 90))


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGSTOP], ids=["killed", "hung"])
def test_face_reading_killed_while_a_frame_is_read(
    box: WebBox, monkeypatch: pytest.MonkeyPatch, sig: int
) -> None:
    eyes = box.box.eyes
    assert eyes is not None
    worker = eyes.worker.worker

    async def main() -> None:
        phone, _, _ = await _phone(box, "127.0.0.33")
        with Pulse(box) as pulse:
            phone.send({"type": "talk", "pressed": True, "language": "en"})
            assert await _until(lambda: _of(phone, "seen"), 15.0), "no face read before"
            restarts, seen_from = worker.restarts, len(phone.events)
            asked, killed = _kill_when_asked(worker, monkeypatch, sig=sig)
            assert await _until(asked.is_set, 5.0), "no frame was read"
            assert await _until(lambda: killed, 2.0)
            pid, killed_at = killed[0]
            await _restarted(worker, pid, killed_at)
            assert worker.restarts == restarts + 1
            if sig == signal.SIGSTOP:  # found by its missing heartbeat, not a time limit
                assert "stopped responding" in worker.last_failure, worker.last_failure
            # the phone is told that faces are not read for a moment, then that they are again
            told = await _until(
                lambda: [e for e in _of(phone, "seen", seen_from) if e["words"] == PAUSED], 5.0
            )
            assert told, "the phone was not told that faces are not read"
            resumed = await _until(
                lambda: [e for e in _of(phone, "seen", seen_from) if e["words"] == RESUMED], 20.0
            )
            assert resumed, "the phone was not told that faces are read again"
            # The frames the dead worker could not read were skipped, not waited for: the
            # phone is told what its face shows again as soon as the new worker has its model.
            since = len(phone.events)
            assert await _until(lambda: _of(phone, "seen", since), 20.0), "faces not read again"
            await asyncio.sleep(max(0.0, killed_at + 2.0 - time.monotonic()))
            pulse.check(killed_at - 0.5, killed_at + 2.0)
            phone.send({"type": "talk", "pressed": False})
        await phone.close()

    asyncio.run(asyncio.wait_for(main(), 90))
