"""Time and peak memory of ``appliance library add`` and ``render`` on the hostile files.

    python -m export.hostile_bench [FOLDER]

writes the issue #13 files at full size (``export/hostile_files.py``) into FOLDER (default:
a temporary folder), then runs each command with a fresh library in a temporary data folder
and prints one line per file: seconds, peak resident memory (the largest single process: the
command or the child that reads the score), exit code, message.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from export.hostile_files import write_all

# Runs one command and prints its seconds and the peak resident memory (KB) of the largest
# process it waited for: a fresh interpreter per command, so that the figure is this command's.
_TIMER = (
    "import resource, subprocess, sys, time\n"
    "t = time.monotonic()\n"
    "done = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
    "sys.stderr.write(done.stdout + done.stderr)\n"
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
    "print(time.monotonic() - t, peak, done.returncode)\n"
)


def measure(command: list[str], env: dict[str, str]) -> tuple[float, int, int, str]:
    """(seconds, peak KB, exit code, last line of output) of one command."""
    timed = [sys.executable, "-c", _TIMER, *command]
    done = subprocess.run(timed, capture_output=True, text=True, env=env, timeout=600)
    seconds, peak, code = done.stdout.split()[-3:]
    said = done.stderr.strip().splitlines()
    return float(seconds), int(peak), int(code), said[-1] if said else ""


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    files = sorted(p for p in write_all(folder))
    tool = str(Path(sys.executable).with_name("appliance"))
    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "APPLIANCE_DATA": data, "COLUMNS": "400"}
        subprocess.run([tool, "library", "init"], capture_output=True, env=env, check=True)
        for path in files:
            for name, command in (
                ("library add", [tool, "library", "add", str(path)]),
                ("render", [tool, "render", str(path), "-o", str(Path(data) / "out.mid")]),
            ):
                seconds, peak, code, said = measure(command, env)
                print(f"{path.name:32} {name:12} {seconds:6.1f} s {peak / 1024:6.0f} MB "
                      f"exit {code}  {said}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
