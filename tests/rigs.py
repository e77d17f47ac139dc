"""Test rigs: the real engine, renderer and FluidSynth driven block by block, no event loop."""

import numpy as np
import pytest

from appliance.audio.producer import Producer
from appliance.audio.sinks import MemorySink, MidiSink
from appliance.audio.synth import Synth
from appliance.bus import Bus
from appliance.directions.steer import SteeringVectors
from appliance.library import open_library
from appliance.library.catalog import Piece
from appliance.library.choose import choose_piece
from appliance.midi import MidiEvent
from appliance.perform.engine import Engine, EngineSettings
from appliance.render.registry import get_renderer, steering_file

RATE = 48_000


class Recorder(Bus):
    """A bus that keeps what was published, in order (no event loop needed)."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list = []

    def publish(self, event) -> None:
        self.events.append(event)


class MidiLog(MidiSink):
    def __init__(self) -> None:
        self.events: list[MidiEvent] = []

    def send(self, events):
        self.events += events


class Rig:
    def __init__(self, library, synth, **settings):
        self.bus = Recorder()
        self.engine = Engine(
            get_renderer("neural"),
            library,
            self.bus,
            SteeringVectors.load(steering_file()),
            settings=EngineSettings(**settings),
        )
        self.audio = MemorySink()
        self.midi = MidiLog()
        self.producer = Producer(self.engine.advance, synth, [self.audio], [self.midi])

    def select(self, query: str, seed: int | None = None, play: bool = True) -> Piece:
        """Load the piece ``query`` names, as the box's command path would."""
        piece = choose_piece(self.engine.library, query)
        self.engine.load(piece, seed, play)
        return piece

    def run(self, seconds: float) -> np.ndarray:
        start = len(self.audio.blocks)
        for _ in range(int(seconds * RATE / self.producer.block)):
            while self.engine.render_ahead():
                pass
            self.producer.make_block()
        blocks = self.audio.blocks[start:]
        return np.concatenate(blocks) if blocks else np.zeros((0, 2), np.float32)


def rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(audio**2))) if len(audio) else 0.0


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """The shipped library in a folder of the test module's own."""
    return open_library(tmp_path_factory.mktemp("library"))


@pytest.fixture(scope="module")
def synth():
    return Synth()
