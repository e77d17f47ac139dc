"""Saying a repeated problem less and less often (pure; the clock is injected).

A fault that repeats on every audio block or render step (a broken renderer, a sink that
fails) must not send a hundred Problems a second to every phone: the first time it is said,
then again after 1 s, 2 s, 4 s … at most once a minute while it goes on; once it has been quiet
for a minute, the next one is said at once again. Retries back off the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

FIRST = 1.0  # seconds of silence after the first report
LONGEST = 60.0  # seconds between reports at most


@dataclass
class _Repeat:
    last: float
    gap: float


@dataclass
class Quieter:
    first: float = FIRST
    longest: float = LONGEST
    clock: Callable[[], float] = time.monotonic
    _seen: dict[str, _Repeat] = field(default_factory=dict)

    def should_say(self, key: str) -> bool:
        """Whether to report the problem ``key`` now (True the first time, then less often)."""
        now = self.clock()
        seen = self._seen.get(key)
        if seen is None or now - seen.last > self.longest + seen.gap:  # quiet for a while
            self._seen[key] = _Repeat(now, self.first)
            return True
        if now - seen.last < seen.gap:
            return False
        seen.last, seen.gap = now, min(seen.gap * 2.0, self.longest)
        return True

    def over(self, key: str) -> None:
        """The problem ``key`` is over: the next one is reported at once."""
        self._seen.pop(key, None)


def retry_delay(failures: int, first: float = 0.01, longest: float = 1.0) -> float:
    """Seconds to wait before retrying after ``failures`` failures in a row."""
    return min(longest, first * 2.0 ** max(0, failures - 1))
