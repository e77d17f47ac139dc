"""A token bucket (pure; the time is passed in): ``burst`` at once, then one per ``refill``
seconds. Used to hold back PIN guesses (:mod:`appliance.web.ratelimit`) and each phone's
commands (:mod:`appliance.perform.throttle`)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Bucket:
    """A token bucket: ``burst`` tries at once, then one per ``refill`` seconds."""

    burst: int = 20
    refill: float = 300.0
    tokens: float = -1.0  # -1: full (set on first use)
    last: float = 0.0

    def wait(self, now: float) -> float:
        tokens = self._level(now)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) * self.refill

    def spend(self, now: float) -> None:
        self.tokens = max(0.0, self._level(now) - 1.0)
        self.last = now

    def _level(self, now: float) -> float:
        if self.tokens < 0.0:
            return float(self.burst)
        return min(float(self.burst), self.tokens + (now - self.last) / self.refill)
