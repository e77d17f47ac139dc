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
    result = appliance("render", str(score), "-o", str(out), "--seed", "3", "--plot", str(png))
    assert result.returncode == 0, result.stdout + result.stderr
    midi = mido.MidiFile(str(out))
    ons = [m for m in midi if m.type == "note_on" and m.velocity > 0]
    assert len(ons) == len(load_score(score).notes)
    assert 60 < midi.length < 600
    assert png.read_bytes()[:4] == b"\x89PNG"
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
    result = appliance("run", "--out", str(tmp_path), "--seed", "7")
    assert result.returncode == 0, result.stdout + result.stderr
    (played,) = tmp_path.glob("*.mid")
    assert (
        len([m for m in mido.MidiFile(str(played)) if m.type == "note_on" and m.velocity > 0])
        == 533
    )
