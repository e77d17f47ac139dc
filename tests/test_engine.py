"""The performance engine with the real renderer and real FluidSynth, driven block by block."""

import time
from pathlib import Path

import numpy as np
import pytest

from appliance.events import DirectionApplied, NowPlaying, PieceEnded, Position, TransportChanged
from appliance.perform.gain import Ducker, Ramp, db_to_gain
from appliance.perform.schedule import Schedule
from tests.notetables import table
from tests.rigs import RATE, Rig, rms


def test_sound_starts_pauses_with_a_fade_and_resumes(library, synth):
    rig = Rig(library, synth)
    rig.select("bach prelude", seed=1)
    assert rms(rig.run(1.0)) > 0.003
    rig.engine.pause()
    fade = rig.run(0.1)
    assert rms(fade[-1920:]) == 0.0  # silent after the 60 ms fade
    assert np.abs(fade[:240]).max() > 0  # but not cut off at once
    clock = rig.engine.clock
    assert rms(rig.run(0.5)) == 0.0 and rig.engine.clock == clock  # the clock stops
    rig.engine.play()
    assert rms(rig.run(0.7)) > 0.003
    states = [e.state for e in rig.bus.events if isinstance(e, TransportChanged)]
    assert states == ["playing", "paused", "playing"]


def directed_after_two_seconds(library, synth, words: str, then: float):
    """The Maple Leaf Rag played twice alike, ``words`` said to the second after two seconds;
    both then play ``then`` seconds more. Returns both rigs and the first note directed."""
    plain, steered = Rig(library, synth), Rig(library, synth)
    for rig in (plain, steered):
        rig.select("joplin-maple-leaf-rag", seed=5)
        rig.run(2.0)
    first = steered.engine.direct(words)
    for rig in (plain, steered):
        rig.run(then)
    return plain, steered, first


def test_a_direction_changes_only_notes_after_the_command(library, synth):
    plain, steered, first = directed_after_two_seconds(library, synth, "much softer", 4.0)
    a = [e for e in plain.midi.events if e.kind == "note_on"]
    b = [e for e in steered.midi.events if e.kind == "note_on"]
    before_a = [e for e in a if e.note < first]
    before_b = [e for e in b if e.note < first]
    assert before_a == before_b and len(before_a) > 10
    after_a = np.array([e.value for e in a if e.note >= first])
    after_b = np.array([e.value for e in b if e.note >= first])
    assert len(after_b) > 20
    assert after_b.mean() < after_a.mean() - 2
    applied = [e for e in steered.bus.events if isinstance(e, DirectionApplied)]
    assert applied[0].first_note == first and "p +2.00 from_now" in applied[0].directions


def test_a_level_moves_the_tempo_towards_itself_from_where_it_is(library, synth):
    """ "Andante" in the middle of the Maple Leaf Rag (2/4: andante is 84 quarters a minute):
    the notes after the command are played nearer that tempo than without it."""
    plain, steered, first = directed_after_two_seconds(library, synth, "andante", 6.0)
    beats = steered.engine.score.notes["onset_beat"]

    def tempo(rig: Rig) -> float:  # quarters per minute over the 40 notes from the 8th after
        on = {e.note: e.time for e in rig.midi.events if e.kind == "note_on"}
        a, b = first + 8, first + 48
        return 60.0 * float(beats[b] - beats[a]) / (on[b] - on[a])

    assert abs(np.log(tempo(steered) / 84.0)) < abs(np.log(tempo(plain) / 84.0))
    applied = [e for e in steered.bus.events if isinstance(e, DirectionApplied)]
    assert applied[0].directions == ("andante +1.00 from_now",)


def test_seek_to_a_bar_and_back_to_the_beginning(library, synth):
    rig = Rig(library, synth)
    rig.select("bach-bwv846", seed=2)
    rig.run(1.0)
    first = rig.engine.seek("bar", 5)
    notes = rig.engine.score.notes
    assert notes["bar_number"][first] == 5 and (first == 0 or notes["bar_number"][first - 1] != 5)
    rig.midi.events.clear()
    rig.run(0.5)
    ons = [e for e in rig.midi.events if e.kind == "note_on"]
    assert ons and ons[0].note == first
    rig.engine.seek("beginning")
    rig.midi.events.clear()
    rig.run(0.3)
    assert next(e.note for e in rig.midi.events if e.kind == "note_on") == 0
    bars = [e.bar for e in rig.bus.events if isinstance(e, Position)]
    assert bars[:3] == [1, 5, 1]


