"""One ordered path for every command, whoever gives it: a phone, the console, the end of a
piece (and later speech and faces).

- **Transport** (play, pause, stop, duck, volume) acts at once on a worker of its own: these
  are short and never wait behind anything slow.
- **Everything else** (directions, seeks, another piece, feedback) goes through one bounded
  queue with one worker and is applied in the order given. A free-form direction given while the
  sentence model is still loading tells the user "one moment…" and waits for it; the commands
  after it wait their turn rather than overtaking it.
- A piece asked for before a later pause or stop is loaded but not started.
- Every error becomes a :class:`~appliance.events.Problem` on the bus; nothing is lost silently.
- With the box's memory (:mod:`appliance.perform.memory`): each piece started is a performance
  (it starts the way the person who asked for it likes it, else the way the room does), each
  piece of feedback is remembered and teaches the taste of who gave it and the room's, and
  "the way Grandma likes it" plays on with Grandma's taste.
- A burst cannot keep the box busy: each phone may give a few commands at once and then a few
  a second (:mod:`appliance.perform.throttle`; more are refused and the phone is told), the
  queues are bounded (when full, a command is refused with a Problem), and a backlog is carried
  out without the work a later command replaces anyway (:mod:`appliance.perform.coalesce`:
  of pieces asked for in a row only the last is loaded; directions in a row are applied with
  one re-render).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable

from appliance.bus import Bus
from appliance.directions.classes import Scope
from appliance.directions.encoded import decode
from appliance.directions.words import DirectionRequest, ParsedDirections
from appliance.errors import ApplianceError
from appliance.events import (
    Action,
    Command,
    Direct,
    Duck,
    Event,
    Feedback,
    Notice,
    Pause,
    Play,
    Problem,
    SelectPiece,
    Stop,
    TasteOf,
    Volume,
)
from appliance.learn.taste import directions_of
from appliance.library.catalog import Piece
from appliance.library.choose import choose_piece
from appliance.library.match import find
from appliance.perform.coalesce import Job, Step, coalesce
from appliance.perform.commands import describe_command, parse_command
from appliance.perform.engine import Engine
from appliance.perform.feedback import feedback_directions
from appliance.perform.intent_events import events_for
from appliance.perform.memory import Memory, Whose
from appliance.perform.throttle import Throttle
from appliance.perform.transport import AtEnd, Transport
from appliance.understand.intents import Understanding

log = logging.getLogger(__name__)

TRANSPORT: tuple[type[Event], ...] = (Play, Pause, Stop, Duck, Volume)
QUEUE_LIMIT = 64  # commands waiting at most, per worker; more are refused with a Problem
BOX = "box"  # who: the box itself (the end of a piece)


def directions_in_force(engine: Engine) -> list[list[object]]:
    """The directions steering the music now, as a performance row keeps them."""
    steering = engine.steering
    in_force = steering.active if steering is not None else []
    return [[r.cls, r.strength, r.scope.value] for r in in_force]


class Conductor:
    def __init__(
        self,
        engine: Engine,
        bus: Bus | None = None,
        memory: Memory | None = None,
        limit: int = QUEUE_LIMIT,
        throttle: Throttle | None = None,
    ) -> None:
        self.engine = engine
        self.bus = bus
        self.memory = memory
        self.throttle = throttle or Throttle()
        self._throttle_lock = threading.Lock()
        self._ordered: queue.Queue[Job | None] = queue.Queue(limit)
        self._transport: queue.Queue[Job | None] = queue.Queue(limit)
        self._epoch = 0  # counts pauses and stops
        self._epoch_lock = threading.Lock()
        self._order_lock = threading.Lock()  # an Action line and its queueing happen together
        self._threads: list[threading.Thread] = []
        self._idle = threading.Condition()
        self._pending = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        for name, jobs in (("commands", self._ordered), ("transport", self._transport)):
            thread = threading.Thread(target=self._work, args=(jobs,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        for jobs in (self._ordered, self._transport):
            with contextlib.suppress(queue.Full):
                jobs.put_nowait(None)
        for thread in self._threads:
            thread.join(timeout=2.0)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until every command given so far has been carried out (tests, benchmarks)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    # -- giving commands ---------------------------------------------------------------------

    def submit_understood(
        self,
        understanding: Understanding,
        who: str = "",
        source: str | None = None,
        via: str = "text",
    ) -> str | None:
        """Queue the commands an understood utterance asks for, in order; None when all were
        queued, else why one was refused (those before it stay queued). ``via``: speech or
        text."""
        for event in events_for(understanding):
            refusal = self.submit(event, who, source, via)
            if refusal is not None:
                return refusal
        return None

    def submit(
        self, event: Event, who: str = "", source: str | None = None, via: str | None = None
    ) -> str | None:
        """Queue a command from ``who`` ("" for nobody worth naming); None when queued, else
        why it was refused. ``source``: the key that throttles it (one per phone; commands
        without one, from the box itself and its console, are not throttled). ``via``: how it
        was given, as the memory keeps it (speech, face, button, text; default: text for a
        typed ``Command``, else a button). Never blocks: safe from the event loop, the console
        and the audio side alike."""
        if isinstance(event, Command):
            parsed = parse_command(event.text)
            if parsed is None:
                return "an empty command"
            if self.memory is not None:  # typed, and read by the command rules
                self.memory.utterance(event.text, event.language, [{"kind": parsed.type}], who)
            event = parsed
            via = via or "text"
        if isinstance(event, TasteOf) and event.name and not self._knows(event.name):
            return f"no one here is called {event.name}: each phone chooses its name"
        if source is not None:
            with self._throttle_lock:
                allowed = self.throttle.allow(source)
            if not allowed:
                return "too many commands at once: wait a moment"
        with self._order_lock:  # phones, the console and the voice thread submit at once
            return self._queue(event, who, via or "button")

    def _knows(self, name: str) -> bool:
        return self.memory is not None and self.memory.knows(name)

    def _queue(self, event: Event, who: str, via: str) -> str | None:
        if who and who != BOX:
            self._publish(Action(who, describe_command(event)))
        with self._epoch_lock:
            if isinstance(event, Pause | Stop):
                self._epoch += 1
            job = Job(event, who, self._epoch, via)
        jobs = self._transport if isinstance(event, TRANSPORT) else self._ordered
        with self._idle:
            self._pending += 1
        try:
            jobs.put_nowait(job)
        except queue.Full:
            self._finished()
            message = "too many commands at once: that one was dropped"
            self._publish(Problem(message))
            return message
        return None

    # -- carrying them out -------------------------------------------------------------------

    def _work(self, jobs: queue.Queue[Job | None]) -> None:
        while True:
            backlog = [jobs.get()]
            while True:  # everything waiting now: reduced to what still matters
                try:
                    backlog.append(jobs.get_nowait())
                except queue.Empty:
                    break
            closing = None in backlog
            if closing:
                backlog = backlog[: backlog.index(None)]
            waiting = [job for job in backlog if job is not None]
            steps = coalesce(waiting, self._will_load)
            for step in steps:
                self._step(step)
            for _ in waiting:
                self._finished()
            if closing:
                return

    def _will_load(self, event: SelectPiece) -> bool:
        library = self.engine.library
        if not event.query.strip():
            return len(library.pieces) > 0
        return find(list(library.pieces.values()), event.query) is not None

    def _step(self, step: Step) -> None:
        try:
            if len(step) > 1:
                self._directions(step)
            else:
                self._carry_out(step[0])
        except ApplianceError as exc:
            self._publish(Problem(str(exc)))
        except Exception as exc:  # never lost: the user hears that it failed
            kind = step[0].event.type
            log.exception("command %s failed", kind)
            self._publish(Problem(f"could not do {kind.replace('_', ' ')}: {exc}"))

    def _finished(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def _carry_out(self, job: Job) -> None:
        event, engine = job.event, self.engine
        if isinstance(event, SelectPiece):
            with self._epoch_lock:
                halted = self._epoch != job.transport_epoch
            playing = engine.piece.id if engine.piece else None
            piece = choose_piece(engine.library, event.query, playing)
            self.start_piece(piece, job.who, play=not halted or engine.state is Transport.PLAYING)
        elif isinstance(event, Direct):
            self._directions([job])
        elif isinstance(event, Feedback):
            self._feedback(event, job)
        elif isinstance(event, TasteOf):
            self._taste_of(event, job)
        else:
            engine.command(event)

    def start_piece(
        self, piece: Piece, who: str = "", seed: int | None = None, play: bool = True
    ) -> None:
        """Load ``piece`` (asked for by ``who``; "" or the box: nobody in particular) and, with
        the box's memory, start it the way that person likes it (else the way the room does)
        and remember the performance. On the command path (and once when the box starts)."""
        engine, memory = self.engine, self.memory
        engine.load(piece, seed, play=False)
        if memory is not None:
            whose = memory.taste_for_piece(who)
            if whose is not None and engine.steering is not None:
                try:
                    self._play_taste(whose, who, "")
                except ApplianceError as exc:  # the piece plays on as written
                    why = f"could not play it the way {whose.name} likes it: {exc}"
                    self._publish(Problem(why))
            current = engine.current
            memory.performance(
                piece,
                current.seed if current is not None else 0,
                who if who != BOX else "",
                directions_in_force(engine),
                getattr(engine.renderer, "version", None) or None,
                engine.clock,
            )
        if play:
            engine.play()

    def _play_taste(self, whose: Whose, who: str, via: str) -> None:
        """Play on from the next notes with ``whose`` taste (its style vector and gentle
        directions), and say so."""
        if whose.taste.has_style:
            self.engine.use_style_vector(whose.taste.style)
        gentle = directions_of(whose.taste)
        requests = tuple(DirectionRequest(c, s, Scope.FROM_NOW) for c, s in gentle)
        if requests:
            self.engine.apply(
                ParsedDirections(requests), f"the way {whose.name} likes it", who=who, source=via
            )
        self._publish(Notice(f"playing it the way {whose.name} likes it"))

    def _taste_of(self, event: TasteOf, job: Job) -> None:
        """ "The way Grandma likes it" / "the way I like it": that taste from the next notes."""
        memory = self.memory
        name = event.name or job.who
        whose = None
        if memory is not None:
            whose = memory.taste_named(event.name) if event.name else memory.taste_of(job.who)
        if whose is None:
            if event.name or (memory is not None and memory.device_of(job.who)):
                self._publish(Notice(f"{name} has not told the box what they like yet"))
            else:
                self._publish(Notice("the box knows the taste of paired phones only"))
            return
        self._play_taste(whose, job.who, job.via)

    def _directions(self, step: Step) -> None:
        """Directions given in a row: understood one by one (what is not understood is said),
        applied together with one re-render; an "undo" or "reset" on its own, in its place."""
        engine = self.engine
        together: list[tuple[ParsedDirections, Job]] = []
        for job in step:
            direct = job.event
            assert isinstance(direct, Direct)
            language = direct.language or None
            interpreter = engine.interpreter
            try:
                if direct.directions:
                    parsed = _already_understood(direct)
                else:
                    if not interpreter.ready and interpreter.needs_model(direct.text, language):
                        self._publish(
                            Notice("one moment… (still loading the language model)", kind="loading")
                        )
                    parsed = engine.understand(direct.text, language)
            except ApplianceError as exc:
                self._publish(Problem(str(exc)))
                continue
            if parsed.control is not None:
                self._apply_together(together)
                together = []
                engine.apply(parsed, direct.text, who=job.who, source=job.via)
            else:
                together.append((parsed, job))
        self._apply_together(together)

    def _apply_together(self, together: list[tuple[ParsedDirections, Job]]) -> None:
        if not together:
            return
        requests = tuple(r for parsed, _ in together for r in parsed.directions)
        texts = [job.event.text for _, job in together if isinstance(job.event, Direct)]
        who = ", ".join(dict.fromkeys(job.who for _, job in together if job.who))
        via = together[0][1].via
        self.engine.apply(ParsedDirections(requests), " · ".join(texts), who=who, source=via)

    def _feedback(self, event: Feedback, job: Job) -> None:
        """Remember it, learn from it (the taste of who gave it, and the room's), and act on it
        at once with a gentle direction where it asks for one."""
        engine, memory, who = self.engine, self.memory, job.who
        if memory is not None:
            steering = engine.steering
            in_force = steering.active if steering is not None else []
            memory.feedback(event.kind, who, engine.where(), engine.clock)
            style = engine.style_now() if event.kind in ("like", "dislike") else None
            playing = None if style is None else [float(v) for v in style]
            memory.learn(event.kind, who, [(r.cls, r.strength) for r in in_force], playing)
        gentle = feedback_directions(event.kind)
        if gentle:
            parsed = ParsedDirections(tuple(DirectionRequest(c, s, sc) for c, s, sc in gentle))
            engine.apply(parsed, event.kind.replace("_", " "), who=who, source=job.via)

    def _publish(self, event: Event) -> None:
        if self.bus is not None:
            self.bus.publish(event)


def _already_understood(direct: Direct) -> ParsedDirections:
    try:
        return decode(direct.directions, direct.language)
    except ValueError as exc:
        raise ApplianceError(f"those directions cannot be used: {exc}") from None


def piece_end_policy(conductor: Conductor, at_end: AtEnd) -> Callable[[], None]:
    """What the box does when a piece ends, as a command on the ordered path (the engine calls
    it on the audio side: it only queues)."""

    then: Event = SelectPiece("") if AtEnd(at_end) is AtEnd.NEXT else Stop()

    def ended() -> None:
        conductor.submit(then, BOX)

    return ended
