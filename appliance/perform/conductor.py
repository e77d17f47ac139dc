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
  When the queue is full the command is refused with a Problem (the music goes on).
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass

from appliance.bus import Bus
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
    Volume,
)
from appliance.perform.commands import describe_command, parse_command
from appliance.perform.engine import Engine
from appliance.perform.feedback import FeedbackLog, feedback_directions

log = logging.getLogger(__name__)

TRANSPORT: tuple[type[Event], ...] = (Play, Pause, Stop, Duck, Volume)
QUEUE_LIMIT = 64  # commands waiting at most, per worker; more are refused with a Problem
BOX = "box"  # who: the box itself (the end of a piece)


@dataclass(frozen=True)
class _Job:
    event: Event
    who: str
    transport_epoch: int  # pauses/stops given before this command


class Conductor:
    def __init__(
        self,
        engine: Engine,
        bus: Bus | None = None,
        feedback: FeedbackLog | None = None,
        limit: int = QUEUE_LIMIT,
    ) -> None:
        self.engine = engine
        self.bus = bus
        self.feedback = feedback
        self._ordered: queue.Queue[_Job | None] = queue.Queue(limit)
        self._transport: queue.Queue[_Job | None] = queue.Queue(limit)
        self._epoch = 0  # counts pauses and stops
        self._epoch_lock = threading.Lock()
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

    def submit(self, event: Event, who: str = "") -> bool:
        """Queue a command from ``who`` ("" for nobody worth naming); False if refused.
        Never blocks: safe from the event loop, the console and the audio side alike."""
        if isinstance(event, Command):
            parsed = parse_command(event.text)
            if parsed is None:
                return False
            event = parsed
        if who and who != BOX:
            self._publish(Action(who, describe_command(event)))
        with self._epoch_lock:
            if isinstance(event, Pause | Stop):
                self._epoch += 1
            job = _Job(event, who, self._epoch)
        jobs = self._transport if isinstance(event, TRANSPORT) else self._ordered
        with self._idle:
            self._pending += 1
        try:
            jobs.put_nowait(job)
        except queue.Full:
            self._finished()
            self._publish(Problem("too many commands at once: that one was dropped"))
            return False
        return True

    # -- carrying them out -------------------------------------------------------------------

    def _work(self, jobs: queue.Queue[_Job | None]) -> None:
        while True:
            job = jobs.get()
            if job is None:
                return
            try:
                self._carry_out(job)
            except ApplianceError as exc:
                self._publish(Problem(str(exc)))
            except Exception as exc:  # never lost: the user hears that it failed
                log.exception("command %s failed", job.event.type)
                self._publish(Problem(f"could not do {job.event.type.replace('_', ' ')}: {exc}"))
            finally:
                self._finished()

    def _finished(self) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()

    def _carry_out(self, job: _Job) -> None:
        event, engine = job.event, self.engine
        if isinstance(event, SelectPiece):
            with self._epoch_lock:
                halted = self._epoch != job.transport_epoch
            engine.select(event.query, play=not halted or engine.state == "playing")
        elif isinstance(event, Direct):
            interpreter = engine.interpreter
            if not interpreter.ready and interpreter.needs_model(
                event.text, event.language or None
            ):
                self._publish(
                    Notice("one moment… (still loading the language model)", kind="loading")
                )
            engine.direct(event.text, event.language or None, who=job.who)
        elif isinstance(event, Feedback):
            self._feedback(event, job.who)
        else:
            engine.command(event)

    def _feedback(self, event: Feedback, who: str) -> None:
        """Remember it, and act on it at once with a gentle direction where it asks for one."""
        if self.feedback is not None:
            self.feedback.add(event.kind, who, self.engine.where())
        gentle = feedback_directions(event.kind)
        if gentle:
            parsed = ParsedDirections(tuple(DirectionRequest(c, s, sc) for c, s, sc in gentle))
            self.engine.apply(parsed, event.kind.replace("_", " "), who=who)

    def _publish(self, event: Event) -> None:
        if self.bus is not None:
            self.bus.publish(event)


def piece_end_policy(conductor: Conductor, at_end: str) -> Callable[[], None]:
    """What the engine does when a piece ends, as a command on the ordered path."""

    def ended() -> None:
        conductor.submit(SelectPiece("") if at_end == "next" else Stop(), BOX)

    return ended
