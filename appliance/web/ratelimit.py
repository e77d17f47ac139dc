"""How often someone may guess: per-client exponential back-off and one bucket for everyone.

Pure logic with the time passed in (seconds on any monotonic clock). The server asks
:meth:`GuessGuard.wait` before it checks a PIN, then reports the outcome with
:meth:`GuessGuard.failed` or :meth:`GuessGuard.succeeded`.

- **Per client** (:class:`BackOff`, keyed by the client's address): the first ``free`` wrong
  tries cost nothing; after that each one makes the client wait ``base``, 2·``base``,
  4·``base`` … seconds, at most ``cap``. Wrong tries are forgiven one per ``forgive``
  seconds, and a right PIN forgets the client. Someone who mistypes a few times waits seconds.
- **Everyone together** (:class:`Bucket`): ``burst`` wrong PINs at once, then one more per
  ``refill`` seconds, whoever sends them; this is what bounds an attacker with many addresses.
  In any window of T seconds at most ``burst + T / refill`` wrong PINs are checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from appliance.bucket import Bucket


@dataclass(frozen=True)
class BackOffPolicy:
    free: int = 5  # wrong tries without any wait
    base: float = 1.0  # seconds: the first wait
    cap: float = 600.0  # seconds: the longest wait
    forgive: float = 600.0  # seconds per wrong try forgiven


@dataclass
class _Record:
    count: float = 0.0  # wrong tries not yet forgiven (as of ``last``)
    last: float = 0.0
    until: float = 0.0  # no try before this time


@dataclass
class BackOff:
    """Exponential back-off per key (a client's address)."""

    policy: BackOffPolicy = field(default_factory=BackOffPolicy)
    max_keys: int = 10_000  # beyond this the quietest keys are dropped (bounded memory)
    records: dict[str, _Record] = field(default_factory=dict)

    def wait(self, key: str, now: float) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        record = self.records.get(key)
        return 0.0 if record is None else max(0.0, record.until - now)

    def failed(self, key: str, now: float) -> float:
        """Count a wrong try; returns the wait it earns."""
        record = self.records.setdefault(key, _Record(last=now))
        record.count = self._count(record, now) + 1.0
        record.last = now
        over = record.count - self.policy.free
        delay = 0.0 if over <= 0 else min(self.policy.cap, self.policy.base * 2 ** (over - 1))
        record.until = now + delay
        if len(self.records) > self.max_keys:
            self.prune(now)
        return delay

    def succeeded(self, key: str) -> None:
        self.records.pop(key, None)

    def prune(self, now: float) -> None:
        """Drop forgiven keys; if still too many, the ones quiet for longest."""
        for key, record in list(self.records.items()):
            if self._count(record, now) <= 0.0 and record.until <= now:
                del self.records[key]
        if len(self.records) > self.max_keys:
            by_age = sorted(self.records, key=lambda k: self.records[k].last)
            for key in by_age[: len(self.records) - self.max_keys]:
                del self.records[key]

    def _count(self, record: _Record, now: float) -> float:
        return max(0.0, record.count - (now - record.last) / self.policy.forgive)


@dataclass
class GuessGuard:
    """Per-client back-off plus the shared bucket, for PINs. Links (128 random bits, out of
    reach of guessing) are held to the per-client back-off only, so that the QR code still
    pairs while someone drains the shared bucket."""

    clients: BackOff = field(default_factory=BackOff)
    everyone: Bucket = field(default_factory=Bucket)

    def wait(self, client: str, now: float, shared: bool = True) -> float:
        own = self.clients.wait(client, now)
        return max(own, self.everyone.wait(now)) if shared else own

    def failed(self, client: str, now: float, shared: bool = True) -> None:
        self.clients.failed(client, now)
        if shared:
            self.everyone.spend(now)

    def succeeded(self, client: str) -> None:
        self.clients.succeeded(client)


def most_tries(guard: GuessGuard, seconds: float, clients: int = 1) -> int:
    """How many wrong tries a greedy attacker gets checked in ``seconds`` from a fresh guard,
    spreading them over ``clients`` addresses (each try as soon as one of them may)."""
    now, tries = 0.0, 0
    names = [f"attacker {i}" for i in range(clients)]
    while True:
        waits = [guard.wait(name, now) for name in names]
        best = min(range(clients), key=waits.__getitem__)
        now += waits[best]
        if now > seconds:
            return tries
        guard.failed(names[best], now)
        tries += 1


def odds(tries: int, space: int = 10**6) -> float:
    """The chance that at least one of ``tries`` guesses hits a uniformly random PIN out of
    ``space`` (each guess against a PIN the attacker has not ruled out: at most 1/(space-tries)
    per guess; we use the union bound)."""
    return min(1.0, tries / max(1, space - tries))
