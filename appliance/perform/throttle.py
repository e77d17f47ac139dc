"""How fast each source may give commands: a token bucket per source (pure; clock injected).

A source (one phone) may give ``burst`` commands at once and then ``rate`` a second; more are
refused until its bucket fills again. Enough for anyone pressing buttons or speaking, far too
little for a flood to keep the box busy. Buckets of sources not heard from for a while are
forgotten, so the table stays small whoever connects.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from appliance.bucket import Bucket

RATE = 4.0  # commands a second, per source, sustained
BURST = 10  # commands at once
MAX_SOURCES = 256  # buckets kept; the least recently heard are forgotten


class Throttle:
    def __init__(
        self,
        rate: float = RATE,
        burst: int = BURST,
        clock: Callable[[], float] = time.monotonic,
        max_sources: int = MAX_SOURCES,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.max_sources = max_sources
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()

    def allow(self, source: str) -> bool:
        """Take one command's worth from ``source``'s bucket; False when it is empty."""
        now = self.clock()
        bucket = self._buckets.pop(source, None) or Bucket(self.burst, 1.0 / self.rate)
        self._buckets[source] = bucket  # most recently heard last
        while len(self._buckets) > self.max_sources:
            self._buckets.popitem(last=False)
        if bucket.wait(now) > 0.0:
            return False
        bucket.spend(now)
        return True

    def __len__(self) -> int:
        return len(self._buckets)
