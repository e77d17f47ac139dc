"""A playing box, assembled: library, renderer, engine, synthesiser, producer and sinks.

Used by ``appliance play`` / ``appliance run`` (and later by the web server). Outputs that
cannot be opened (no sound card, no MIDI port) are reported and left out; the rest plays on.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from appliance.audio.midi_out import MidiOut
from appliance.audio.priority import settle_heap
from appliance.audio.producer import Producer
from appliance.audio.sinks import AudioSink, Broadcast, MidiSink, WavRecorder
from appliance.audio.speaker import Speaker
from appliance.audio.speaker_watch import SpeakerWatch
from appliance.audio.synth import Synth
from appliance.bus import Bus
from appliance.directions.steer import SteeringVectors
from appliance.errors import ApplianceError
from appliance.learn.background import AutoFinetune
from appliance.learn.background import enabled as auto_finetune_enabled
from appliance.library import open_library
from appliance.library.choose import choose_piece
from appliance.perform.conductor import Conductor, directions_in_force, piece_end_policy
from appliance.perform.engine import Engine, EngineSettings
from appliance.perform.memory import Memory
from appliance.perform.model_watch import ModelWatch
from appliance.perform.transport import AtEnd
from appliance.process_priority import BOX_NICE, favour_this_process
from appliance.render.base import Renderer
from appliance.render.neural import NeuralRenderer
from appliance.render.registry import active_model, get_renderer, steering_file
from appliance.render.versions import ModelVersions

log = logging.getLogger(__name__)


def _settle_after(loading: threading.Thread) -> None:
    loading.join()
    settle_heap()


def _renderer(name: str | None, problems: list[str]) -> Renderer:
    """The renderer ``name``; when its model cannot be used (a file missing or damaged), the
    plainer training-mean renderer (or the deadpan one), and what went wrong in ``problems``."""
    try:
        return get_renderer(name)
    except (ApplianceError, OSError) as exc:
        why = f"{exc.filename} is missing" if isinstance(exc, FileNotFoundError) else str(exc)
    try:
        renderer, plainly = get_renderer("mean"), "the training mean"
    except (ApplianceError, OSError):
        renderer, plainly = get_renderer("deadpan"), "deadpan"
    problems.append(
        f"the renderer's model cannot be used ({why}): playing plainly ({plainly}) instead; "
        "reinstall the models (`make install`)"
    )
    return renderer


@dataclass
class PlayOptions:
    piece: str = ""  # id or words; "" = a random piece
    seed: int | None = None  # style seed; None = random
    speaker: bool = True
    device: str | int | None = None
    midi_out: str | None = None
    wav: Path | None = None
    stream: bool = False  # keep a broadcast source for WebRTC listeners
    at_end: AtEnd = AtEnd.NEXT
    library: Path | None = None  # the box's library folder (default: in the data folder)
    scores: Path | None = None  # play from the scores under this folder instead (development)
    renderer: str | None = None
    soundfont: Path | None = None
    volume: int = 80  # percent
    preload: bool = True  # load the sentence model in the background at start
    nice: int | None = BOX_NICE  # the box's threads' niceness while it plays (None: unchanged)
    speech: bool = True  # phones' talk button → speech recognition (a worker process)
    llm: bool = True  # the local language model for what the rules do not understand (a worker)
    vision: bool = True  # phones' cameras while the button is held → faces (a worker process)


@dataclass
class Session:
    options: PlayOptions
    bus: Bus | None = None
    problems: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        o = self.options
        if o.scores is not None:
            from appliance.library.setup import scores_library

            self.library = scores_library(o.scores)
        else:
            self.library = open_library(o.library)
        self.problems.extend(self.library.problems)  # a damaged index, and what was done
        renderer = _renderer(o.renderer, self.problems)
        vectors = None
        self.model_watch: ModelWatch | None = None
        if isinstance(renderer, NeuralRenderer):
            version, problem = active_model()
            if problem:
                self.problems.append(problem)
            try:
                vectors = SteeringVectors.load(steering_file(version))
            except ApplianceError as exc:
                self.problems.append(f"directions are off: {exc}")
        self.synth = Synth(o.soundfont)
        self.engine = Engine(
            renderer,
            self.library,
            self.bus,
            vectors,
            settings=EngineSettings(rate=self.synth.rate, volume=o.volume),
        )
        # the box's memory: the music plays on without it (its problems are said)
        self.memory, problems = Memory.open()
        self.problems.extend(problems)
        self.engine.watchers.append(self.memory.observe)
        self.conductor = Conductor(self.engine, self.bus, self.memory)
        self.engine.on_end = piece_end_policy(self.conductor, AtEnd(o.at_end))
        sinks: list[AudioSink] = []
        self.speaker: Speaker | None = None
        if o.speaker:
            try:
                self.speaker = Speaker(o.device)
                sinks.append(self.speaker)
            except ApplianceError as exc:
                self.problems.append(str(exc))
        self.broadcast = Broadcast() if o.stream else None
        if self.broadcast is not None:
            sinks.append(self.broadcast)
        if o.wav is not None:
            sinks.append(WavRecorder(o.wav))
        midi: list[MidiSink] = []
        if o.midi_out:
            try:
                midi.append(MidiOut(o.midi_out))
            except ApplianceError as exc:
                self.problems.append(str(exc))
        self.producer = Producer(self.engine.advance, self.synth, sinks, midi)
        self.speaker_watch: SpeakerWatch | None = None
        if o.speaker:  # an unplugged (or not yet plugged) speaker: opened, the phones play on
            self.speaker_watch = SpeakerWatch(
                self.producer,
                lambda: Speaker(o.device),
                self.bus.publish if self.bus is not None else None,
                on_back=self._speaker_back,
            )
        self.auto_finetune: AutoFinetune | None = None
        if isinstance(renderer, NeuralRenderer):  # follows `appliance model use` while playing
            publish = self.bus.publish if self.bus is not None else None
            self.model_watch = ModelWatch(
                self.engine,
                ModelVersions(),
                renderer.version,
                publish,
                on_switch=self._model_switched,
            )
            store = self.memory.store
            if store is not None and o.scores is None and auto_finetune_enabled():
                self.auto_finetune = AutoFinetune(
                    store, ModelVersions(), publish, library=self.library.folder
                )

    def _model_switched(self, version: str) -> None:
        """The rest of the piece is remembered as a performance of the new model."""
        if self.engine.current is not None:
            directions = directions_in_force(self.engine)
            self.memory.model_changed(version, directions, self.engine.clock)

    def _speaker_back(self, sink: AudioSink) -> None:
        if isinstance(sink, Speaker):
            self.speaker = sink

    def start(self) -> None:
        """Start playing: the first piece (the one asked for, else a random piece marked to
        open a session) in a random style (or ``seed``'s)."""
        if self.options.nice is not None and not favour_this_process(self.options.nice):
            self.problems.append("the box plays at normal priority (not root)")
        loading = None
        if self.options.preload and self.engine.vectors is not None:
            loading = self.engine.interpreter.preload()
        self.engine.start()
        self.producer.start()
        self.conductor.start()
        if self.speaker_watch is not None and self.speaker is None:
            self.speaker_watch.look_for()
        if self.model_watch is not None:
            self.model_watch.start()
        if self.auto_finetune is not None:
            self.auto_finetune.start()
        query = self.options.piece
        piece = choose_piece(self.library, query, opening=not query)
        self.conductor.start_piece(piece, seed=self.options.seed)
        settle_heap()
        if loading is not None:  # and again once the sentence model is in
            threading.Thread(target=_settle_after, args=(loading,), daemon=True).start()

    @property
    def ready(self) -> bool:
        """Playing, and every model a command may need is loaded."""
        return self.engine.interpreter.ready or self.engine.vectors is None

    def close(self) -> None:
        if self.auto_finetune is not None:
            self.auto_finetune.close()
        if self.model_watch is not None:
            self.model_watch.close()
        self.conductor.close()
        self.engine.close()
        if self.speaker_watch is not None:
            self.speaker_watch.close()
        self.producer.stop()
        self.synth.close()
        self.memory.close()
