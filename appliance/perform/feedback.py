"""Feedback from listeners (👍 👎 too fast/slow/loud/soft …): acted on at once, and remembered.

"Too loud" makes the music a little softer from the next note on (a gentle, lasting direction);
like and dislike change nothing now. Every piece of feedback is appended to a log with the piece,
the bar and the style it was about (``feedback.jsonl`` in the box's data folder), for the
learning to come.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from appliance.directions.classes import Scope
from appliance.directions.gentle import ASPECT_OF_KIND, BY_ASPECT

_DIRECTIONS: dict[str, tuple[tuple[str, float], ...]] = {
    kind: (BY_ASPECT[aspect],) for kind, aspect in ASPECT_OF_KIND.items()
}


def feedback_directions(kind: str) -> tuple[tuple[str, float, Scope], ...]:
    """(class, strength, scope) of the gentle direction feedback ``kind`` asks for, if any."""
    return tuple((cls, strength, Scope.FROM_NOW) for cls, strength in _DIRECTIONS.get(kind, ()))


@dataclass(frozen=True)
class Where:
    """What a listener was hearing."""

    piece_id: str = ""
    bar: int = 0
    seed: int = 0


class FeedbackLog:
    """Append-only JSON lines; one line per piece of feedback, written at once."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def add(self, kind: str, who: str, where: Where) -> None:
        line = json.dumps(
            {
                "time": round(time.time(), 3),
                "who": who,
                "kind": kind,
                "piece": where.piece_id,
                "bar": where.bar,
                "seed": where.seed,
            },
            ensure_ascii=False,
        )
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(line + "\n")

    def read(self) -> list[dict[str, object]]:
        if not self.path.exists():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out
