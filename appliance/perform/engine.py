"""The performance engine: one piece at a time, rendered ahead, turned into timed MIDI events.

Three kinds of caller meet here, each with its own short critical section:

- the **audio producer** calls :meth:`Engine.advance` every block (10 ms): it takes the events
  that fall due, moves the play clock, and gets the block's gain (fades, ducking). It never
  waits for rendering;
- the **render-ahead thread** keeps about ``ahead`` seconds of notes scheduled;
- **commands** (play, pause, seek, directions, another piece …) come one at a time from the
  box's command path (:mod:`appliance.perform.conductor`), which also chooses pieces and
  decides what follows a piece's end. A direction re-renders from the first note not yet
  started, so the notes already sounding stay as they are and tempo and loudness continue
  from where they were.

The current piece, its score, stream and steering are one :class:`Current` value, replaced in
one assignment. The engine renders only on the render-ahead thread and the command path.

Play time is the clock of the music actually played (it stops while paused); a note's play
time is its rendered (piece) time plus ``offset``, which seeking and starting a piece set.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np

from appliance.audio.block import Block
from appliance.audio.format import RATE
from appliance.audio.loudness import volume_gain
from appliance.bus import Bus
from appliance.directions.interpret import Interpreter
from appliance.directions.steer import Steering, SteeringVectors
from appliance.directions.timeline import look_ahead, needs_plan
from appliance.directions.words import ParsedDirections
from appliance.errors import ApplianceError
from appliance.events import (
    Direct,
    DirectionApplied,
    Duck,
    Event,
    Moved,
    NowPlaying,
    Pause,
    PieceEnded,
    Play,
    Seek,
    Stop,
    TransportChanged,
    Volume,
)
from appliance.library.catalog import Library, Piece
from appliance.midi import KeyTracker, MidiEvent, MidiKind, pedal
from appliance.perform.feedback import Where
from appliance.perform.gain import Ducker, DuckSettings, Ramp
from appliance.perform.places import bar_position, seek_note
from appliance.perform.render_ahead import RenderAhead
from appliance.perform.schedule import Schedule
from appliance.perform.transport import Transport
from appliance.render.base import PerformanceStream, Renderer, Style
from appliance.score.notes import Score

START_LEAD = 0.05  # seconds between a start/seek and the first note
PAUSE_FADE = 0.06  # seconds
RESUME_FADE = 0.01
END_RING = 1.0  # seconds to let the last notes ring before a piece counts as ended
RENDER_CHUNK = 8  # notes per render-ahead step (whole onset groups)
RERENDER_MARGIN = 0.15  # seconds: a direction re-renders (with previews) within this
VOLUME_FADE = 0.2  # seconds for a volume change


@dataclass
class EngineSettings:
    rate: int = RATE  # the synthesiser's: the play clock counts its frames
    ahead: float = 1.5  # seconds of music kept rendered ahead of the clock
    duck: DuckSettings | None = None
    volume: int = 80  # percent


@dataclass(frozen=True)
class Current:
    """The piece being played, as one value: a new piece replaces it in one assignment, so
    whoever reads it (the audio side, a command) sees the piece, its score, its stream and its
    steering together, never half of one piece and half of the next."""

    piece: Piece
    score: Score
    stream: PerformanceStream
    steering: Steering | None  # None: the renderer takes no directions
    seed: int  # the style's seed


E = TypeVar("E", bound=Event)


def _as(event: Event, kind: type[E]) -> E:
    if not isinstance(event, kind):
        raise ApplianceError(f"expected a {kind.type} event")
    return event


class Engine:
    def __init__(
        self,
        renderer: Renderer,
        library: Library,
        bus: Bus | None = None,
        vectors: SteeringVectors | None = None,
        interpreter: Interpreter | None = None,
        settings: EngineSettings | None = None,
    ) -> None:
        self.renderer = renderer
        self.library = library
        self.bus = bus
        self.vectors = vectors if renderer.steerable else None
        self.interpreter = interpreter or Interpreter()
        self.settings = settings or EngineSettings()
        self.rate = self.settings.rate
        self._lock = threading.Lock()  # clock, schedule, transport, keys, current
        self._render_lock = threading.RLock()  # rendering: the stream, the style, offset
        self.clock = 0.0
        self.state = Transport.STOPPED
        self.schedule = Schedule()
        self.keys = KeyTracker()
        self.fade = Ramp(1.0)
        self._volume = Ramp(volume_gain(self.settings.volume))
        self.asked_volume = max(0, min(int(self.settings.volume), 100))  # percent, as asked
        self.ceiling = 100  # percent: no volume asked for goes above it (the room's)
        self.ducker = Ducker(self.rate, self.settings.duck)
        self._silence = False
        self.current: Current | None = None
        self.style = Style()
        self.offset = 0.0
        self._bar = -1
        self._ended = False
        self._ahead = RenderAhead(self.render_ahead, self.publish)
        # what happens when a piece has ended (the box queues a command: the piece-end policy);
        # without it the engine just stops
        self.on_end: Callable[[], None] | None = None
        # told every event as it is published, on the publishing thread (the box's memory):
        # each must return at once, as the audio side publishes too
        self.watchers: list[Callable[[Event], None]] = []
        self.handlers: dict[type[Event], Callable[[Event], object]] = {
            Play: lambda e: self.play(),
            Pause: lambda e: self.pause(),
            Stop: lambda e: self.stop(),
            Seek: lambda e: self.seek(_as(e, Seek).target, _as(e, Seek).bar, _as(e, Seek).bars),
            Direct: lambda e: self.direct(_as(e, Direct).text, _as(e, Direct).language or None),
            Duck: lambda e: self.duck(),
            Volume: lambda e: self.set_volume(_as(e, Volume).percent),
        }

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the render-ahead thread."""
        self._ahead.start()

    def close(self) -> None:
        self._ahead.close()

    def publish(self, event: Event) -> None:
        if self.bus is not None:
            self.bus.publish(event)
        for watcher in self.watchers:
            watcher(event)

    def command(self, event: Event) -> None:
        """Carry out a command event (an :class:`ApplianceError` says why it could not be)."""
        handler = self.handlers.get(type(event))
        if handler is not None:
            handler(event)

    @property
    def piece(self) -> Piece | None:
        current = self.current
        return current.piece if current else None

    @property
    def score(self) -> Score | None:
        current = self.current
        return current.score if current else None

    @property
    def steering(self) -> Steering | None:
        current = self.current
        return current.steering if current else None

    def where(self) -> Where:
        """The piece, bar (as written) and style seed playing now."""
        current = self.current
        if current is None:
            return Where()
        note = min(self._current_note(current), len(current.score.notes) - 1)
        return Where(current.piece.id, int(current.score.notes["bar_number"][note]), current.seed)

    def tempo_now(self) -> float:
        """The tempo at the note sounding now, as :class:`Position` reports it (0: nothing
        rendered yet)."""
        current = self.current
        if current is None:
            return 0.0
        expression = current.stream.expression
        note = min(self._current_note(current), len(expression) - 1)
        if note < 0:
            return 0.0
        return float(60.0 / np.exp(float(expression["log_bp"][note])))

    def snapshot(self) -> list[Event]:
        """What a newcomer needs to know: the piece playing and the transport state."""
        current = self.current
        out: list[Event] = [] if current is None else [_now_playing(current)]
        out.append(TransportChanged(self.state.shown))
        return out

    # -- pieces ------------------------------------------------------------------------------

    def load(self, piece: Piece, seed: int | None = None, play: bool = True) -> None:
        """Make ``piece`` the current piece, with a sampled style (random unless ``seed``)."""
        score = self.library.load(piece)
        if len(score.notes) == 0:
            raise ApplianceError(f"{piece.describe()} has no notes to play")
        seed = random.randrange(1 << 31) if seed is None else seed
        style = Style(seed=seed)
        stream = PerformanceStream(self.renderer, score, style)
        steering = Steering(score.notes, self.vectors) if self.vectors else None
        current = Current(piece, score, stream, steering, seed)
        with self._render_lock:
            self.style = style
            with self._lock:
                self.current = current
                self.schedule.clear()
                self._silence = True
                self._bar = -1
                self._ended = False
            self._start_at(current, 0)
        self.publish(_now_playing(current))
        if play:
            self.play()

    # -- transport ---------------------------------------------------------------------------

    def play(self) -> None:
        with self._lock:
            if self.current is None:
                raise ApplianceError("no piece loaded")
            if self.state is Transport.PLAYING:
                return
            self.state = Transport.PLAYING
            self.fade.to(1.0, RESUME_FADE, self.rate)
        self.publish(TransportChanged(Transport.PLAYING))

    def pause(self) -> None:
        with self._lock:
            if self.state is not Transport.PLAYING:
                return
            self.state = Transport.PAUSING
            self.fade.to(0.0, PAUSE_FADE, self.rate)

    def set_volume(self, percent: int) -> None:
        """The output level, 0–100 % (100 % is the calibrated level with headroom), never
        above the ceiling."""
        with self._lock:
            self.asked_volume = max(0, min(int(percent), 100))
            self._volume.to(volume_gain(self.volume), VOLUME_FADE, self.rate)

    def set_ceiling(self, percent: int) -> None:
        """The highest volume anyone may set, 0–100 % (the volume in force comes down to it;
        the audio producer holds the samples under it meanwhile)."""
        with self._lock:
            self.ceiling = max(0, min(int(percent), 100))
            self._volume.to(volume_gain(self.volume), VOLUME_FADE, self.rate)

    @property
    def volume(self) -> int:
        """The volume in force, percent: the one asked for, under the ceiling."""
        return min(self.asked_volume, self.ceiling)

    def stop(self) -> None:
        """Silence, and back to the start of the piece (which renders: never on the audio side)."""
        with self._render_lock:
            self._halt()
            current = self.current
            if current is not None:
                self._start_at(current, 0)
        self.publish(TransportChanged(Transport.STOPPED))

    def _halt(self) -> None:
        with self._lock:
            self.state = Transport.STOPPED
            self._silence = True
            self.fade.value = self.fade.target = 0.0

    def seek(self, target: str = "beginning", bar: int = 0, bars: int = 0) -> int:
        """Go to the beginning, a bar as written, the start of this / the previous phrase, or
        ``bars`` bars back; returns the first note that will play."""
        with self._render_lock:
            current = self._need()
            notes = current.score.notes
            first = seek_note(notes, target, bar, self._current_note(current), bars)
            with self._lock:
                self._silence = True
                self._ended = False
            first = self._start_at(current, first)
        self.publish(Moved(target, int(notes["bar_number"][first])))
        return first

    def duck(self) -> None:
        with self._lock:
            self.ducker.duck()

    # -- directions --------------------------------------------------------------------------

    def direct(self, text: str, language: str | None = None, who: str = "") -> int:
        """Apply directions in words from the first note not yet started; returns that note."""
        return self.apply(self.understand(text, language), text, who)

    def understand(self, text: str, language: str | None) -> ParsedDirections:
        """The directions ``text`` asks for (an :class:`ApplianceError` when none)."""
        parsed = self.interpreter.interpret(text, language)
        if not parsed.understood:
            raise ApplianceError(f"{text!r} is not a direction the box knows")
        return parsed

    def apply(
        self, parsed: ParsedDirections, text: str = "", who: str = "", source: str = ""
    ) -> int:
        """Apply parsed directions from the first note not yet started; returns that note.
        ``source``: how they were given (speech, face, button, text; "" the box's own)."""
        with self._render_lock:
            current = self._need()
            stream, steering, notes = current.stream, current.steering, current.score.notes
            if steering is None:
                raise ApplianceError("directions need the neural renderer and its steering vectors")
            with self._lock:
                waiting = self.schedule.first_unstarted(self._safe_time())
            at = min(stream.rendered if waiting is None else waiting, len(notes) - 1)
            if parsed.control == "undo":
                steering.undo(at)
            elif parsed.control == "reset":
                steering.reset(at)
            played = ahead = preview = None
            if needs_plan(parsed):  # a level goes by the music about to be played
                played = stream.expression[: min(at, stream.rendered)].copy()
                ahead, preview = look_ahead(stream, self.style, steering.offsets(), at)
            for request in parsed.directions:
                steering.apply(request, at, played, ahead, preview)
            self.style = self.style.with_offsets(steering.offsets())
            first = self._rerender_from(current, at)
        described = tuple(f"{d.cls} {d.strength:+.2f} {d.scope.value}" for d in parsed.directions)
        bar = int(notes["bar_number"][min(first, len(notes) - 1)])
        shown = described or (parsed.control or "",)
        self.publish(DirectionApplied(text, shown, bar, first, who, source))
        return first

    # -- a style as one vector (a person's taste) ----------------------------------------------

    def style_now(self) -> np.ndarray | None:
        """The style playing as one latent vector: how far its sampled latents are from the
        score's most likely style, on average over the notes, plus the style vector it plays
        with. None without a renderer that samples latents (or with latents given outright).
        Pure computation on the caller's thread (the command path): the renderer's own
        state is not touched."""
        current, style = self.current, self.style
        model = getattr(self.renderer, "model", None)
        if current is None or style.latents is not None or model is None:
            return None
        if not hasattr(model, "prior_latents") or not hasattr(model, "features"):
            return None
        notes = current.score.notes
        spread = model.spread if style.spread is None else style.spread
        try:
            features = model.features(notes)
            sampled = model.prior_latents(notes, style.seed, features, spread)
            likeliest = model.prior_latents(notes, style.seed, features, 0.0)
        except ApplianceError:  # a model that cannot read this score: no style to tell
            return None
        out = np.asarray(sampled - likeliest, np.float64).mean(axis=0)
        if style.vector is not None and len(style.vector) == len(out):
            out = out + np.asarray(style.vector, np.float64)
        return out.astype(np.float32)

    def use_style_vector(self, vector: Sequence[float] | None) -> int:
        """Play on from the next notes with ``vector`` added to every note's style latents (a
        taste's style; None: none). A vector of another size than the renderer's latents is
        passed over. Returns the first note it renders."""
        size = getattr(getattr(self.renderer, "model", None), "sizes", None)
        if vector is not None and (size is None or len(vector) != size.total):
            return 0
        shown = None if vector is None else tuple(float(v) for v in vector)
        with self._render_lock:
            current = self.current
            self.style = replace(self.style, vector=shown)
            if current is None:
                return 0
            with self._lock:
                waiting = self.schedule.first_unstarted(self._safe_time())
            stream = current.stream
            at = min(stream.rendered if waiting is None else waiting, len(current.score.notes))
            return self._rerender_from(current, at)

    # -- another model -----------------------------------------------------------------------

    def use_renderer(self, renderer: Renderer, vectors: SteeringVectors | None = None) -> int:
        """Play on with another renderer (a new version of the model) between two notes: the
        notes that have started stay as they were, the next ones come from ``renderer``, with
        the same style and directions (their steering is kept when its size fits the new
        vectors, else the directions start afresh). Returns the first note it renders."""
        vectors = vectors if renderer.steerable else None
        self._warm(renderer)  # raises if it cannot play this music: nothing changed then
        with self._render_lock:
            before = (self.renderer, self.vectors, self.current, self.style)
            steering = self.current.steering if self.current is not None else None
            steered_by = steering.vectors if steering is not None else None
            try:
                return self._switch(renderer, vectors)
            except Exception:  # the old model plays on, from where the render stood
                self.renderer, self.vectors, current, self.style = before
                if steering is not None and steered_by is not None:
                    steering.vectors = steered_by
                with self._lock:
                    self.current = current
                if current is not None:
                    current.stream.renderer = self.renderer
                    current.stream.style = self.style
                raise

    def _switch(self, renderer: Renderer, vectors: SteeringVectors | None) -> int:
        """:meth:`use_renderer` under the render lock, once the renderer is warm."""
        self.renderer = renderer
        self.vectors = vectors
        current = self.current
        if current is None:
            return 0
        steering = current.steering
        if vectors is None:
            steering = None
        elif steering is None or steering.vectors.size != vectors.size:
            steering = Steering(current.score.notes, vectors)
        else:
            steering.vectors = vectors  # directions given from now on use the new ones
        if steering is not current.steering:
            self.style = self.style.with_offsets(steering.offsets() if steering else None)
            current = replace(current, steering=steering)
            with self._lock:
                self.current = current
        stream = current.stream
        stream.renderer = renderer
        with self._lock:
            waiting = self.schedule.first_unstarted(self._safe_time())
        at = min(stream.rendered if waiting is None else waiting, len(current.score.notes))
        return self._rerender_from(current, at)

    def _warm(self, renderer: Renderer) -> None:
        """Let a renderer read the current score and style before it takes over (outside the
        locks, while the old one plays on), so that the switch itself renders only a few notes
        in time; raises what the renderer raises (a model that cannot play this music)."""
        current = self.current
        if current is None:
            return
        stream, n = current.stream, len(current.score.notes)
        done = min(stream.rendered, n - 1)
        renderer.expression(current.score.notes, self.style, stream.expression[:done], done + 1)

    def _safe_time(self) -> float:
        """Play time from which notes may be re-rendered: while the music moves, notes due
        within ``RERENDER_MARGIN`` keep their rendering (it may take that long)."""
        return self.clock + (RERENDER_MARGIN if self.state is Transport.PLAYING else 0.0)

    # -- the audio side ----------------------------------------------------------------------

    def advance(self, frames: int) -> Block:
        """Called by the audio producer once per block: due events and the block's gain. It
        never waits for rendering and never renders."""
        with self._lock:
            current = self.current
            silence, self._silence = self._silence, False
            events: list[tuple[int, MidiEvent]] = []
            if silence:
                events += [(0, ev) for ev in self.keys.release_all(self.clock)]
                events.append((0, pedal(self.clock, 0)))
            moving = self.state.moving
            if moving:
                start, end = self.clock, self.clock + frames / self.rate
                for ev in self.schedule.due(end):
                    offset = int(np.clip((ev.time - start) * self.rate, 0, frames - 1))
                    events += [(offset, out) for out in self.keys.filter(ev)]
                self.clock = end
            gain = self.fade.block(frames) * self.ducker.block(frames) * self._volume.block(frames)
            paused = self.state is Transport.PAUSING and self.fade.settled
            if paused:
                self.state = Transport.PAUSED
                self._silence = True
            ended = moving and current is not None and self._check_end(current)
        if paused:
            self.publish(TransportChanged(Transport.PAUSED))
        if current is not None:
            self._report(current, events)
        if ended and current is not None:
            self._piece_ended(current)
        return Block(events, gain, silence)

    # -- internals ---------------------------------------------------------------------------

    def _need(self) -> Current:
        current = self.current
        if current is None:
            raise ApplianceError("no piece loaded")
        return current

    def _current_note(self, current: Current) -> int:
        with self._lock:
            waiting = self.schedule.first_unstarted()
        rendered = current.stream.rendered
        return max(0, min((rendered if waiting is None else waiting) - 1, rendered))

    def _start_at(self, current: Current, first: int) -> int:
        """Rewind or render on so that note ``first`` (the start of an onset group, as bar starts
        are) plays next, START_LEAD seconds from now."""
        stream = current.stream
        if current.steering is not None:  # directions in force hold from the new place on
            current.steering.restart(first)
            self.style = self.style.with_offsets(current.steering.offsets())
        stream.style = self.style
        stream.rewind(first)
        stream.render_to(first)
        first = stream.rewind(first)
        timing = stream.render_next(1)
        notes = current.score.notes[first : first + len(timing)]
        with self._lock:
            self.schedule.clear()
            if len(timing):
                self.offset = self.clock + START_LEAD - float(timing["onset"].min())
                self.schedule.add(notes, timing, first, self.offset, False)
        return first

    def _rerender_from(self, current: Current, at: int) -> int:
        """Re-render from note ``at`` (rounded up to an onset group) with the current style.

        ``at`` was chosen a while ago (planning a direction takes time, more on a busy box): the
        cut is decided again under the schedule's lock, after every note that has started by
        now, so that no note is ever struck twice."""
        stream = current.stream
        stream.style = self.style
        with self._lock:
            cut = stream.rewind(max(at, self.schedule.last_started + 1))
            self.schedule.cut(cut)
        self._render_step(current)
        return cut

    def _render_step(self, current: Current) -> None:
        stream = current.stream
        first = stream.rendered
        timing = stream.render_next(RENDER_CHUNK)
        if len(timing) == 0:
            return
        notes = current.score.notes[first : first + len(timing)]
        with self._lock:
            if self.current is current:  # not a piece replaced meanwhile
                self.schedule.add(notes, timing, first, self.offset)

    def render_ahead(self) -> bool:
        """Render the next chunk if less than ``ahead`` seconds are scheduled; True if it did."""
        with self._render_lock:
            current = self.current
            if current is None or current.stream.done:
                return False
            with self._lock:
                if self.state is Transport.STOPPED:
                    return False
                horizon = self.clock + self.settings.ahead
                rendered_until = self._rendered_until(current.stream)
            if rendered_until > horizon:
                return False
            self._render_step(current)
            return True

    def _rendered_until(self, stream: PerformanceStream) -> float:
        if stream.rendered == 0:
            return -1.0
        return float(stream.performed["onset"][-1]) + self.offset

    def _check_end(self, current: Current) -> bool:
        if self._ended or not current.stream.done or len(self.schedule):
            return False
        if self.clock < self.schedule.end_time + END_RING:
            return False
        self._ended = True
        return True

    def _piece_ended(self, current: Current) -> None:
        """Called on the audio side: it only reports, and leaves what follows to ``on_end`` (a
        command on the box's queue); on its own the engine just falls silent."""
        self.publish(PieceEnded(current.piece.id))
        if self.on_end is not None:
            self.on_end()
        else:
            self._halt()
            self.publish(TransportChanged(Transport.STOPPED))

    def _report(self, current: Current, events: list[tuple[int, MidiEvent]]) -> None:
        """Publish the bar position when a new bar starts sounding."""
        if self.bus is None:
            return
        notes, expression = current.score.notes, current.stream.expression
        for _, ev in events:
            if ev.kind is not MidiKind.NOTE_ON or not 0 <= ev.note < len(expression):
                continue
            bar = int(notes["bar"][ev.note])
            if bar != self._bar:
                self._bar = bar
                self.publish(bar_position(notes, expression, ev.note, self.clock))


def _now_playing(current: Current) -> NowPlaying:
    piece = current.piece
    return NowPlaying(
        piece.id, piece.title, piece.composer, current.seed, int(current.score.n_bars)
    )
