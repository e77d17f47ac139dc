"""An unplugged speaker while playing: the producer lets it go within a fraction of a second,
the phones (every other sink) keep their music at the clock's pace, it is said once in plain
words, and the speaker gets sound again once the device opens again."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from appliance.audio.block import Block
from appliance.audio.format import BLOCK, RATE
from appliance.audio.nullsink import SINK, NullSink, loudness
from appliance.audio.producer import START_GRACE, Producer
from appliance.audio.sinks import AudioSink
from appliance.audio.speaker_watch import BACK, LOST, MISSING, SpeakerWatch
from appliance.errors import ApplianceError
from appliance.events import Event, Notice, Problem
from appliance.midi import MidiEvent
from appliance.perform.session import PlayOptions, Session


class Tone:
    rate = RATE

    def send(self, ev: MidiEvent) -> None:
        pass

    def silence(self) -> None:
        pass

    def render(self, frames: int) -> np.ndarray:
        return np.full((frames, 2), 0.1, np.float32)


def advance(frames: int) -> Block:
    return Block([], np.ones(frames, np.float32), False)


class Clocked(AudioSink):
    """A phone: notes when each block arrives."""

    name = "broadcast"

    def __init__(self) -> None:
        self.times: list[float] = []

    def write(self, block: np.ndarray) -> None:
        self.times.append(time.monotonic())


class StandInSpeaker(AudioSink):
    """Drains a block every 10 ms like a sound card, until it is unplugged."""

    name = "speaker"
    paces = True

    def __init__(self, fail_writes: bool = False) -> None:
        self.queued = 0
        self.written = 0
        self.fail_writes = fail_writes
        self.unplugged = False
        self.closed = False
        self._lock = threading.Lock()
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self) -> None:
        while not self.closed:
            time.sleep(BLOCK / RATE)
            if not self.unplugged:
                with self._lock:
                    self.queued = max(0, self.queued - BLOCK)

    def write(self, block: np.ndarray) -> None:
        if self.unplugged and self.fail_writes:
            raise OSError("device unplugged")
        with self._lock:
            self.queued += len(block)
        self.written += 1

    def buffered(self) -> int:
        return self.queued

    def close(self) -> None:
        self.closed = True


def longest_gap(times: list[float]) -> float:
    return float(np.diff(times).max()) if len(times) > 1 else 0.0


@pytest.mark.parametrize("fail_writes", [False, True], ids=["stops-draining", "write-raises"])
def test_an_unplugged_speaker_is_let_go_and_comes_back(fail_writes: bool) -> None:
    speaker = StandInSpeaker(fail_writes)
    phone = Clocked()
    producer = Producer(advance, Tone(), [speaker, phone])
    said: list[Event] = []
    plugged = threading.Event()
    opened: list[StandInSpeaker] = []

    def reopen() -> AudioSink:
        if not plugged.is_set():
            raise ApplianceError("cannot open the audio output (default)")
        opened.append(StandInSpeaker())
        return opened[-1]

    watch = SpeakerWatch(producer, reopen, said.append, retry=0.3)
    producer.start_grace = 0.3  # a stand-in plays at once
    producer.start()
    try:
        time.sleep(0.5)
        assert speaker.written > 20  # playing, paced by the speaker
        unplugged_at = time.monotonic()
        speaker.unplugged = True
        time.sleep(1.5)
        assert producer.stalls == 1 and watch.lost == 1
        assert [e for e in said if isinstance(e, Problem)] == [Problem(LOST)]  # said once
        assert not opened  # the device is not there yet: tried, not attached
        during = [t for t in phone.times if t > unplugged_at]
        assert len(during) > 100  # 1.5 s at 100 blocks a second (the 0.2 s wait aside)
        assert longest_gap([unplugged_at, *during]) < 0.3
        plugged.set()
        time.sleep(1.0)
        assert len(opened) == 1 and opened[0].written > 30  # the speaker plays again
        assert Notice(BACK) in said
        assert speaker not in producer.audio_sinks and opened[0] in producer.audio_sinks
        assert longest_gap([t for t in phone.times if t > unplugged_at]) < 0.3
    finally:
        watch.close()
        producer.stop()
    assert speaker.closed  # the dead one was let go of


def test_speakers_missing_at_the_start_play_once_plugged_in() -> None:
    """A box that starts with no speakers plays to the phones by the clock, says so once, and
    keeps looking (ever less often): once the speakers are plugged in they play, no restart."""
    phone = Clocked()
    producer = Producer(advance, Tone(), [phone])
    said: list[Event] = []
    plugged = threading.Event()
    tries: list[float] = []
    opened: list[StandInSpeaker] = []

    def reopen() -> AudioSink:
        tries.append(time.monotonic())
        if not plugged.is_set():
            raise ApplianceError("cannot open the audio output (default)")
        opened.append(StandInSpeaker())
        return opened[-1]

    watch = SpeakerWatch(producer, reopen, said.append, retry=0.2)
    producer.start()
    try:
        started = time.monotonic()
        watch.look_for()
        time.sleep(1.6)
        assert said == [Notice(MISSING)] and not opened
        assert 3 <= len(tries) <= 6, tries  # 0.2, 0.3, 0.45, 0.675 s apart: ever less often
        assert np.diff(tries).min() > 0.15 and np.diff(tries)[-1] > np.diff(tries)[0]
        assert len([t for t in phone.times if t > started]) > 100  # the phones play by the clock
        plugged.set()
        deadline = time.monotonic() + 5.0
        while not (opened and opened[0] in producer.audio_sinks) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert opened and opened[0] in producer.audio_sinks and Notice(BACK) in said
        written = opened[0].written
        time.sleep(0.5)
        assert opened[0].written > written + 20  # the speakers now take the music
        assert longest_gap([t for t in phone.times if t > started]) < 0.3
    finally:
        watch.close()
        producer.stop()


def _pactl(pulse: NullSink, *args: str) -> str:
    env = {**os.environ, **pulse.env}
    done = subprocess.run(["pactl", *args], env=env, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.mark.skipif(shutil.which("pactl") is None, reason="needs pulseaudio-utils (pactl)")
def test_a_real_sound_device_unplugged_and_plugged_in_again(tmp_path: Path) -> None:
    """A private PulseAudio's null sink is unloaded mid-play (PortAudio's stream dies, as with a
    USB speaker pulled out), then loaded again."""
    with NullSink() as pulse:
        session = Session(
            PlayOptions(
                piece="bach-bwv846", seed=1, device="pulse", stream=True, library=tmp_path / "l"
            )
        )
        assert session.speaker is not None and session.speaker_watch is not None
        first = session.speaker
        said: list[Event] = []
        when: list[float] = []

        def hear(event: Event) -> None:
            said.append(event)
            when.append(time.monotonic())

        session.speaker_watch.publish = hear
        session.speaker_watch.retry = 0.5
        phone = Clocked()
        session.producer.attach(phone)
        session.start()
        try:
            time.sleep(START_GRACE + 0.5)
            (module,) = [
                line.split()[0]
                for line in _pactl(pulse, "list", "short", "modules").splitlines()
                if "module-null-sink" in line
            ]
            unplugged_at = time.monotonic()
            _pactl(pulse, "unload-module", module)
            time.sleep(2.0)
            assert [e for e in said if isinstance(e, Problem)] == [Problem(LOST)]
            assert first not in session.producer.audio_sinks
            _pactl(pulse, "load-module", "module-null-sink", f"sink_name={SINK}", "rate=48000")
            plugged_at = time.monotonic()
            while Notice(BACK) not in said and time.monotonic() - plugged_at < 8:
                time.sleep(0.05)
            assert Notice(BACK) in said
            back_after = time.monotonic() - plugged_at
            assert session.speaker is not first and session.speaker in session.producer.audio_sinks
            recording = pulse.record()
            time.sleep(1.5)
            audio = recording.stop()
        finally:
            session.close()
        during = [t for t in phone.times if t > unplugged_at]
        gap = longest_gap([unplugged_at, *during])
        print(
            f"let go {when[0] - unplugged_at:.2f} s after the unplug; longest gap for the phones "
            f"{gap * 1000:.0f} ms; the speaker played again {back_after:.2f} s after it came back"
        )
        assert len(during) > 350  # ≥ 3.5 s at 100 blocks a second
        assert longest_gap([unplugged_at, *during]) < 0.3
        assert session.producer.stalls == 1
        level = loudness(audio, pulse.rate, 0.05)
        assert (level > 1e-4).sum() >= 10  # ≥ 0.5 s of music reaches the device again
