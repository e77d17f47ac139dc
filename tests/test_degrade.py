"""Degrading gracefully: what goes wrong on a box nobody looks after gives one clear message and
the rest goes on — a full disk, a missing MIDI port, a missing or damaged renderer model, a
phone vanishing in the middle of a call.

Tested elsewhere and not repeated here: a missing sound device (``tests/test_audio_output.py``:
said, and the music goes to the other outputs), a chosen model version with a wrong checksum
(``tests/test_model_versions.py``: the shipped version plays, said once), the store on a full
disk (``tests/test_store_writer.py``), a dead worker (``tests/test_worker_kill.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import shutil
import subprocess
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aioice.ice
import numpy as np
import pytest

from appliance.events import Action
from appliance.paths import models_dir
from appliance.perform.session import PlayOptions, Session
from export.sim_camera import SimCamera
from export.sim_microphone import SimMicrophone
from export.sim_phone import SimPhone, music_per_second
from export.webbox import WebBox

pytestmark = pytest.mark.slow


def _played(options: PlayOptions, seconds: float = 1.5) -> Session:
    """A session of ``options`` (no speakers), started, played for ``seconds`` and closed."""
    options.speaker, options.speech, options.llm, options.vision = False, False, False, False
    session = Session(options)
    session.start()
    time.sleep(seconds)
    session.close()
    return session


def _music_in(wav: Path) -> np.ndarray:
    with wave.open(str(wav)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), "<i2")


def test_a_missing_midi_port_is_a_message_and_the_music_plays(tmp_path: Path) -> None:
    wav = tmp_path / "out.wav"
    session = _played(
        PlayOptions(
            piece="bach-bwv846",
            seed=1,
            midi_out="No Such Piano",
            wav=wav,
            library=tmp_path / "library",
        )
    )
    said = [p for p in session.problems if "MIDI" in p]
    assert len(said) == 1 and "no MIDI output port 'No Such Piano'" in said[0], session.problems
    assert "the music goes on" in said[0]
    assert session.producer.midi_sinks == []
    assert session.producer.notes_played > 5
    audio = _music_in(wav)
    assert len(audio) > 48_000 and np.abs(audio).max() > 100


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped models that the box uses (``$APPLIANCE_MODELS``)."""
    copy = tmp_path / "models"
    shutil.copytree(models_dir(), copy)
    monkeypatch.setenv("APPLIANCE_MODELS", str(copy))
    return copy


def _unpinned(graph: Path) -> Path:
    """No checksum list beside the models (a development folder): the damage shows on loading."""
    (graph.parent.parent / "SHA256SUMS").unlink()
    return graph


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (lambda graph: graph.unlink(), "decoder_step.int8.onnx is missing"),
        (lambda graph: graph.write_bytes(b"not a graph"), "does not match its checksum"),
        (lambda graph: _unpinned(graph).write_bytes(b"not a graph"), "cannot be loaded"),
        (lambda graph: graph.write_bytes(graph.read_bytes() + b"\0"), "does not match its check"),
    ],
    ids=["missing", "damaged", "damaged-unpinned", "one-byte-more"],
)
def test_a_missing_or_damaged_renderer_model_plays_plainly_and_says_so(
    models: Path, tmp_path: Path, damage: Any, said: str
) -> None:
    damage(models / "renderer" / "decoder_step.int8.onnx")
    session = _played(PlayOptions(piece="bach-bwv846", seed=1, library=tmp_path / "library"))
    problems = [p for p in session.problems if "renderer's model" in p]
    assert len(problems) == 1 and said in problems[0], session.problems
    assert "playing plainly" in problems[0] and "make install" in problems[0]
    assert type(session.engine.renderer).__name__ == "MeanRenderer"
    assert session.producer.notes_played > 5 and session.producer.peak > 0.01


# -- a full disk -----------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 MB tmpfs of the test's own (skipped where it cannot be mounted: not root)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small disk here: {made.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(disk: Path) -> None:
    """Fill ``disk`` to the last byte."""
    with open(disk / "filler", "wb", buffering=0) as handle:
        for size in (1 << 20, 4096, 1):
            with contextlib.suppress(OSError):
                while handle.write(b"\0" * size):
                    pass
    with pytest.raises(OSError) as full:
        (disk / "one-more").write_bytes(b"\0" * 65536)
    assert full.value.errno == errno.ENOSPC


