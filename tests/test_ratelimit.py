"""Guessing limits: per-client back-off, the shared bucket, and the odds the docs state."""

import re

import pytest

from appliance.web import pairing
from appliance.web.ratelimit import BackOff, BackOffPolicy, Bucket, GuessGuard, most_tries, odds


def test_a_few_mistakes_cost_nothing_then_waits_double():
    b = BackOff(BackOffPolicy(free=5, base=1.0, cap=600.0, forgive=600.0))
    waits = [b.failed("phone", 0.0) for _ in range(8)]
    assert waits == [0, 0, 0, 0, 0, 1, 2, 4]
    assert b.wait("phone", 0.0) == 4 and b.wait("phone", 4.0) == 0
    assert b.wait("someone else", 0.0) == 0
    b.succeeded("phone")
    assert b.wait("phone", 0.0) == 0


def test_waits_are_capped_and_mistakes_forgiven_with_time():
    b = BackOff(BackOffPolicy(free=5, base=1.0, cap=600.0, forgive=600.0))
    for _ in range(30):
        b.failed("x", 0.0)
    assert b.wait("x", 0.0) == 600
    for _ in range(30):
        b.failed("y", 0.0)
    assert b.failed("y", 30 * 600.0) == 0  # a day later: all forgiven, a free try again


def test_memory_stays_bounded_whoever_guesses():
    b = BackOff(max_keys=100)
    for i in range(1000):
        b.failed(f"10.0.{i // 256}.{i % 256}", float(i))
    assert len(b.records) <= 100


def test_the_bucket_allows_a_burst_then_one_per_refill():
    bucket = Bucket(burst=3, refill=10.0)
    for _ in range(3):
        assert bucket.wait(0.0) == 0
        bucket.spend(0.0)
    assert bucket.wait(0.0) == pytest.approx(10.0)
    assert bucket.wait(10.0) == 0


def test_links_are_held_only_to_the_clients_own_limit():
    guard = GuessGuard()
    for i in range(50):
        guard.failed(f"attacker {i}", 0.0)
    assert guard.wait("owner", 0.0) > 0  # PINs paused for everyone
    assert guard.wait("owner", 0.0, shared=False) == 0  # the QR code's link still works


def test_the_odds_in_the_pairing_docs_are_what_the_limits_give():
    """The table in appliance.web.pairing's docstring, recomputed."""
    doc = pairing.__doc__ or ""
    windows = {"a PIN's life": pairing.PIN_LIFETIME, "a day": 86400.0, "a month": 30 * 86400.0}
    for label, seconds in windows.items():
        row = next(line for line in doc.splitlines() if line.startswith(f"- {label}"))
        found = re.search(r"(\d[\d,]*) tries from one address, (\d[\d,]*) from many; "
                          r"chance ≤ ([\d.]+) %", row)  # fmt: skip
        assert found, row
        one, many, percent = found.groups()
        alone = most_tries(GuessGuard(), seconds, clients=1)
        spread = most_tries(GuessGuard(), seconds, clients=40)
        assert int(one.replace(",", "")) == alone
        assert int(many.replace(",", "")) == spread
        assert spread <= 20 + seconds / 300  # the bucket's bound
        assert float(percent) == pytest.approx(100 * odds(spread), rel=0.02, abs=1e-4)
    assert odds(22) < 1 / 45_000 and odds(8660) < 0.009
