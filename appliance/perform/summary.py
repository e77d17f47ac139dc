"""What happened in a session, for the facilitator: the pieces played, who asked for what, and
the tempo and loudness bar by bar (pure; fed the events the box publishes, bounded).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from appliance.events import Action, DirectionApplied, Event, NowPlaying, Position

MAX_POINTS = 20_000  # bars of curve kept (hours of music)
MAX_LINES = 2_000  # requests kept
SAME_WITHIN = 5.0  # seconds: a request told twice within this is one
QUIET = ("joined", "left", "speaking", "paired", "no longer paired")  # not requests


@dataclass(frozen=True)
class Played:
    title: str
    composer: str
    started: float  # seconds since the session began


@dataclass(frozen=True)
class Asked:
    at: float  # seconds since the session began
    who: str
    what: str


@dataclass
class Summary:
    started: float = field(default_factory=time.time)
    ended: float | None = None
    pieces: list[Played] = field(default_factory=list)
    asked: list[Asked] = field(default_factory=list)
    # the curves: seconds since the session began, tempo (beats a minute), loudness (0–127)
    seconds: list[float] = field(default_factory=list)
    tempo: list[float] = field(default_factory=list)
    loudness: list[float] = field(default_factory=list)

    def take(self, event: Event, now: float | None = None) -> None:
        """Note one event the box published."""
        at = (time.time() if now is None else now) - self.started
        if isinstance(event, NowPlaying) and event.title:
            last = self.pieces[-1] if self.pieces else None
            new = last is None or (last.title, last.composer) != (event.title, event.composer)
            if new and len(self.pieces) < MAX_LINES:
                self.pieces.append(Played(event.title, event.composer, at))
        elif isinstance(event, Position) and event.tempo_bpm > 0:
            if len(self.seconds) < MAX_POINTS:
                self.seconds.append(at)
                self.tempo.append(float(event.tempo_bpm))
                self.loudness.append(float(event.velocity))
        elif isinstance(event, Action) and event.who and not event.what.startswith(QUIET):
            self._ask(at, event.who, event.what)
        elif isinstance(event, DirectionApplied) and event.who and event.source:
            self._ask(at, event.who, event.text or " ".join(event.directions))

    def _ask(self, at: float, who: str, what: str) -> None:
        """One request; the same one told twice (the command, then the direction it became)
        is kept once."""
        said = _plain(what)
        for line in self.asked[-4:]:
            before = _plain(line.what)
            recent = line.who == who[:80] and at - line.at < SAME_WITHIN
            if recent and (before.startswith(said) or said.startswith(before)):
                return
        if len(self.asked) < MAX_LINES:
            self.asked.append(Asked(at, who[:80], what[:200]))

    def who_asked(self) -> dict[str, list[str]]:
        """Each person's requests, in order."""
        out: dict[str, list[str]] = {}
        for line in self.asked:
            out.setdefault(line.who, []).append(line.what)
        return out

    def to_json(self) -> dict[str, object]:
        return {
            "started": self.started,
            "ended": self.ended,
            "pieces": [{"title": p.title, "composer": p.composer} for p in self.pieces],
            "asked": [{"who": a.who, "what": a.what, "at": round(a.at, 1)} for a in self.asked],
            "bars": len(self.seconds),
        }


def _plain(text: str) -> str:
    return text.strip().strip("“”\"'").casefold()