def test_at_the_end_the_engine_alone_reports_and_falls_silent_without_rendering(library, synth):
    """The piece-end case on the audio side: the engine says the piece ended and stops; it
    renders nothing there (what follows is the box's piece-end policy, a queued command —
    tests/test_conductor.py)."""
    rig = Rig(library, synth)
    rig.select("schoenberg op. 19 no. 6", seed=3)
    last_bar = int(rig.engine.score.notes["bar_number"].max())
    rig.engine.seek("bar", last_bar)
    renders = []
    stream = rig.engine.current.stream
    real_render = stream.render_next
    for _ in range(300):
        rig.run(0.1)
        if any(isinstance(e, PieceEnded) for e in rig.bus.events):
            break
    stream.render_next = lambda count: renders.append(count) or real_render(count)
    rig.producer.make_block()
    assert [e.piece_id for e in rig.bus.events if isinstance(e, PieceEnded)] == [
        "schoenberg-op19-6"
    ]
    assert rig.engine.state == "stopped" and rig.bus.events[-1] == TransportChanged("stopped")
    assert renders == []


def test_stop_silences_and_goes_back_to_the_start(library, synth):
    rig = Rig(library, synth)
    rig.select("bach-bwv846", seed=2)
    rig.run(1.0)
    rig.engine.stop()
    assert rms(rig.run(0.3)) == 0.0 and rig.engine.state == "stopped"
    rig.engine.play()
    rig.midi.events.clear()
    rig.run(0.3)
    assert next(e.note for e in rig.midi.events if e.kind == "note_on") == 0


def test_ducking_reaches_its_depth_within_50_ms_and_comes_back():
    ducker = Ducker(RATE)
    ducker.duck()
    gains = np.concatenate([ducker.block(480) for _ in range(5)])  # 50 ms
    assert gains[-1] == pytest.approx(db_to_gain(ducker.settings.depth_db))
    hold = ducker.settings.hold + ducker.settings.release
    later = np.concatenate([ducker.block(480) for _ in range(int(hold * 100) + 10)])
    assert later[-1] == 1.0 and np.all(np.diff(later) >= -1e-7)  # smooth, no jump down


def test_ramp_moves_linearly_to_its_target():
    ramp = Ramp(1.0)
    ramp.to(0.0, 0.01, RATE)
    block = ramp.block(960)
    assert block[0] < 1.0 and block[479] == 0.0 and ramp.settled


def test_schedule_cuts_only_notes_not_started():
    notes = table([0, 1, 2, 3])
    perf = np.zeros(4, dtype=[("onset", "f8"), ("duration", "f8"), ("velocity", "i2"),
                               ("pedal", "f4")])  # fmt: skip
    perf["onset"] = [0.0, 0.5, 1.0, 1.5]
    perf["duration"] = 0.8
    perf["velocity"] = 60
    s = Schedule()
    s.add(notes, perf, 0, offset=10.0)
    assert s.due(10.6)[0].note == 0
    assert s.first_unstarted() == 2
    s.cut(1)  # note 1 has started: its note-off stays
    left = s.due(100.0)
    assert [(e.kind, e.note) for e in left] == [("note_off", 0), ("note_off", 1)]
    assert s.first_unstarted() is None


def test_engine_commands_through_events(library, synth):
    from appliance.errors import ApplianceError
    from appliance.events import Direct, Seek, Volume

    rig = Rig(library, synth)
    rig.select("maple leaf rag", seed=1)
    rig.engine.command(Volume(50))
    with pytest.raises(ApplianceError, match="no bar 9999"):
        rig.engine.command(Seek("bar", 9999))
    with pytest.raises(ApplianceError, match="not a direction"):
        rig.engine.command(Direct("blorp zzz"))
    assert rig.engine.piece.id == "joplin-maple-leaf-rag"


def test_wav_export_path(tmp_path: Path, library, synth):
    from appliance.audio.sinks import WavRecorder

    rig = Rig(library, synth)
    wav = WavRecorder(tmp_path / "out.wav")
    rig.producer.audio_sinks.append(wav)
    rig.select("bach-bwv846", seed=1)
    rig.run(1.0)
    wav.close()
    import wave

    with wave.open(str(tmp_path / "out.wav")) as w:
        assert w.getframerate() == RATE and w.getnchannels() == 2
        assert w.getnframes() == 100 * 480


