"""The face-reading logic without a camera: pose, the expression table, calibration,
hysteresis, nods and shakes, "like this" (pure; the real faces are in test_faces.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from appliance.directions.encoded import decode
from appliance.events import Seen
from appliance.understand.intents import DirectIntent, Understanding, Unknown
from appliance.vision import expressions
from appliance.vision.calibration import CAP, WINDOW, Calibration
from appliance.vision.face_reader import Decision, FaceReader, nod_tempo
from appliance.vision.features import BLENDSHAPES, INDEX, Reading, largest, pose, reading
from appliance.vision.head_motion import HeadMotion, Motion
from appliance.vision.like_this import ALREADY, points_at_face, with_face

FPS = 15.0


def rotation(yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0) -> list[float]:
    """A 4×4 row-major matrix turning the face model the way pose() reads back."""
    y, p, r = (math.radians(a) for a in (-yaw, -pitch, roll))
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    m = np.eye(4)
    m[:3, :3] = rz @ ry @ rx
    m[:3, 3] = (0.0, 0.0, -40.0)
    return [float(v) for v in m.reshape(-1)]


def scores(**named: float) -> dict[str, float]:
    out = {name: 0.0 for name in BLENDSHAPES}
    out.update(named)
    return out


def face(t: float, pitch: float = 0.0, yaw: float = 0.0, **named: float) -> Reading:
    got = reading(
        {"scores": scores(**named), "matrix": rotation(yaw, pitch), "area": 0.2}, t, False
    )
    assert got is not None
    return got


# -- features -------------------------------------------------------------------------------


@pytest.mark.parametrize(("yaw", "pitch", "roll"), [(0, 0, 0), (20, 0, 0), (0, 15, 0), (10, -8, 5)])
def test_pose_reads_back_the_angles(yaw: float, pitch: float, roll: float) -> None:
    got = pose(rotation(yaw, pitch, roll))
    assert got == pytest.approx((yaw, pitch, roll), abs=1e-6)


def test_a_mirrored_picture_flips_yaw_and_roll_and_swaps_sides() -> None:
    raw = {"scores": scores(mouthSmileLeft=0.9), "matrix": rotation(12, 5, 3), "area": 0.3}
    plain, mirrored = reading(raw, 0.0, False), reading(raw, 0.0, True)
    assert plain is not None and mirrored is not None
    assert (mirrored.yaw, mirrored.pitch, mirrored.roll) == pytest.approx((-12, 5, -3))
    assert mirrored.score("mouthSmileRight") == pytest.approx(0.9)
    assert mirrored.score("mouthSmileLeft") == 0.0
    assert plain.score("mouthSmileLeft") == pytest.approx(0.9)


def test_malformed_faces_are_none_and_the_largest_face_is_chosen() -> None:
    assert reading({"scores": [], "matrix": rotation()}, 0.0) is None
    assert reading({"scores": {}, "matrix": [1, 2]}, 0.0) is None
    assert reading({"scores": {"x": "y"}, "matrix": ["a"] * 16}, 0.0) is None
    nan = float("nan")
    assert reading({"scores": {}, "matrix": [nan] * 16}, 0.0) is None
    nan_score = reading({"scores": {"mouthSmileLeft": nan}, "matrix": rotation()}, 0.0)
    assert nan_score is not None and nan_score.score("mouthSmileLeft") == 0.0
    assert largest([{"area": nan}]) is None
    odd = reading({"scores": {"mouthSmileLeft": 7, "nonsense": 1}, "matrix": rotation()}, 0.0)
    assert odd is not None and odd.score("mouthSmileLeft") == 1.0  # clipped
    faces: list[dict[str, float]] = [
        {"area": 0.05, "n": 1},
        {"area": 0.3, "n": 2},
        {"area": 0.1, "n": 3},
        {"n": 4},
    ]
    chosen = largest(faces)
    assert chosen is not None and chosen["n"] == 2
    assert largest([]) is None


def test_a_reading_is_kept_as_numbers_only() -> None:
    record = face(1.0, mouthSmileLeft=0.5).record()
    assert set(record) == {"t", "blendshapes", "yaw", "pitch", "roll", "area"}
    assert len(record["blendshapes"]) == 52


# -- the table -------------------------------------------------------------------------------


def test_each_expression_reads_its_own_blendshapes() -> None:
    neutral = np.zeros(len(BLENDSHAPES), np.float32)
    cases = {
        "smile": {"mouthSmileLeft": 0.8, "mouthSmileRight": 0.7},
        "brows": {"browInnerUp": 0.7, "eyeWideLeft": 0.5, "eyeWideRight": 0.5},
        "frown": {"browDownLeft": 0.6, "browDownRight": 0.6},
        "pursed": {"mouthPucker": 0.8},
    }
    for name, named in cases.items():
        vector = np.zeros(len(BLENDSHAPES), np.float32)
        for key, value in named.items():
            vector[INDEX[key]] = value
        level = expressions.levels(vector, neutral)
        assert expressions.NAMES[int(np.argmax(level))] == name
        assert level.max() >= 0.8


def test_mixtures_are_the_documented_directions_and_scale_with_the_level() -> None:
    assert dict(expressions.mixture("smile", 1.0)) == {"legato": 1.0, "p": 0.5}
    assert dict(expressions.mixture("frown", 1.0)) == {"tenuto": 1.0, "f": 0.7, "adagio": 0.5}
    assert dict(expressions.mixture("pursed", 1.0)) == {"pp": 1.0}
    assert set(dict(expressions.mixture("brows", 1.0))) == {"crescendo", "allegro"}
    assert expressions.mixture("smile", 0.0)[0][1] < expressions.mixture("smile", 1.0)[0][1]


# -- calibration -----------------------------------------------------------------------------


def test_the_neutral_is_the_person_s_own_and_a_smiling_start_is_capped() -> None:
    calibration = Calibration()
    calibration.begin(0.0)
    resting = np.zeros(len(BLENDSHAPES), np.float32)
    resting[INDEX["browInnerUp"]] = 0.25  # this person's brows sit high
    for i in range(int(WINDOW * FPS) + 2):
        calibration.add(i / FPS, resting)
    assert not calibration.calibrating
    assert calibration.neutral[INDEX["browInnerUp"]] == pytest.approx(0.25, abs=0.01)
    smiling = np.zeros(len(BLENDSHAPES), np.float32)
    smiling[INDEX["mouthSmileLeft"]] = 0.9
    calibration.begin(10.0)
    for i in range(int(WINDOW * FPS) + 2):
        calibration.add(10.0 + i / FPS, smiling)
    assert calibration.neutral[INDEX["mouthSmileLeft"]] <= CAP
    assert calibration.holds == 2
    # what the first hold learnt is kept
    assert calibration.baseline[INDEX["browInnerUp"]] > 0.1


# -- nods and shakes -------------------------------------------------------------------------


def nodding(
    hz: float, seconds: float, axis: str = "pitch", degrees: float = 6.0, seed: int = 0
) -> list[Motion]:
    rng = np.random.default_rng(seed)
    motion, out = HeadMotion(), []
    for i in range(int(seconds * FPS)):
        t = i / FPS
        swing = degrees * math.sin(2 * math.pi * hz * t) + rng.normal(0, 0.3)
        drift = 0.5 * t  # the phone slowly tips
        pitch, yaw = (swing + drift, rng.normal(0, 0.3)) if axis == "pitch" else (drift, swing)
        out.append(motion.add(t, pitch, yaw))
    return out


@pytest.mark.parametrize("hz", [0.8, 1.5, 2.0, 2.5])
def test_the_nodding_rate_is_recovered_within_ten_percent(hz: float) -> None:
    motions = nodding(hz, 6.0, seed=int(hz * 10))
    rates = [m.nod_rate for m in motions[-int(2 * FPS) :] if m.nod_rate]
    assert rates, "no rate"
    assert float(np.median(rates)) == pytest.approx(hz, rel=0.1)
    assert not any(m.shake for m in motions)


def test_a_head_shake_is_one_no_and_not_a_nod() -> None:
    motions = nodding(2.0, 1.2, axis="yaw", degrees=12.0)
    assert sum(m.shake for m in motions) == 1
    assert not any(m.nod_rate for m in motions)


def test_a_still_or_drifting_head_makes_no_gesture() -> None:
    motions = nodding(2.0, 5.0, degrees=0.0)
    assert not any(m.shake or m.nod_rate or m.nod for m in motions)


def test_the_nodding_beat_is_taken_at_the_music_s_octave() -> None:
    assert nod_tempo(60.0, 118.0) == pytest.approx(120.0)
    assert nod_tempo(100.0, 96.0) == pytest.approx(100.0)
    assert nod_tempo(130.0, 60.0) == pytest.approx(65.0)
    assert nod_tempo(0.0, 100.0) == 0.0


# -- the reader ------------------------------------------------------------------------------


def held(
    reader: FaceReader, frames: Sequence[Reading | None], tempo: float = 100.0, start: float = 1.0
) -> list[tuple[float, Seen, list[Decision]]]:
    out: list[tuple[float, Seen, list[Decision]]] = []
    for f in frames:
        t = f.t if f is not None else (out[-1][0] if out else start) + 1 / FPS
        seen, decisions = reader.add(t, f, tempo)
        out.append((t, seen, decisions))
    return out


def calibrated_reader() -> tuple[FaceReader, float]:
    reader = FaceReader()
    reader.begin(0.0)
    held(reader, [face(i / FPS) for i in range(int(WINDOW * FPS) + 2)])
    return reader, (int(WINDOW * FPS) + 2) / FPS


def test_a_smile_applies_the_gentle_mixture_once_with_hysteresis() -> None:
    reader, t0 = calibrated_reader()
    frames = [face(t0 + i / FPS, mouthSmileLeft=0.85, mouthSmileRight=0.8) for i in range(20)]
    got = held(reader, frames)
    decisions = [d for _, _, ds in got for d in ds]
    assert len(decisions) == 1
    parsed = decode(decisions[0].directions)
    assert {r.cls for r in parsed.directions} == {"legato", "p"}
    assert decisions[0].words == "smiling → gentler"
    assert got[-1][1].expression == "smile" and got[-1][1].levels[0] > 0.8
    # the smile applied on the second frame in a row, not the first
    assert got[0][2] == [] and got[1][2] != []


def test_a_one_frame_flicker_does_nothing() -> None:
    reader, t0 = calibrated_reader()
    frames = [face(t0 + i / FPS) for i in range(10)]
    frames[4] = face(frames[4].t, mouthSmileLeft=0.9, mouthSmileRight=0.9)
    assert not any(ds for _, _, ds in held(reader, frames))


def test_no_face_or_no_button_applies_nothing() -> None:
    reader, _ = calibrated_reader()
    got = held(reader, [None] * 10)
    assert not any(ds for _, _, ds in got)
    assert got[-1][1].expression == "" and "no face" in got[-1][1].words
    idle = FaceReader()  # never pressed
    smile = [face(i / FPS, mouthSmileLeft=0.9, mouthSmileRight=0.9) for i in range(30)]
    assert not any(ds for _, _, ds in held(idle, smile))
    reader.end()
    assert not any(ds for _, _, ds in held(reader, smile))


def test_a_shake_undoes_the_whole_mixture_the_face_asked_for() -> None:
    reader, t0 = calibrated_reader()
    frames = [face(t0 + i / FPS, mouthSmileLeft=0.9, mouthSmileRight=0.9) for i in range(5)]
    frames += [
        face(t0 + (5 + i) / FPS, yaw=12 * math.sin(2 * math.pi * 2.0 * i / FPS)) for i in range(20)
    ]
    decisions = [d for _, _, ds in held(reader, frames) for d in ds]
    assert [d.words for d in decisions] == ["smiling → gentler", "head shake → undo"]
    assert decisions[1].directions == ("undo", "undo")


def test_nodding_faster_than_the_music_asks_for_a_faster_tempo_within_limits() -> None:
    reader, t0 = calibrated_reader()
    frames = [
        face(t0 + i / FPS, pitch=6 * math.sin(2 * math.pi * 2.0 * i / FPS)) for i in range(90)
    ]
    decisions = [d for _, _, ds in held(reader, frames, tempo=100.0) for d in ds]
    assert decisions, "nodding at 120 a minute against 100 changed nothing"
    first = decode(decisions[0].directions).directions[0]
    assert first.cls == "allegro" and 0 < first.strength <= math.log(1.2) / 0.1 + 0.01
    assert "120" in decisions[0].words
    # nodding at the music's own tempo asks for nothing
    reader2, t1 = calibrated_reader()
    same = [face(t1 + i / FPS, pitch=6 * math.sin(2 * math.pi * 2.0 * i / FPS)) for i in range(90)]
    assert not any(ds for _, _, ds in held(reader2, same, tempo=120.0))


# -- "like this" -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["like this", "Play it like this!", "spiel es so", "genau so", "tócalo así", "вот так"]
)
def test_pointing_words_in_four_languages(text: str) -> None:
    assert points_at_face(text)


@pytest.mark.parametrize(
    "text", ["so leise", "like a lullaby", "louder", "play Bach", "slower", "yes like that"]
)
def test_directions_of_their_own_are_not_pointing(text: str) -> None:
    assert not points_at_face(text)


def test_like_this_takes_the_face_s_mixture() -> None:
    said = Understanding("like this", "en", (Unknown(),))
    got = with_face(said, (("legato", 0.9), ("p", 0.45)))
    assert got.understood and isinstance(got.intents[0], DirectIntent)
    assert [(s.cls, s.strength) for s in got.intents[0].directions] == [
        ("legato", 0.9),
        ("p", 0.45),
    ]
    assert with_face(said, None) is said  # no face: the words alone
    assert with_face(said, (("p", 1.0),), applied=True).by == ALREADY  # said, not done twice
    other = Understanding("louder", "en", (DirectIntent(()),))
    assert with_face(other, (("p", 1.0),)) is other


# -- the model file and the desk ------------------------------------------------------------


def test_a_wrong_model_file_is_refused_with_a_clear_message(tmp_path, monkeypatch) -> None:
    from appliance.errors import ApplianceError
    from appliance.vision import face_model
    from appliance.watching_setup import open_eyes

    monkeypatch.setenv("APPLIANCE_CACHE", str(tmp_path))
    with pytest.raises(ApplianceError, match="missing: install it with `make run`"):
        face_model.installed_model()
    face_model.model_path().parent.mkdir(parents=True)
    face_model.model_path().write_bytes(b"not a model")
    with pytest.raises(ApplianceError, match="damaged or another version"):
        face_model.installed_model()
    said: list[str] = []
    assert open_eyes(None, said.append) is None  # type: ignore[arg-type]
    assert said and said[0].startswith("faces are not read:")


def test_like_this_through_the_desk_takes_that_phone_s_face() -> None:
    from appliance.events import Event
    from appliance.understand.desk import Desk

    acted: list[tuple[Understanding, str | None]] = []
    told: list[Event] = []
    faces = {"phone-1": (("legato", 0.9), ("p", 0.45))}
    desk = Desk(
        lambda text, language: Understanding(text, "en", (Unknown(),)),
        lambda u, who, source, via: acted.append((u, source)),
        lambda u, language: "ok",
        context=lambda u, source: with_face(u, faces.get(source or "")),
    )
    desk.start()
    try:
        desk.submit("play it like this", "en", "Anna", "phone-1", told.append)
        desk.submit("like this", "en", "Ben", "phone-2", told.append)
        assert desk.wait_idle(5)
    finally:
        desk.close()
    assert len(acted) == 1 and acted[0][1] == "phone-1"
    intent = acted[0][0].intents[0]
    assert isinstance(intent, DirectIntent)
    assert [s.cls for s in intent.directions] == ["legato", "p"]
    assert len(told) == 2  # each was answered


def test_oversized_frames_are_not_read() -> None:
    from appliance.vision.watching import MAX_INPUT_PIXELS, Eyes

    class NoWorker:
        calls = 0

        def faces(self, *args: object, **kwargs: object) -> list:
            NoWorker.calls += 1
            return []

    eyes = Eyes(NoWorker(), lambda *a: None, lambda: 0.0)  # type: ignore[arg-type]
    watch = eyes.watch("x", "phone-1", lambda e: None)
    watch.offer(np.zeros((2000, 1100, 3), np.uint8))
    assert MAX_INPUT_PIXELS < 2000 * 1100
    eyes._look(watch)
    assert NoWorker.calls == 0 and eyes.skipped == 1
    watch.offer(np.zeros((480, 640, 3), np.uint8))
    eyes._look(watch)
    assert NoWorker.calls == 1


def test_a_faint_smile_with_one_strong_frame_does_nothing() -> None:
    reader, t0 = calibrated_reader()
    faint = {"mouthSmileLeft": 0.17, "mouthSmileRight": 0.17}  # level about 0.28
    frames = [face(t0 + i / FPS, **faint) for i in range(12)]
    frames[5] = face(frames[5].t, mouthSmileLeft=0.9, mouthSmileRight=0.9)
    assert not any(ds for _, _, ds in held(reader, frames))


def test_a_smile_lost_for_a_moment_and_found_again_is_one_smile() -> None:
    reader, t0 = calibrated_reader()
    smile = {"mouthSmileLeft": 0.85, "mouthSmileRight": 0.85}
    frames: list[Reading | None] = [face(t0 + i / FPS, **smile) for i in range(10)]
    frames += [None] * 15  # a second without the face
    frames += [face(t0 + (25 + i) / FPS + 3.0, **smile) for i in range(10)]
    decisions = [d for _, _, ds in held(reader, frames) for d in ds]
    assert [d.words for d in decisions] == ["smiling → gentler"]


def test_a_shake_in_a_new_hold_or_after_a_refusal_undoes_one_direction() -> None:
    reader, t0 = calibrated_reader()
    smile = [face(t0 + i / FPS, mouthSmileLeft=0.9, mouthSmileRight=0.9) for i in range(4)]
    assert any(ds for _, _, ds in held(reader, smile))
    reader.begin(10.0)  # a new hold
    calm = [face(10.0 + i / FPS) for i in range(10)]
    shake = [
        face(10.7 + i / FPS, yaw=12 * math.sin(2 * math.pi * 2.0 * i / FPS)) for i in range(20)
    ]
    decisions = [d for _, _, ds in held(reader, calm + shake) for d in ds]
    assert [d.directions for d in decisions] == [("undo",)]
    reader2, t1 = calibrated_reader()
    smile2 = [face(t1 + i / FPS, mouthSmileLeft=0.9, mouthSmileRight=0.9) for i in range(4)]
    held(reader2, smile2)
    reader2.refused()  # the conductor did not take it
    shake2 = [
        face(t1 + 1 + i / FPS, yaw=12 * math.sin(2 * math.pi * 2.0 * i / FPS)) for i in range(20)
    ]
    decisions2 = [d for _, _, ds in held(reader2, shake2) for d in ds]
    assert [d.directions for d in decisions2] == [("undo",)]


def test_a_nodding_step_uses_the_measured_effect_of_allegro() -> None:
    reader = FaceReader(allegro_effect=-0.2)
    reader.begin(0.0)
    held(reader, [face(i / FPS) for i in range(int(WINDOW * FPS) + 2)])
    t0 = (int(WINDOW * FPS) + 2) / FPS
    frames = [
        face(t0 + i / FPS, pitch=6 * math.sin(2 * math.pi * 2.0 * i / FPS)) for i in range(90)
    ]
    decisions = [d for _, _, ds in held(reader, frames, tempo=100.0) for d in ds]
    first = decode(decisions[0].directions).directions[0]
    # 100 → at most 120 in one step: ln 1.2 / 0.2 units of allegro
    assert first.strength == pytest.approx(math.log(1.2) / 0.2, abs=0.01)


def test_a_frame_from_before_the_hold_is_not_its_neutral() -> None:
    calibration = Calibration()
    calibration.begin(5.0)
    smiling = np.zeros(len(BLENDSHAPES), np.float32)
    smiling[INDEX["browInnerUp"]] = 0.3
    calibration.add(4.9, smiling)  # read late, from the hold before
    for i in range(int(WINDOW * FPS) + 2):
        calibration.add(5.0 + i / FPS, np.zeros(len(BLENDSHAPES), np.float32))
    assert calibration.neutral[INDEX["browInnerUp"]] == 0.0
