"""The soak benchmark's 2-minute version (``make bench`` runs 30 minutes with 8 phones): phones
listen and conduct while one client abuses the box; no underruns, no latency drift, no memory
growth. It runs as its own process, as the box does (not inside the test session, whose
leftovers would be measured too). CI's machine also runs the simulated phones (decoding their
music), so it soaks with 4."""

import os
import subprocess
import sys


def test_two_minutes_of_phones_and_an_abuser():
    done = subprocess.run(
        [sys.executable, "-m", "export.bench_soak", "--minutes", "2", "--phones", "4"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "COLUMNS": "300"},  # one line per figure
    )
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    assert "underruns at the phones' music queues: 0" in done.stdout