def test_midi_out_sends_the_performance_to_a_port_chosen_by_name(library, synth):
    import tests.midi_loopback as loopback
    from appliance.audio.midi_out import MidiOut, list_ports
    from appliance.errors import ApplianceError

    assert list_ports("tests.midi_loopback") == [loopback.NAME]
    with pytest.raises(ApplianceError, match="no MIDI output port 'Organ'"):
        MidiOut("Organ", backend="tests.midi_loopback")
    port = MidiOut("piano", backend="tests.midi_loopback")  # part of the name is enough
    assert port.port_name == loopback.NAME
    rig = Rig(library, synth)
    rig.producer.midi_sinks.append(port)
    rig.select("bach-bwv846", seed=1)
    loopback.SENT.clear()
    rig.run(2.0)
    ons = [m for m in loopback.SENT if m.type == "note_on"]
    assert len(ons) > 5 and ons[0].note == rig.engine.score.notes["pitch"][0]
    rig.engine.pause()
    rig.run(0.2)
    assert any(m.type == "control_change" and m.control == 123 for m in loopback.SENT)


def _velocities_after_restart(library, synth, words: list[str]) -> np.ndarray:
    rig = Rig(library, synth)
    rig.select("bach-bwv846", seed=1)
    rig.run(3.0)
    for w in words:
        rig.engine.direct(w)
    rig.run(1.0)
    rig.engine.stop()
    rig.engine.play()
    start = len(rig.midi.events)
    rig.run(5.0)
    return np.array([e.value for e in rig.midi.events[start:] if e.kind == "note_on"])


def test_stop_then_play_keeps_the_directions_unless_back_to_normal(library, synth):
    plain = _velocities_after_restart(library, synth, [])
    softer = _velocities_after_restart(library, synth, ["much softer"])
    normal = _velocities_after_restart(library, synth, ["much softer", "back to normal"])
    n = min(len(plain), len(softer))  # softer also plays a little slower
    assert n > 10
    assert softer[:n].mean() < plain[:n].mean() - 3
    assert np.array_equal(normal, plain)


def test_volume_scales_the_output(library, synth):
    rig = Rig(library, synth)
    rig.select("bach-bwv846", seed=1)
    full = rms(rig.run(1.0))
    rig.engine.set_volume(100)
    rig.run(0.3)
    loud = rms(rig.run(1.0))
    rig.engine.set_volume(50)
    rig.run(0.3)
    half = rms(rig.run(1.0))
    assert loud > full > half > 0 and half / loud < 0.4  # 50 % is about −12 dB


def test_a_slow_direction_never_strikes_a_note_twice(library, synth):
    """Planning a direction took 300 ms (a busy CPU) while the music moved on: the notes that
    started meanwhile are not re-rendered, so none is struck a second time."""
    from collections import Counter

    rig = Rig(library, synth)
    rig.select("maple leaf rag", seed=3)
    rig.run(2.0)
    steering = rig.engine.steering
    assert steering is not None
    apply = steering.apply

    def slow_apply(*args, **kwargs):
        for _ in range(30):  # 300 ms of audio go by while the direction is planned
            rig.producer.make_block()
        return apply(*args, **kwargs)

    steering.apply = slow_apply
    struck_before = len([e for e in rig.midi.events if e.kind == "note_on"])
    rig.engine.direct("much louder")
    rig.run(2.0)
    struck = Counter(e.note for e in rig.midi.events if e.kind == "note_on" and e.note >= 0)
    twice = [note for note, n in struck.items() if n > 1]
    assert len([e for e in rig.midi.events if e.kind == "note_on"]) > struck_before + 20
    assert twice == []


def test_pieces_replaced_while_the_audio_side_plays_never_mix(library, synth):
    """The audio side makes blocks without pause while pieces are loaded one after another on
    another thread: no block fails, and every bar reported belongs to the piece announced last
    (the piece, score and stream are swapped as one)."""
    import threading

    rig = Rig(library, synth)
    rig.select("bach-bwv846", seed=1)
    done = threading.Event()

    def audio_side() -> None:
        while not done.is_set():
            rig.engine.render_ahead()
            rig.producer.make_block()

    thread = threading.Thread(target=audio_side)
    failures = []
    real = rig.producer.make_block

    def checked_block():
        try:
            return real()
        except Exception as exc:  # what the producer's own loop would only count
            failures.append(exc)
            raise

    rig.producer.make_block = checked_block
    thread.start()
    try:
        for i, query in enumerate(["maple leaf rag", "schoenberg op. 19 no. 6", "mozart"] * 3):
            rig.select(query, seed=i)
            time.sleep(0.05)
    finally:
        done.set()
        thread.join(10)
    assert failures == []
    bars = None
    for event in rig.bus.events:
        if isinstance(event, NowPlaying):
            bars = event.bars
        elif isinstance(event, Position):
            assert bars is not None and 0 <= event.bar <= bars + 1, event
