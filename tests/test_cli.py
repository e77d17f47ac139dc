import subprocess
import sys

import mido

from appliance.score import load_score


def appliance(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_render_a_real_score_end_to_end(shared_root, tmp_path):
    score = shared_root / "asap" / "Chopin" / "Etudes_op_10" / "3" / "xml_score.musicxml"
    out, png = tmp_path / "out.mid", tmp_path / "out.png"
    wav = tmp_path / "out.wav"
    result = appliance(
        "render", str(score), "-o", str(out), "--seed", "3", "--plot", str(png), "--wav", str(wav)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    midi = mido.MidiFile(str(out))
    ons = [m for m in midi if m.type == "note_on" and m.velocity > 0]
    assert len(ons) == len(load_score(score).notes)
    assert 60 < midi.length < 600
    assert png.read_bytes()[:4] == b"\x89PNG"
    import wave

    with wave.open(str(wav)) as w:
        assert abs(w.getnframes() / w.getframerate() - midi.length) < 3.0
    for name in ("deadpan", "mean", "linear"):
        result = appliance(
            "render", str(score), "-o", str(tmp_path / f"{name}.mid"), "--renderer", name
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_bad_input_is_a_message_not_a_traceback(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("not music")
    result = appliance("render", str(bad), "-o", str(tmp_path / "x.mid"))
    assert result.returncode == 1
    text = result.stdout + result.stderr
    assert "not a MusicXML" in text and "Traceback" not in text
    result = appliance("render", str(bad), "-o", str(tmp_path / "x.mid"), "--renderer", "nope")
    assert result.returncode == 1 and "unknown renderer" in result.stdout + result.stderr


def test_score_info_and_run(tmp_path):
    from appliance.library import default_piece

    result = appliance("score", str(default_piece()))
    assert result.returncode == 0 and "533" in result.stdout
    assert "repeats once, with the last ending" in result.stdout
    assert "changed when read" in result.stdout and "nothing" in result.stdout
    result = appliance(
        "run", "--seconds", "5", "--host", "127.0.0.1", "--https-port", "0", "--http-port", "0",
        "--no-advertise", "--no-speaker",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "phones: open https://127.0.0.1:" in result.stdout
    assert "PIN to pair a phone" in result.stdout
    assert "♪ " in result.stdout and "▶ playing" in result.stdout  # a piece started
    import re

    assert re.search(r"played \d+\.\d s of audio: [1-9]\d* notes", result.stdout)
    assert "✓ ready" in result.stdout


def test_play_library_and_devices_from_the_command_line(tmp_path):
    import os
    import wave

    import numpy as np

    env = {**os.environ, "APPLIANCE_DATA": str(tmp_path / "data")}

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "appliance.cli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )

    listed = run("library", "list")
    assert listed.returncode == 0, listed.stderr
    assert "bach-bwv846" in listed.stdout and "Maple Leaf Rag" in listed.stdout
    bad = tmp_path / "bad.txt"
    bad.write_text("no music here")
    added = run("library", "add", str(bad))
    assert added.returncode == 1 and "not added" in added.stderr and "Traceback" not in added.stderr
    assert run("devices").returncode == 0
    wav = tmp_path / "out.wav"
    played = run(
        "play", "the Bach prelude", "--seed", "4", "--no-speaker", "--seconds", "4",
        "--wav", str(wav), stdin="a bit softer\nbar 3\n",
    )  # fmt: skip
    assert played.returncode == 0, played.stdout + played.stderr
    assert "Prelude in C major" in played.stdout
    assert "“a bit softer”: a little softer — from bar" in played.stdout
    assert "⤺ from bar 3" in played.stdout and "bar   3" in played.stdout
    rendered = run("render", "the maple leaf rag", "-o", str(tmp_path / "rag.mid"))
    assert rendered.returncode == 0 and "joplin-maple-leaf-rag" in rendered.stdout
    missing = run("render", "a piece nobody has", "-o", str(tmp_path / "x.mid"))
    assert missing.returncode == 1 and "neither a score file nor a piece" in missing.stderr
    with wave.open(str(wav)) as w:
        pcm = np.frombuffer(w.readframes(w.getnframes()), "<i2")
    assert np.abs(pcm).max() > 100


def test_library_add_refuses_a_hostile_score_and_survives_a_damaged_index(tmp_path):
    import os

    from export import hostile_files as hostile

    score = tmp_path / "zero.mid"
    score.write_bytes(hostile.midi_zero_numerator())
    (tmp_path / "data" / "library").mkdir(parents=True)
    (tmp_path / "data" / "library" / "index.json").write_text("{damaged")
    result = subprocess.run(
        [sys.executable, "-m", "appliance.cli", "library", "add", str(score)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "APPLIANCE_DATA": str(tmp_path / "data"), "COLUMNS": "300"},
    )
    said = " ".join((result.stdout + result.stderr).split())
    assert result.returncode == 1 and "Traceback" not in said
    assert "index.json is damaged" in said and "starts again from the shipped pieces" in said
    assert "not added" in said and "0 beats in a bar" in said
