"""Read a score from outside in a child process, with memory and time limits.

A hostile or broken file can make a parser hang, recurse or fill memory; here that only
costs a child process, which limits its own address space (``RLIMIT_AS``) and CPU time
(``RLIMIT_CPU``) before it reads anything, and which the parent kills when the wall-clock
limit passes. The child sends back the note table as an ``.npy`` array (read with
``allow_pickle=False``) and the rest as JSON: nothing it says can run code in the parent.
Start-up (importing partitura) costs about 3 s, so the box uses this for files it has not
checked yet (``render FILE``, ``library add``), and :func:`load_trusted_score` for library
pieces whose content it checked when they were added.
"""

from __future__ import annotations

import io
import json
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from appliance.errors import ScoreError
from appliance.paths import PACKAGE_ROOT
from appliance.process_priority import yield_to_the_box
from appliance.score.limits import (
    MAX_SCORE_BYTES,
    MEMORY_LIMIT_BYTES,
    TIME_LIMIT_SECONDS,
    WALL_FACTOR,
)
from appliance.score.notes import NOTE_DTYPE, Score
from appliance.threads import worker_environment

# The answer goes to the original standard output; from the first line on, anything else
# that prints (a library announcing itself on import, a warning) goes to the error stream.
_CHILD = (
    "import os; answer = os.dup(1); os.dup2(2, 1)\n"
    "from appliance.score.sandbox import child_main; child_main(answer)"
)
_STDERR_TAIL = 2000


def load_score(
    path: Path | str,
    *,
    max_bytes: int = MAX_SCORE_BYTES,
    memory: int = MEMORY_LIMIT_BYTES,
    seconds: float = TIME_LIMIT_SECONDS,
) -> Score:
    """Load a score file (played as written once) in a child process within the limits;
    every failure is a :class:`ScoreError` that names the file. ``seconds`` is processor
    time; the reader yields to the music, so on a busy box it may take up to
    ``WALL_FACTOR`` times as long by the clock before it is given up."""
    path = Path(path)
    command = [sys.executable, "-c", _CHILD, str(path), str(max_bytes), str(memory), str(seconds)]
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=errors,
            env=_child_environment(),
        )
        try:
            out, _ = child.communicate(timeout=seconds * WALL_FACTOR)
        except subprocess.TimeoutExpired:
            raise ScoreError(path, _too_slow(seconds, seconds * WALL_FACTOR)) from None
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        errors.seek(max(errors.tell() - _STDERR_TAIL, 0))
        tail = errors.read().decode("utf-8", "replace").strip()
    return _answer(path, child.returncode, out, tail, memory, seconds)


def _answer(path: Path, code: int, out: bytes, tail: str, memory: int, seconds: float) -> Score:
    if code in (-signal.SIGXCPU, -signal.SIGKILL):
        raise ScoreError(path, _too_slow(seconds))
    head, _, array = out.partition(b"\n")
    try:
        answer = json.loads(head)
    except ValueError:
        last = tail.splitlines()[-1] if tail else f"exit code {code}"
        if "MemoryError" in tail:
            raise ScoreError(path, _too_big(memory)) from None
        raise ScoreError(path, f"the score reader failed ({last})") from None
    if "problem" in answer:
        problem = str(answer["problem"])
        raise ScoreError(path, _too_big(memory) if problem == "memory" else problem)
    notes = np.load(io.BytesIO(array), allow_pickle=False)
    if notes.dtype != NOTE_DTYPE or notes.ndim != 1:
        raise ScoreError(path, "the score reader sent back a malformed note table")
    return Score(
        notes,
        title=str(answer["title"]),
        composer=str(answer["composer"]),
        source=path,
        bars=int(answer["bars"]),
        remarks=_remarks(answer.get("remarks")),
    )


def _too_slow(seconds: float, clock: float | None = None) -> str:
    if clock is None:
        return f"reading the score took over {seconds:g} s of processing, the limit; it is refused"
    return (
        f"reading the score took over {clock:g} s by the clock (the limit: {seconds:g} s of "
        "processing, more while the box is busy); it is refused"
    )


def _remarks(raw: object) -> tuple[str, ...]:
    """The reader's remarks, as short lines (anything else is dropped)."""
    if not isinstance(raw, list):
        return ()
    return tuple(str(r)[:200] for r in raw[:20] if isinstance(r, str))


def _too_big(memory: int) -> str:
    return f"the score needs more than {memory >> 20} MB to read, the limit; it is refused"


def _child_environment() -> dict[str, str]:
    # One thread whatever the user set: no per-thread arenas and stacks in the address space.
    env = worker_environment(1, keep_user=False)
    root = str(PACKAGE_ROOT.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


def child_main(answer_fd: int) -> None:
    """The child: limit itself, read the score, answer on ``answer_fd`` (the original
    standard output; standard output itself already goes to the error stream)."""
    answer = os.fdopen(answer_fd, "wb")
    path, max_bytes = Path(sys.argv[1]), int(sys.argv[2])
    memory, seconds = int(sys.argv[3]), float(sys.argv[4])
    _limit_self(memory, seconds)
    try:
        from appliance.score.load import load_trusted_score

        score = load_trusted_score(path, max_bytes=max_bytes)
        head = {
            "title": score.title,
            "composer": score.composer,
            "bars": score.bars,
            "remarks": list(score.remarks),
        }
        body = io.BytesIO()
        np.save(body, score.notes, allow_pickle=False)
        reply = json.dumps(head).encode() + b"\n" + body.getvalue()
    except ScoreError as exc:
        reply = json.dumps({"problem": exc.problem}).encode() + b"\n"
    except MemoryError:
        reply = b'{"problem": "memory"}\n'
    answer.write(reply)
    answer.close()


def _limit_self(memory: int, seconds: float) -> None:
    yield_to_the_box()  # a score being read never competes with the music
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = math.ceil(used.ru_utime + used.ru_stime + seconds)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
