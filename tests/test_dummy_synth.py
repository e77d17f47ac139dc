"""Timing of the real engine and audio producer, heard through the stand-in synthesiser
(:mod:`tests.dummy_synth`, no FluidSynth): notes arrive in time order at the frames the schedule
says, a pause fades out within its fade and stops the clock, stop and seek start again
``START_LEAD`` after the command. Most tests play a made-up scale with the deadpan renderer, so
that every expected frame is known; one plays a shipped piece with the neural renderer."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest

# The engine side is being reorganised: every name it provides is imported here, and only here.
from appliance.audio.producer import Producer
from appliance.audio.sinks import MemorySink
from appliance.audio.synth import Synth
from appliance.library.catalog import Library, Piece
from appliance.midi import MidiEvent, MidiKind, note_off, note_on, pedal
from appliance.perform.engine import PAUSE_FADE, START_LEAD, Engine, EngineSettings
from appliance.render.registry import get_renderer
from appliance.score.notes import Score
from tests.dummy_synth import CLICK, CLICK_FRAMES, HOLD, RATE, DummySynth
from tests.notetables import chords, table

BLOCK = 480
LEAD = round(START_LEAD * RATE)  # frames from a start, stop or seek to the first note
STEP = 0.25  # seconds between the scale's notes (eighths at the deadpan 120 quarters a minute)


def performed_onsets(engine: Engine) -> np.ndarray:
    """Piece time of every note rendered so far."""
    current = engine.current
    assert current is not None
    return np.maximum(current.stream.performed["onset"], 0.0)


class OnePiece(Library):
    """A library of one made-up piece, ``piece``: by default a scale of 32 notes a half quarter
    apart (four bars)."""

    def __init__(self, folder: Path, notes: np.ndarray | None = None) -> None:
        super().__init__(folder)
        self.pieces = {"piece": Piece("piece", "A made-up piece")}
        onsets = [i * 0.5 for i in range(32)]
        scale = table(onsets, [60 + i % 24 for i in range(32)], [0.5] * 32)
        self.notes = scale if notes is None else notes

    def load(self, piece: Piece) -> Score:
        return Score(self.notes, title=piece.title)


class Player:
    """The engine and the producer, driven block by block; the render-ahead step runs before
    every block, as if its thread were never late."""

    def __init__(self, library: Library, renderer: str = "deadpan") -> None:
        self.synth = DummySynth()
        self.engine = Engine(get_renderer(renderer), library, settings=EngineSettings(volume=100))
        self.sink = MemorySink()
        # the producer is typed for the real synthesiser; the stand-in has its interface
        self.producer = Producer(self.engine.advance, self.synth, [self.sink])

    @property
    def frame(self) -> int:
        return self.synth.frame

    def run(self, seconds: float) -> None:
        for _ in range(round(seconds * RATE / BLOCK)):
            while self.engine.render_ahead():
                pass
            self.producer.make_block()

    def audio(self, since: int = 0) -> np.ndarray:
        return self.sink.audio()[since:, 0]


@pytest.fixture
def scale(tmp_path: Path) -> Player:
    player = Player(OnePiece(tmp_path))
    player.engine.load(player.engine.library.pieces["piece"], seed=1)
    return player


def near(frame: int, expected: float) -> bool:
    """The engine places an event by truncating its time to a frame: one frame either way."""
    return abs(frame - expected) <= 1


# -- the stand-in itself ----------------------------------------------------------------------


def test_the_stand_in_has_the_synthesisers_interface() -> None:
    for name in ("send", "silence", "render", "close"):
        real = list(inspect.signature(getattr(Synth, name)).parameters)
        assert list(inspect.signature(getattr(DummySynth, name)).parameters) == real, name
    synth = DummySynth()
    assert synth.rate == RATE and synth.level == 1.0


def test_the_stand_in_records_arrivals_and_sounds_a_click_scaled_by_velocity() -> None:
    synth = DummySynth()
    assert not synth.render(100).any()
    loud, soft = note_on(0.0, 69, 127, 0), note_on(0.0, 57, 64, 1)
    synth.send(loud)
    a = synth.render(200)[:, 0]
    assert a[0] == pytest.approx(CLICK) and np.abs(a[CLICK_FRAMES:]).max() <= HOLD + 1e-7
    synth.send(soft)
    b = synth.render(200)[:, 0]
    assert b[0] == pytest.approx(CLICK * 64 / 127 + HOLD * np.cos(2 * np.pi * 440 * 200 / RATE))
    synth.send(note_off(0.0, 69, 0))
    synth.send(note_off(0.0, 57, 1))
    assert not synth.render(50).any()
    assert synth.received == [(100, loud), (300, soft), (500, note_off(0.0, 69, 0)),
                              (500, note_off(0.0, 57, 1))]  # fmt: skip
    assert synth.note_ons() == [(100, loud), (300, soft)] and synth.note_ons(101) == [(300, soft)]
    again = DummySynth()
    again.render(100)
    again.send(loud)
    assert np.array_equal(again.render(200)[:, 0], a)  # the same every time


def test_the_pedal_holds_released_keys_until_it_is_lifted_and_silence_ends_everything() -> None:
    synth = DummySynth()
    synth.send(pedal(0.0, 127))
    synth.send(note_on(0.0, 60, 100, 0))
    synth.send(note_off(0.0, 60, 0))
    synth.send(note_on(0.0, 64, 100, 1))
    assert synth.render(100).any() and set(synth.keys) == {60, 64}
    synth.send(pedal(0.0, 0))
    assert set(synth.keys) == {64}  # still held down
    synth.silence()
    assert not synth.render(100).any() and synth.silenced == [100]
    synth.close()
    assert synth.closed


# -- the engine and the producer, heard through it --------------------------------------------


def test_notes_arrive_in_time_order_at_the_frames_the_schedule_says(scale: Player) -> None:
    scale.run(4.0)
    ons = scale.synth.note_ons()
    assert [ev.note for _, ev in ons] == list(range(16))  # each note once, in order
    frames = [f for f, _ in ons]
    assert frames == sorted(frames)
    onsets = performed_onsets(scale.engine)
    for frame, ev in ons:
        assert ev.time == pytest.approx(onsets[ev.note] + scale.engine.offset)
        assert near(frame, ev.time * RATE), (frame, ev)
        assert near(frame, LEAD + ev.note * STEP * RATE)  # the deadpan scale: a steady tempo
    for frame, ev in scale.synth.received:  # note-offs and the pedal too
        assert near(frame, ev.time * RATE), (frame, ev)


def test_the_clicks_in_the_sound_are_where_the_notes_arrived(scale: Player) -> None:
    scale.run(2.0)
    audio = scale.audio()
    ons = [f for f, _ in scale.synth.note_ons()]
    assert int(np.flatnonzero(audio)[0]) == ons[0]
    click = CLICK * 64 / 127  # the deadpan velocity, at volume 100 %
    loud = np.flatnonzero(np.abs(audio) > click / 2)
    assert all(any(f <= x < f + CLICK_FRAMES for f in ons) for x in loud)
    assert all(abs(audio[f]) > click / 2 for f in ons)


def test_a_pause_fades_out_within_the_fade_stops_the_clock_and_resumes_in_place(
    scale: Player,
) -> None:
    scale.run(1.0)
    paused_at = scale.frame
    scale.engine.pause()
    scale.run(0.5)
    fade = round(PAUSE_FADE * RATE)
    after = scale.audio(paused_at)
    assert np.abs(after[:BLOCK]).max() > 0  # faded, not cut off
    assert not after[fade:].any()  # silent from the end of the fade on
    assert paused_at < scale.synth.silenced[-1] <= paused_at + fade  # every key released
    assert not scale.synth.note_ons(paused_at + fade)
    clock = scale.engine.clock
    scale.run(0.5)
    assert scale.engine.clock == clock  # the music's clock waits

    resumed_at = scale.frame
    scale.engine.play()
    scale.run(1.0)
    frame, ev = scale.synth.note_ons(resumed_at)[0]
    assert near(frame - resumed_at, (ev.time - clock) * RATE)  # where it left off, in time
    assert [ev.note for _, ev in scale.synth.note_ons()] == list(range(ev.note + 4))


def test_stop_silences_at_once_and_play_starts_again_from_the_first_note(scale: Player) -> None:
    scale.run(1.0)
    stopped_at = scale.frame
    scale.engine.stop()
    scale.run(0.3)
    assert not scale.audio(stopped_at).any() and scale.synth.silenced[-1] == stopped_at
    played_at = scale.frame
    scale.engine.play()
    scale.run(0.3)
    frame, ev = scale.synth.note_ons(played_at)[0]
    assert ev.note == 0 and near(frame, played_at + LEAD)


def test_a_seek_releases_the_keys_and_plays_the_bars_first_note_after_the_lead(
    scale: Player,
) -> None:
    scale.run(1.0)
    sought_at = scale.frame
    first = scale.engine.seek("bar", 3)
    scale.run(0.5)
    assert scale.synth.silenced[-1] == sought_at
    notes = scale.engine.library.load(scale.engine.library.pieces["piece"]).notes
    assert notes["bar_number"][first] == 3 and notes["bar_number"][first - 1] == 2
    ons = scale.synth.note_ons(sought_at)
    assert ons[0][1].note == first and near(ons[0][0], sought_at + LEAD)
    assert [ev.note for _, ev in ons] == list(range(first, first + len(ons)))


def test_a_neural_performance_arrives_in_order_at_its_scheduled_frames(tmp_path: Path) -> None:
    """The neural renderer's rubato, chords and dynamics: still every event at its frame, and
    no key struck twice."""
    player = Player(OnePiece(tmp_path, chords(24, per_group=3)), "neural")
    player.engine.load(player.engine.library.pieces["piece"], seed=3)
    player.run(4.0)
    received: list[tuple[int, MidiEvent]] = player.synth.received
    assert [f for f, _ in received] == sorted(f for f, _ in received)
    assert all(near(f, ev.time * RATE) for f, ev in received)
    ons = [ev for _, ev in received if ev.kind is MidiKind.NOTE_ON]
    assert len(ons) > 20 and len({ev.note for ev in ons}) == len(ons)
    assert len({ev.value for ev in ons}) > 3  # dynamics: not the deadpan's one velocity
    steps = np.diff(sorted({f for f, ev in received if ev.kind is MidiKind.NOTE_ON}))
    assert steps.std() > 0.01 * steps.mean()  # rubato: not a metronome
