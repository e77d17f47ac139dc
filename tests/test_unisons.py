"""A unison written in two voices (the same key at the same time) sounds once: in the loaded
score, the renderer, the engine's MIDI and audio path, and the MIDI/WAV export."""

import subprocess
import sys
from pathlib import Path

import mido
import numpy as np

from appliance.library import open_library
from appliance.render.base import Style, render_all
from appliance.render.midi import midi_events
from appliance.render.registry import get_renderer
from appliance.score import load_trusted_score
from tests import scores
from tests.rigs import Rig

C5 = 72


def _voice(notes: str, voice: int) -> str:
    return notes.replace("<voice>1</voice>", f"<voice>{voice}</voice>")


def unison_score() -> str:
    """Two bars of 4/4: voice 1 holds C5 for a half note, then D5, E5; voice 2 plays C5 as a
    quarter at the same time (the unison), then A4, G4, F4. Bar 2 repeats it."""
    upper = scores.note("C", 5, 4, "half") + scores.note("D", 5) + scores.note("E", 5)
    lower = scores.note("C", 5) + scores.note("A", 4) + scores.note("G", 4) + scores.note("F", 4)
    bar = upper + "<backup><duration>8</duration></backup>" + _voice(lower, 2)
    return (
        scores.HEAD
        + '<measure number="1">'
        + scores.ATTRIBUTES.format(beats=4)
        + bar
        + '</measure><measure number="2">'
        + bar
        + "</measure>"
        + scores.TAIL
    )


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "unison.musicxml"
    path.write_text(unison_score())
    return path


def test_the_loaded_score_holds_one_key_per_unison(tmp_path):
    notes = load_trusted_score(_write(tmp_path)).notes
    at_c5 = notes[notes["pitch"] == C5]
    assert list(at_c5["onset_quarter"]) == [0.0, 4.0]  # once per bar, not twice
    assert list(at_c5["duration_quarter"]) == [2.0, 2.0]  # the held (longer) copy
    assert len(notes) == 12  # 7 notes a bar written, one of them the unison copy


def test_renderer_engine_and_exports_strike_the_key_once(tmp_path, library, synth):
    path = _write(tmp_path)
    score = load_trusted_score(path)
    perf = render_all(get_renderer("neural"), score, Style(seed=2))
    events = midi_events(perf.notes, perf.performed)
    assert sum(1 for e in events if e.kind == "note_on" and e.pitch == C5) == 2

    # The export: MIDI file and WAV from the command line.
    out, wav = tmp_path / "out.mid", tmp_path / "out.wav"
    result = subprocess.run(
        [sys.executable, "-m", "appliance.cli", "render", str(path), "-o", str(out),
         "--wav", str(wav), "--seed", "2"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    ons = [m for m in mido.MidiFile(str(out)) if m.type == "note_on" and m.velocity > 0]
    assert sum(1 for m in ons if m.note == C5) == 2 and len(ons) == 12
    assert wav.stat().st_size > 44

    # The engine, as the box plays it (through its library).
    own = open_library(tmp_path / "library")
    piece = own.add_file(path, title="Unison study", trusted=True)
    rig = Rig(own, synth)
    rig.select(piece.id, seed=2)
    audio = rig.run(6.0)
    strikes = [e for e in rig.midi.events if e.kind == "note_on" and e.pitch == C5]
    assert len(strikes) == 2
    assert np.abs(audio).max() > 0.01  # and it was heard
