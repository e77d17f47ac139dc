"""The performance engine: one piece at a time, rendered ahead, turned into timed MIDI events.

Three kinds of caller meet here, each with its own short critical section:

- the **audio producer** calls :meth:`Engine.advance` every block (10 ms): it takes the events
  that fall due, moves the play clock, and gets the block's gain (fades, ducking). It never
  waits for rendering;
- the **render-ahead thread** keeps about ``ahead`` seconds of notes scheduled;
- **commands** (play, pause, seek, directions, another piece …) come from the bus or the CLI.
  A direction or style change re-renders from the first note not yet started, so the notes
  already sounding stay as they are and tempo and loudness continue from where they were.

Play time is the clock of the music actually played (it stops while paused); a note's play
time is its rendered (piece) time plus ``offset``, which seeking and starting a piece set.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from appliance.backoff import Quieter, retry_delay
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
    Position,
    Problem,
    Seek,
    SelectPiece,
    Stop,
    TransportChanged,
    Volume,
)
from appliance.library.catalog import Library, Piece
from appliance.library.match import find
from appliance.perform.feedback import Where
from appliance.perform.gain import Ducker, DuckSettings, Ramp
from appliance.perform.schedule import Schedule
from appliance.render.base import PerformanceStream, Renderer, Style
from appliance.render.midi import KeyTracker, MidiEvent
from appliance.render.neural import NeuralRenderer
from appliance.score.notes import Score

log = logging.getLogger(__name__)

PHRASE_BARS = 4  # "the start of the phrase": bars counted in fours from the beginning
START_LEAD = 0.05  # seconds between a start/seek and the first note
PAUSE_FADE = 0.06  # seconds
RESUME_FADE = 0.01
END_RING = 1.0  # seconds to let the last notes ring before a piece counts as ended
RENDER_CHUNK = 8  # notes per render-ahead step (whole onset groups)
RERENDER_MARGIN = 0.15  # seconds: a direction re-renders (with previews) within this
VOLUME_FADE = 0.2  # seconds for a volume change


def volume_gain(percent: int) -> float:
    """Gain of a volume setting: 100 % is 1 (the synthesiser's calibrated level), 0 % silent;
    a square-law taper (80 % is about −4 dB, 50 % −12 dB, 10 % −40 dB), closer to how a
    listener hears a volume knob turn than a straight line."""
    share = max(0, min(int(percent), 100)) / 100.0
    return share * share


@dataclass
class EngineSettings:
    rate: int = 48_000
    ahead: float = 1.5  # seconds of music kept rendered ahead of the clock
    at_end: str = "next"  # "next": another random piece; "stop"
    duck: DuckSettings | None = None
    volume: int = 80  # percent


@dataclass(frozen=True)
class Block:
    """What one audio block needs: events at frame offsets and a per-frame gain."""

    events: list[tuple[int, MidiEvent]]
    gain: np.ndarray
    silence: bool  # release every key first (pause, stop, seek)


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
        self.vectors = vectors
        self.interpreter = interpreter or Interpreter()
        self.settings = settings or EngineSettings()
        self.rate = self.settings.rate
        self._lock = threading.Lock()  # clock, schedule, transport, keys
        self._render_lock = threading.RLock()  # stream, steering, offset
        self.clock = 0.0
        self.state = "stopped"
        self.schedule = Schedule()
        self.keys = KeyTracker()
        self.fade = Ramp(1.0)
        self._volume = Ramp(volume_gain(self.settings.volume))
        self.ducker = Ducker(self.rate, self.settings.duck)
        self._silence = False
        self.piece: Piece | None = None
        self.score: Score | None = None
        self.stream: PerformanceStream | None = None
        self.steering: Steering | None = None
        self.style = Style()
        self.offset = 0.0
        self._bar = -1
        self._ended = False
        self._running = False
        self._thread: threading.Thread | None = None
        self._quieter = Quieter()  # repeated failures are reported less and less often
        # what to do when a piece has ended (the box queues the next command); None: the
        # engine's own policy (``settings.at_end``), for an engine used on its own
        self.on_end: Callable[[], None] | None = None
        self.handlers: dict[type[Event], Callable[[Event], object]] = {
            Play: lambda e: self.play(),
            Pause: lambda e: self.pause(),
            Stop: lambda e: self.stop(),
            Seek: lambda e: self.seek(_as(e, Seek).target, _as(e, Seek).bar),
            SelectPiece: lambda e: self.select(_as(e, SelectPiece).query),
            Direct: lambda e: self.direct(_as(e, Direct).text, _as(e, Direct).language or None),
            Duck: lambda e: self.duck(),
            Volume: lambda e: self.set_volume(_as(e, Volume).percent),
        }

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the render-ahead thread."""
        if self._running:
            return
        self._running = True
        self._thread = threading.Thread(target=self._render_loop, name="render-ahead", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=2.0)

    def publish(self, event: Event) -> None:
        if self.bus is not None:
            self.bus.publish(event)

    def handle(self, event: Event) -> None:
        """Carry out a command event; problems become a ``Problem`` event, never an exception."""
        try:
            self.command(event)
        except ApplianceError as exc:
            self.publish(Problem(str(exc)))

    def command(self, event: Event) -> None:
        """Carry out a command event (an :class:`ApplianceError` says why it could not be)."""
        handler = self.handlers.get(type(event))
        if handler is not None:
            handler(event)

    def where(self) -> Where:
        """The piece, bar (as written) and style seed playing now."""
        piece, score = self.piece, self.score
        if piece is None or score is None:
            return Where()
        note = min(self._current_note(), len(score.notes) - 1)
        return Where(piece.id, int(score.notes["bar_number"][note]), self.style.seed or 0)

    def snapshot(self) -> list[Event]:
        """What a newcomer needs to know: the piece playing and the transport state."""
        out: list[Event] = []
        piece, score = self.piece, self.score
        if piece is not None and score is not None:
            seed = self.style.seed or 0
            out.append(NowPlaying(piece.id, piece.title, piece.composer, seed, int(score.n_bars)))
        state = "paused" if self.state == "pausing" else self.state
        out.append(TransportChanged(state))
        return out

    # -- pieces ------------------------------------------------------------------------------

    def load(self, piece: Piece, seed: int | None = None, play: bool = True) -> None:
        """Make ``piece`` the current piece, with a sampled style (random unless ``seed``)."""
        score = self.library.load(piece)
        if len(score.notes) == 0:
            raise ApplianceError(f"{piece.describe()} has no notes to play")
        seed = random.randrange(1 << 31) if seed is None else seed
        with self._render_lock:
            self.piece, self.score = piece, score
            self.style = Style(seed=seed)
            self.stream = PerformanceStream(self.renderer, score, self.style)
            self.steering = Steering(score.notes, self.vectors) if self.vectors else None
            with self._lock:
                self.schedule.clear()
                self._silence = True
                self._bar = -1
                self._ended = False
            self._start_at(0)
        self.publish(NowPlaying(piece.id, piece.title, piece.composer, seed, int(score.n_bars)))
        if play:
            self.play()

    def select(
        self, query: str = "", seed: int | None = None, play: bool = True, opening: bool = False
    ) -> Piece:
        """Play the piece ``query`` names (an id or words), or a random other piece for ""
        (``opening``: one of the pieces marked to open a session)."""
        self.library.refresh()
        pieces = list(self.library.pieces.values())
        if not pieces:
            raise ApplianceError("the library is empty: add pieces with `appliance library add`")
        if query.strip():
            piece = find(pieces, query)
            if piece is None:
                raise ApplianceError(f"no piece in the library matches {query!r}")
        else:
            if opening:
                pieces = [p for p in pieces if p.opener] or pieces
            others = [p for p in pieces if self.piece is None or p.id != self.piece.id]
            piece = random.choice(others or pieces)
        self.load(piece, seed, play)
        return piece

    # -- transport ---------------------------------------------------------------------------

    def play(self) -> None:
        with self._lock:
            if self.stream is None:
                raise ApplianceError("no piece loaded")
            if self.state == "playing":
                return
            self.state = "playing"
            self.fade.to(1.0, RESUME_FADE, self.rate)
        self.publish(TransportChanged("playing"))

    def pause(self) -> None:
        with self._lock:
            if self.state != "playing":
                return
            self.state = "pausing"
            self.fade.to(0.0, PAUSE_FADE, self.rate)

    def set_volume(self, percent: int) -> None:
        """The output level, 0–100 % (100 % is the calibrated level with headroom)."""
        with self._lock:
            self._volume.to(volume_gain(percent), VOLUME_FADE, self.rate)

    def stop(self) -> None:
        with self._render_lock:
            with self._lock:
                self.state = "stopped"
                self._silence = True
                self.fade.value = self.fade.target = 0.0
            if self.stream is not None:
                self._start_at(0)
        self.publish(TransportChanged("stopped"))

    def seek(self, target: str = "beginning", bar: int = 0) -> int:
        """Go to the beginning, a bar as written, or the start of this / the previous phrase;
        returns the first note that will play."""
        with self._render_lock:
            score = self._need_score()
            notes = score.notes
            if target == "beginning":
                first = 0
            elif target == "bar":
                hits = np.flatnonzero(notes["bar_number"] == bar)
                if len(hits) == 0:
                    raise ApplianceError(f"this piece has no bar {bar}")
                first = int(hits[0])
            else:
                current = int(notes["bar"][self._current_note()])
                start = current - current % PHRASE_BARS
                if target == "back":
                    start = max(start - PHRASE_BARS, 0)
                first = int(np.flatnonzero(notes["bar"] >= start)[0])
            with self._lock:
                self._silence = True
                self._ended = False
            first = self._start_at(first)
        self.publish(Moved(target, int(score.notes["bar_number"][first])))
        return first

    def duck(self) -> None:
        with self._lock:
            self.ducker.duck()

    # -- directions --------------------------------------------------------------------------

    def direct(self, text: str, language: str | None = None, who: str = "") -> ParsedDirections:
        """Apply directions in words from the first note not yet started."""
        parsed = self.understand(text, language)
        self.apply(parsed, text, who)
        return parsed

    def apply_text(self, text: str, language: str | None = None) -> int:
        """Like :meth:`direct`; returns the first note the directions change."""
        return self.apply(self.understand(text, language), text)

    def understand(self, text: str, language: str | None) -> ParsedDirections:
        """The directions ``text`` asks for (an :class:`ApplianceError` when none)."""
        parsed = self.interpreter.interpret(text, language)
        if not parsed.understood:
            raise ApplianceError(f"{text!r} is not a direction the box knows")
        return parsed

    def apply(self, parsed: ParsedDirections, text: str = "", who: str = "") -> int:
        """Apply parsed directions from the first note not yet started; returns that note."""
        if self.steering is None or not isinstance(self.renderer, NeuralRenderer):
            raise ApplianceError("directions need the neural renderer and its steering vectors")
        with self._render_lock:
            stream, steering, score = self._need_stream(), self.steering, self._need_score()
            with self._lock:
                waiting = self.schedule.first_unstarted(self._safe_time())
            at = stream.rendered if waiting is None else waiting
            at = min(at, len(score.notes) - 1)
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
            first = self._rerender_from(at)
        described = tuple(f"{d.cls} {d.strength:+.2f} {d.scope.value}" for d in parsed.directions)
        bar = int(score.notes["bar_number"][min(first, len(score.notes) - 1)])
        self.publish(DirectionApplied(text, described or (parsed.control or "",), bar, first, who))
        return first

    def _safe_time(self) -> float:
        """Play time from which notes may be re-rendered: while the music moves, notes due
        within ``RERENDER_MARGIN`` keep their rendering (it may take that long)."""
        return self.clock + (RERENDER_MARGIN if self.state == "playing" else 0.0)

    def restyle(self, style: Style) -> int:
        """A new style (seed, vector or latents) from the first note not yet started."""
        with self._render_lock:
            stream = self._need_stream()
            with self._lock:
                waiting = self.schedule.first_unstarted(self._safe_time())
            offsets = self.style.offsets
            self.style = style if style.offsets is not None else style.with_offsets(offsets)
            return self._rerender_from(stream.rendered if waiting is None else waiting)

    # -- the audio side ----------------------------------------------------------------------

    def advance(self, frames: int) -> Block:
        """Called by the audio producer once per block: due events and the block's gain."""
        with self._lock:
            silence, self._silence = self._silence, False
            events: list[tuple[int, MidiEvent]] = []
            if silence:
                events += [(0, ev) for ev in self.keys.release_all(self.clock)]
                events.append((0, MidiEvent(self.clock, 1, "pedal", 64, 0)))
            moving = self.state in ("playing", "pausing")
            if moving:
                start, end = self.clock, self.clock + frames / self.rate
                for ev in self.schedule.due(end):
                    offset = int(np.clip((ev.time - start) * self.rate, 0, frames - 1))
                    events += [(offset, out) for out in self.keys.filter(ev)]
                self.clock = end
            gain = self.fade.block(frames) * self.ducker.block(frames) * self._volume.block(frames)
            if self.state == "pausing" and self.fade.settled:
                self.state = "paused"
                self._silence = True
                paused = True
            else:
                paused = False
            ended = moving and self._check_end()
        if paused:
            self.publish(TransportChanged("paused"))
        self._report(events)
        if ended:
            self._piece_ended()
        return Block(events, gain, silence)

    # -- internals ---------------------------------------------------------------------------

    def _need_score(self) -> Score:
        if self.score is None:
            raise ApplianceError("no piece loaded")
        return self.score

    def _need_stream(self) -> PerformanceStream:
        if self.stream is None:
            raise ApplianceError("no piece loaded")
        return self.stream

    def _current_note(self) -> int:
        with self._lock:
            waiting = self.schedule.first_unstarted()
        stream = self._need_stream()
        return max(0, min((stream.rendered if waiting is None else waiting) - 1, stream.rendered))

    def _start_at(self, first: int) -> int:
        """Rewind or render on so that note ``first`` (the start of an onset group, as bar starts
        are) plays next, START_LEAD seconds from now."""
        stream = self._need_stream()
        if self.steering is not None:  # directions in force hold from the new place on
            self.steering.restart(first)
            self.style = self.style.with_offsets(self.steering.offsets())
        stream.style = self.style
        stream.rewind(first)
        while stream.rendered < first and not stream.done:
            stream.render_next(first - stream.rendered)
        first = stream.rewind(first)
        timing = stream.render_next(1)
        notes = self._need_score().notes[first : first + len(timing)]
        with self._lock:
            self.schedule.clear()
            if len(timing):
                self.offset = self.clock + START_LEAD - float(timing["onset"].min())
                self.schedule.add(notes, timing, first, self.offset, False)
        return first

    def _rerender_from(self, at: int) -> int:
        """Re-render from note ``at`` (rounded up to an onset group) with the current style.

        ``at`` was chosen a while ago (planning a direction takes time, more on a busy box): the
        cut is decided again under the schedule's lock, after every note that has started by
        now, so that no note is ever struck twice."""
        stream = self._need_stream()
        stream.style = self.style
        with self._lock:
            cut = stream.rewind(max(at, self.schedule.last_started + 1))
            self.schedule.cut(cut)
        self._render_step(stream)
        return cut

    def _render_step(self, stream: PerformanceStream) -> None:
        first = stream.rendered
        timing = stream.render_next(RENDER_CHUNK)
        if len(timing) == 0:
            return
        notes = self._need_score().notes[first : first + len(timing)]
        with self._lock:
            self.schedule.add(notes, timing, first, self.offset)

    def _render_loop(self) -> None:
        failures = 0
        while self._running:
            try:
                busy = self.render_ahead()
            except Exception:  # keep the music going; report (less and less often) and retry
                failures += 1
                if self._quieter.should_say("render"):
                    log.exception("render-ahead failed (%d times in a row)", failures)
                    self.publish(Problem("the renderer failed; retrying"))
                time.sleep(retry_delay(failures))
                continue
            if failures:
                failures = 0
                self._quieter.over("render")
            if not busy:
                time.sleep(0.01)

    def render_ahead(self) -> bool:
        """Render the next chunk if less than ``ahead`` seconds are scheduled; True if it did."""
        with self._render_lock:
            stream = self.stream
            if stream is None or stream.done:
                return False
            with self._lock:
                if self.state == "stopped":
                    return False
                horizon = self.clock + self.settings.ahead
                rendered_until = self._rendered_until(stream)
            if rendered_until > horizon:
                return False
            self._render_step(stream)
            return True

    def _rendered_until(self, stream: PerformanceStream) -> float:
        if stream.rendered == 0:
            return -1.0
        return float(stream.performed["onset"][-1]) + self.offset

    def _check_end(self) -> bool:
        stream = self.stream
        if stream is None or self._ended or not stream.done or len(self.schedule):
            return False
        if self.clock < self.schedule.end_time + END_RING:
            return False
        self._ended = True
        return True

    def _piece_ended(self) -> None:
        piece = self.piece
        self.publish(PieceEnded(piece.id if piece else ""))
        if self.on_end is not None:
            self.on_end()
        elif self.settings.at_end == "next" and len(self.library) > 0:
            threading.Thread(target=self._next_piece, daemon=True).start()
        else:
            self.stop()

    def _next_piece(self) -> None:
        try:
            self.select("")
        except ApplianceError as exc:
            self.publish(Problem(str(exc)))

    def _report(self, events: list[tuple[int, MidiEvent]]) -> None:
        """Publish the bar position when a new bar starts sounding."""
        score, stream = self.score, self.stream
        if score is None or stream is None or self.bus is None:
            return
        for _, ev in events:
            if ev.kind != "note_on" or ev.note < 0 or ev.note >= len(score.notes):
                continue
            bar = int(score.notes["bar"][ev.note])
            if bar == self._bar:
                continue
            self._bar = bar
            expr = stream.expression
            if ev.note >= len(expr):
                continue
            in_bar = score.notes["bar"][: len(expr)] == bar
            self.publish(
                Position(
                    int(score.notes["bar_number"][ev.note]),
                    round(self.clock, 3),
                    round(60.0 / float(np.exp(expr["log_bp"][ev.note])), 1),
                    round(float(expr["velocity"][in_bar].mean()), 1),
                )
            )