def test_a_full_disk_pairs_plays_and_says_what_was_not_saved(
    small_disk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("APPLIANCE_DATA", str(small_disk / "data"))
    box = WebBox(small_disk, piece="bach-bwv846", speech=False, vision=False).start()
    try:
        _fill(small_disk)

        async def main() -> dict[str, Any]:
            phone = SimPhone("phone on a full disk", address="127.0.0.41")
            paired = await phone.pair(box.url, box.pairing.current_pin())
            await phone.join(box.url)
            start = len(phone.events)
            phone.send({"type": "direct", "text": "softer"})
            phone.send({"type": "feedback", "kind": "like"})
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not [
                e for e in phone.events[start:] if e["type"] == "direction_applied"
            ]:
                await asyncio.sleep(0.05)
            begun = time.perf_counter()
            await asyncio.sleep(3.0)
            await phone.close()
            return {
                "paired": paired and phone.paired,
                "events": phone.events[start:],
                "music": music_per_second(phone.frames, begun, time.perf_counter()),
                "errors": phone.errors(),
            }

        seen = asyncio.run(asyncio.wait_for(main(), 60))
    finally:
        box.stop()
    # pairing works while the box runs, and the box says why it will not last
    assert seen["paired"] is True, seen
    problem = box.pairing.phones.problem
    assert problem is not None and "could not be saved" in problem and "disk space" in problem
    # the phone conducts, and hears the music all along
    assert any(e["type"] == "direction_applied" for e in seen["events"]), seen
    assert seen["errors"] == [], seen
    assert min(seen["music"]) >= 40, seen["music"]
    assert box.session.producer.failed_blocks == 0


# -- a phone vanishing in the middle of a call -----------------------------------------------------


def _vanish(phone: SimPhone) -> None:
    """The phone is gone without a word (out of the Wi-Fi, its battery flat): its network
    sockets are closed under it — no DTLS or SCTP goodbye reaches the box."""
    assert phone.pc.sctp is not None
    ice = phone.pc.sctp.transport.transport  # the one ICE transport all of it is bundled on
    connection = ice._connection  # aioice's
    for protocol in list(connection._protocols):
        if protocol.transport is not None:
            protocol.transport.close()


def _left(actions: list[Action]) -> bool:
    return any(a.who == "vanishing phone" and a.what == "left" for a in actions)


async def _keep(box: WebBox, actions: list[Action]) -> None:
    """Keep the box's ``Action`` events (on the box's loop)."""
    async for event in box.bus.subscribe(Action):
        if isinstance(event, Action):
            actions.append(event)


@pytest.fixture
def quick_consent(monkeypatch: pytest.MonkeyPatch) -> None:
    """ICE consent checks (RFC 7675) every 0.3 s instead of 5 s: a vanished peer is noticed
    after 6 missed checks, 2 s instead of 30 s; nothing else changes."""
    monkeypatch.setattr(aioice.ice, "CONSENT_INTERVAL", 0.3)


def test_a_phone_vanishing_mid_call_is_dropped_and_the_music_goes_on(
    tmp_path: Path, quick_consent: None
) -> None:
    from export import face_samples

    box = WebBox(tmp_path, piece="bach-bwv846", speech=True, vision=True).start()
    try:
        ears, eyes = box.box.ears, box.box.eyes
        assert ears is not None and ears.recogniser is not None and eyes is not None
        assert eyes.worker.worker.wait_ready(60.0)

        async def main() -> None:
            frames, _ = face_samples.read_video(
                face_samples.sample("single_face.mp4"), max_frames=20
            )
            talker = SimPhone(
                "vanishing phone",
                address="127.0.0.42",
                microphone=SimMicrophone(),
                camera=SimCamera(frames, fps=30.0),
            )
            assert await talker.pair(box.url, box.pairing.current_pin())
            await talker.join(box.url)
            listener = SimPhone("listener", address="127.0.0.43")
            await listener.join(box.url)
            actions: list[Action] = []
            keeping = asyncio.run_coroutine_threadsafe(_keep(box, actions), box.loop)
            talker.send({"type": "talk", "pressed": True, "language": "en"})
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not [
                e for e in talker.events if e["type"] == "seen"
            ]:
                await asyncio.sleep(0.05)
            assert eyes._watches, "the talking phone's face is not being read"
            begun = time.perf_counter()
            _vanish(talker)
            gone_at = time.monotonic()
            # the box notices, drops it and says so; what it held is let go
            while time.monotonic() - gone_at < 15:
                if [p for p in box.hub.peers if p.name == "vanishing phone"] == []:
                    break
                await asyncio.sleep(0.05)
            noticed = time.monotonic() - gone_at
            assert noticed < 10, "the vanished phone was never dropped"
            while time.monotonic() - gone_at < noticed + 5 and not _left(actions):
                await asyncio.sleep(0.05)
            keeping.cancel()
            assert _left(actions), actions
            await asyncio.sleep(1.5)
            assert not eyes._watches, "the vanished phone's face is still watched"
            # the other phone heard the music all along, ducked no longer than the box waited
            per_second = music_per_second(listener.frames, begun, time.perf_counter())
            assert min(per_second) >= 40, per_second
            assert box.session.engine.state == "playing"
            # and the box takes a phone again
            again = SimPhone("next phone", address="127.0.0.44")
            assert await again.pair(box.url, box.pairing.current_pin())
            await again.join(box.url)
            await again.close()
            await listener.close()
            with contextlib.suppress(Exception):
                await talker.close()

        asyncio.run(asyncio.wait_for(main(), 90))
    finally:
        box.stop()
    assert box.session.producer.failed_blocks == 0
