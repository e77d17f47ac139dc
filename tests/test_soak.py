"""The soak benchmark's 2-minute version (``make bench`` runs 30 minutes with 8 phones): phones
listen and conduct while one client abuses the box; no underruns, no latency drift, no memory
growth. CI's machine also runs the simulated phones (decoding their music), so it soaks with 4."""

from export.bench_soak import DRIFT_LIMIT, GROWTH_LIMIT, run_soak, show


def test_two_minutes_of_phones_and_an_abuser():
    result = run_soak(120.0, phones=4)
    show(result)
    assert result.underruns == 0
    assert max(result.drift_ms) < DRIFT_LIMIT * 1000
    assert result.growth < GROWTH_LIMIT
    assert result.music_share > 0.8  # (the music pauses twice for the clicks)
    assert result.abusive["ghosts refused"] > 0  # the abuser really was at work
    assert result.abusive["abuser told to slow down"] > 0
    assert result.sent > 4 * 120 / 6
