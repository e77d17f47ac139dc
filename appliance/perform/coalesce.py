"""A backlog of commands, reduced to what still matters (pure).

When commands arrive faster than the box carries them out (a burst from a phone, several phones
at once), the worker takes everything waiting and carries it out in the order given, without
the work whose outcome a later command replaces anyway — and without losing any command's
effect:

- of pieces asked for in a row, only the last is loaded (when it is one the box will find:
  otherwise the one before it still counts);
- directions in a row are one step: the conductor applies them together with one re-render;
- the same transport command twice in a row once (they are idempotent); of volume changes in
  a row the last.

Seeks are never merged ("back" twice goes back two phrases), nor is feedback (it is
remembered).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from appliance.events import Direct, Duck, Event, Pause, Play, SelectPiece, Stop, Volume

MAX_TOGETHER = 16  # directions applied in one re-render at most


@dataclass(frozen=True)
class Job:
    """One command as queued: what, from whom, how many pauses/stops came before it, and how
    it was given (speech, face, button or text)."""

    event: Event
    who: str
    transport_epoch: int = 0
    via: str = "button"


Step = list[Job]  # jobs carried out together (more than one only for directions)


def coalesce(jobs: list[Job], will_load: Callable[[SelectPiece], bool]) -> list[Step]:
    """The steps that still matter, in order; ``will_load``: whether a piece asked for is one
    the box will find (only then does it replace the one asked for before it)."""
    steps: list[Step] = []
    for job in jobs:
        event = job.event
        last = steps[-1][-1].event if steps else None
        if isinstance(event, SelectPiece) and isinstance(last, SelectPiece) and will_load(event):
            steps.pop()
        elif isinstance(event, Direct) and isinstance(last, Direct):
            if len(steps[-1]) < MAX_TOGETHER:
                steps[-1].append(job)
                continue
        elif isinstance(event, Volume) and isinstance(last, Volume):
            steps.pop()
        elif isinstance(event, Play | Pause | Stop | Duck) and type(event) is type(last):
            continue
        steps.append([job])
    return steps
