"""Time and peak memory of ``appliance library add`` and ``render`` on the hostile files.

    python -m export.hostile_bench [FOLDER]

writes the issue #13 files at full size (``tests/hostile.py``) into FOLDER (default: a
temporary folder), then runs each command under ``/usr/bin/time`` with a fresh library in a
temporary data folder and prints one line per file: seconds, peak resident memory of the
command and its children (``%M`` reports the largest single process), exit code, message.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.hostile import write_all


def measure(command: list[str], env: dict[str, str]) -> tuple[float, int, int, str]:
    """(seconds, peak KB, exit code, last line of output) of one command."""
    with tempfile.NamedTemporaryFile("r") as stats:
        timed = ["/usr/bin/time", "-o", stats.name, "-f", "%e %M", *command]
        done = subprocess.run(timed, capture_output=True, text=True, env=env, timeout=600)
        seconds, peak = stats.read().split()[-2:]
    said = (done.stdout + done.stderr).strip().splitlines()
    return float(seconds), int(peak), done.returncode, said[-1] if said else ""


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
