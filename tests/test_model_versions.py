"""Versions of the neural renderer: made, checked, chosen, rolled back, carried to another box
as an archive, and switched while the music plays (real ONNX models, FluidSynth, threads)."""

import json
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from appliance.audio.producer import Producer
from appliance.audio.sinks import MemorySink, MidiSink
from appliance.directions.steer import SteeringVectors
from appliance.errors import ApplianceError
from appliance.events import Notice, Problem
from appliance.library.choose import choose_piece
from appliance.midi import MidiKind
from appliance.paths import models_dir
from appliance.perform.engine import Engine
from appliance.perform.model_watch import ModelWatch
from appliance.render.registry import neural_renderer, steering_file
from appliance.render.versions import SHIPPED, ModelVersions
from tests.rigs import Recorder

SHIPPED_FOLDER = models_dir() / "renderer"


def _variant(tmp_path: Path, spread: float) -> Path:
    """A renderer folder that plays differently from the shipped one (another spread)."""
    folder = tmp_path / f"variant-{spread}"
    shutil.copytree(SHIPPED_FOLDER, folder, dirs_exist_ok=True)
    meta = json.loads((folder / "renderer.json").read_text())
    meta["runtime"]["spread"] = spread
    (folder / "renderer.json").write_text(json.dumps(meta))
    (folder / "directions.json").unlink()  # the parent's vectors are kept
    return folder


@pytest.fixture
def versions(tmp_path):
    return ModelVersions(tmp_path / "box" / "models", SHIPPED_FOLDER)


def test_a_new_version_is_kept_checked_chosen_and_rolled_back(tmp_path, versions):
    assert [v.version for v in versions.all()] == [SHIPPED]
    assert versions.active()[0].version == SHIPPED
    made = versions.add(_variant(tmp_path, 0.0), SHIPPED, "spread 0")
    assert made.parent == SHIPPED and made.note == "spread 0"
    assert (made.folder / "directions.json").read_bytes() == (
        SHIPPED_FOLDER / "directions.json"
    ).read_bytes()
    assert versions.add(_variant(tmp_path, 0.0), SHIPPED, "again").version == made.version
    assert [v.version for v in versions.all()] == [SHIPPED, made.version]

    versions.use(made.version)
    assert versions.active() == (made, None)
    assert versions.rollback().version == SHIPPED
    assert versions.active_name() == SHIPPED
    with pytest.raises(ApplianceError, match="no earlier model version"):
        versions.rollback()
    with pytest.raises(ApplianceError, match="no model version 'nope'"):
        versions.use("nope")
    with pytest.raises(ApplianceError, match="not a version name"):
        versions.use("../escape")


def test_a_damaged_version_is_refused_and_the_shipped_one_plays(tmp_path, versions):
    made = versions.add(_variant(tmp_path, 0.0), SHIPPED)
    versions.use(made.version)
    graph = made.folder / "decoder_step.int8.onnx"
    graph.write_bytes(graph.read_bytes()[:-10] + b"0123456789")
    version, problem = versions.active()
    assert version.version == SHIPPED
    assert problem is not None and "decoder_step.int8.onnx is damaged" in problem
    with pytest.raises(ApplianceError, match="is damaged"):
        versions.use(made.version)
    graph.unlink()
    with pytest.raises(ApplianceError, match="is missing"):
        versions.use(made.version)


def test_an_archive_carries_a_version_to_another_box(tmp_path, versions):
    made = versions.add(_variant(tmp_path, 0.0), SHIPPED, "from room 1")
    archive = tmp_path / "model.zip"
    sha = versions.export(made.version, archive)
    other = ModelVersions(tmp_path / "box2" / "models", SHIPPED_FOLDER)
    with pytest.raises(ApplianceError, match="not the"):
        other.install(archive, "0" * 64)
    installed = other.install(archive, sha)
    assert (installed.version, installed.note, installed.files) == (
        made.version,
        "from room 1",
        made.files,
    )
    assert other.install(archive).version == made.version  # again: nothing changes
    other.use(installed.version)
    assert other.active()[1] is None


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_hostile_archives_are_refused_and_leave_nothing(tmp_path, versions):
    made = versions.add(_variant(tmp_path, 0.0), SHIPPED)
    good = tmp_path / "good.zip"
    versions.export(made.version, good)
    with zipfile.ZipFile(good) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    other = ModelVersions(tmp_path / "other", SHIPPED_FOLDER)
    cases = {
        "not a model archive": tmp_path / "plain.zip",
        "unexpected member": _zip(tmp_path / "slip.zip", {**members, "../evil": b"x"}),
        "do not match": _zip(
            tmp_path / "tampered.zip", {**members, "renderer.json": members["renderer.json"] + b" "}
        ),
        "unpacks too large": _zip(tmp_path / "bomb.zip", {**members, "a": bytes(65 << 20)}),
        "no valid version.json": _zip(
            tmp_path / "bare.zip", {n: d for n, d in members.items() if n != "version.json"}
        ),
    }
    (tmp_path / "plain.zip").write_bytes(b"PK\x03\x04 not really a zip")
    extra = (tmp_path / "bomb.zip").stat().st_size - good.stat().st_size
    assert extra < 1 << 20  # 65 MB unpacked, small on disk
    for message, archive in cases.items():
        with pytest.raises(ApplianceError, match=message):
            other.install(archive)
    assert [v.version for v in other.all()] == [SHIPPED]
    assert not [p for p in other.root.iterdir() if p.name != "active.json"]


def test_the_model_command_lists_uses_and_rolls_back(tmp_path):
    env_root = tmp_path / "data"
    box = ModelVersions(env_root / "models" / "renderer", SHIPPED_FOLDER)
    made = box.add(_variant(tmp_path, 0.0), SHIPPED, "spread 0")

    def appliance(*args: str) -> subprocess.CompletedProcess:
        env = {"APPLIANCE_DATA": str(env_root), "COLUMNS": "200", "PATH": "/usr/bin:/bin"}
        return subprocess.run(
            [sys.executable, "-m", "appliance.cli", "model", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    listed = appliance("list")
    assert listed.returncode == 0, listed.stderr
    assert "▶" in listed.stdout and made.version in listed.stdout and "spread 0" in listed.stdout
    used = appliance("use", made.version)
    assert used.returncode == 0 and box.active_name() == made.version
    back = appliance("rollback")
    assert back.returncode == 0 and box.active_name() == SHIPPED
    wrong = appliance("use", "nope")
    assert wrong.returncode == 1 and "no model version 'nope'" in wrong.stdout + wrong.stderr
    assert "Traceback" not in wrong.stdout + wrong.stderr


class TimedMidi(MidiSink):
    """Each note-on with the play clock at the end of the block that sent it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.sent: list[tuple[float, float, int]] = []  # (clock, note time, note index)

    def send(self, events):
        clock = self.engine.clock
        self.sent += [(clock, e.time, e.note) for e in events if e.kind is MidiKind.NOTE_ON]


def test_switching_versions_while_playing_leaves_no_gap(tmp_path, library, synth):
    """The box plays in real time (producer and render-ahead threads); a new version is
    chosen mid-piece and the watcher switches to it: every note of the piece up to then sounds
    once, in order, in the block it is due (no gap, nothing late), the notes after the switch
    come from the new version, and the audio never fell behind."""
    versions = ModelVersions(tmp_path / "models", SHIPPED_FOLDER)
    made = versions.add(_variant(tmp_path, 0.0), SHIPPED)
    bus = Recorder()
    engine = Engine(
        neural_renderer(versions.shipped()),
        library,
        bus,
        SteeringVectors.load(steering_file(versions.shipped())),
    )
    watch = ModelWatch(engine, versions, SHIPPED, bus.publish)
    midi = TimedMidi(engine)
    producer = Producer(engine.advance, synth, [MemorySink()], [midi])
    engine.load(choose_piece(library, "bach prelude"), seed=3, play=False)
    engine.start()
    producer.start()
    engine.play()
    try:
        time.sleep(2.0)
        assert not watch.check()  # nothing new chosen
        versions.use(made.version)
        switched = threading.Event()
        switching = threading.Thread(target=lambda: watch.check() and switched.set())
        switching.start()
        switching.join(30)
        at_switch = engine.clock
        time.sleep(2.0)
    finally:
        producer.stop()
        engine.close()
    assert switched.is_set() and watch.playing == made.version
    assert engine.current is not None and engine.current.stream.renderer is engine.renderer
    assert getattr(engine.renderer, "version", None) == made.version
    assert any(isinstance(e, Notice) and made.version in e.message for e in bus.events)
    assert not [e for e in bus.events if isinstance(e, Problem)]

    played = [note for _, _, note in midi.sent]
    assert len(set(played)) == len(played)  # none struck twice
    assert set(range(max(played) - 8)) <= set(played)  # none left out (the last few may wait)
    assert engine.clock > at_switch + 1.5 and midi.sent[-1][0] > at_switch + 1.0
    block = producer.block / producer.rate
    late = [(c, t) for c, t, _ in midi.sent if t < c - 2 * block]
    assert not late, late[:5]
    onsets = np.array([t for _, t, _ in midi.sent])
    assert np.diff(onsets).max() < 0.6  # a prelude in even semiquavers: never a hole
    assert producer.most_late < 0.1 and producer.failed_blocks == 0

    # the notes after the switch are the new version's: spread 0 renders them differently
    stream = engine.current.stream
    first_new = next(n for c, _, n in midi.sent if c > at_switch + 0.3)
    old = neural_renderer(versions.shipped())
    again = old.expression(
        stream.score.notes, engine.style, stream.expression[:first_new], first_new + 8
    )
    assert not np.allclose(again["velocity"], stream.expression["velocity"][first_new:][:8])


def test_a_version_that_cannot_load_is_said_once_and_the_music_plays_on(tmp_path, library):
    versions = ModelVersions(tmp_path / "models", SHIPPED_FOLDER)
    made = versions.add(_variant(tmp_path, 0.0), SHIPPED)
    bus = Recorder()
    renderer = neural_renderer(versions.shipped())
    engine = Engine(renderer, library, bus)
    watch = ModelWatch(engine, versions, SHIPPED, bus.publish)
    versions.use(made.version)
    (made.folder / "encoder.int8.onnx").write_bytes(b"not a graph")
    assert not watch.check() and not watch.check()
    problems = [e for e in bus.events if isinstance(e, Problem)]
    assert len(problems) == 1 and "is damaged" in problems[0].message
    assert engine.renderer is renderer and watch.playing == SHIPPED


def test_a_version_that_fails_on_the_music_playing_is_refused_and_the_old_one_plays_on(
    tmp_path, library
):
    """A version that loads and passes its checksums but cannot render the piece playing (a
    model made for other score features, an onnxruntime error): the switch is undone, said
    once, not tried again every look, and the old model renders the rest."""
    versions = ModelVersions(tmp_path / "models", SHIPPED_FOLDER)
    made = versions.add(_variant(tmp_path, 0.0), SHIPPED)
    bus = Recorder()
    renderer = neural_renderer(versions.shipped())
    engine = Engine(renderer, library, bus)
    engine.load(choose_piece(library, "bach prelude"), seed=3, play=False)

    class Broken:
        steerable = False
        version = made.version

        def expression(self, *args, **kwargs):
            raise RuntimeError("[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Got invalid dimensions")

    tries = []

    def load(version):
        tries.append(version.version)
        return Broken()

    watch = ModelWatch(engine, versions, SHIPPED, bus.publish, load=load)
    versions.use(made.version)
    assert not watch.check() and not watch.check()
    assert tries == [made.version]  # refused once, not reloaded every look
    problems = [e for e in bus.events if isinstance(e, Problem)]
    assert len(problems) == 1 and "cannot play this music" in problems[0].message
    assert engine.renderer is renderer and watch.playing == SHIPPED
    current = engine.current
    assert current is not None and current.stream.renderer is renderer
    assert len(current.stream.render_next(8)) == 8  # the old model renders on
    # another piece: the version is tried again (it may play that one), and said again
    engine.load(choose_piece(library, "maple leaf rag"), seed=3, play=False)
    assert not watch.check() and tries == [made.version, made.version]
    assert len([e for e in bus.events if isinstance(e, Problem)]) == 2


def test_a_switch_that_fails_halfway_is_undone(tmp_path, library):
    """A renderer that reads the piece but fails on the switch's own render: the engine is put
    back as it was (renderer, style, the stream's renderer) and the old model renders on."""
    versions = ModelVersions(tmp_path / "models", SHIPPED_FOLDER)
    bus = Recorder()
    vectors = SteeringVectors.load(steering_file(versions.shipped()))
    renderer = neural_renderer(versions.shipped())
    engine = Engine(renderer, library, bus, vectors)
    engine.load(choose_piece(library, "bach prelude"), seed=3, play=False)
    style, current = engine.style, engine.current
    assert current is not None

    class FailsSecond:
        steerable = True
        calls = 0

        def expression(self, *args, **kwargs):
            FailsSecond.calls += 1
            if FailsSecond.calls == 1:
                return renderer.expression(*args, **kwargs)
            raise RuntimeError("out of memory")

        def __getattr__(self, name):
            return getattr(renderer, name)

    with pytest.raises(RuntimeError, match="out of memory"):
        engine.use_renderer(FailsSecond(), vectors)
    assert FailsSecond.calls >= 2
    assert engine.renderer is renderer and engine.vectors is vectors and engine.style == style
    assert engine.current is current and current.stream.renderer is renderer
    assert len(current.stream.render_next(8)) == 8
