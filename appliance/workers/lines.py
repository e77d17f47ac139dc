"""The worker protocol's framing: one JSON object per line, each bounded (pure).

A supervisor sends ``{"id": n, …}`` requests on a worker's stdin; the worker answers each with
``{"id": n, …}`` on its stdout and announces ``{"ready": true}`` once its model is loaded.
Anything else a worker prints (a library's chatter) is not a message and is ignored.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import IO, Any

MAX_LINE = 4 * 1024 * 1024  # bytes per message (a 30-s utterance in base64 is about 1.3 MB)


def encode(message: dict[str, Any]) -> bytes:
    line = json.dumps(message, ensure_ascii=True, separators=(",", ":")).encode() + b"\n"
    if len(line) > MAX_LINE:
        raise ValueError(f"a worker message over {MAX_LINE} bytes")
    return line


def decode(line: bytes) -> dict[str, Any] | None:
    """The message on ``line``; None for a line that is not one (too long, not a JSON object)."""
    if len(line) > MAX_LINE or not line.strip().startswith(b"{"):
        return None
    try:
        message = json.loads(line)
    except (ValueError, RecursionError):
        return None
    return message if isinstance(message, dict) else None


def answer_requests(
    answer: Callable[[dict[str, Any]], dict[str, Any]], stdin: IO[bytes], stdout: IO[bytes]
) -> None:
    """The worker's side: answer each request on ``stdin`` with ``answer(request)`` and its id,
    until the input ends; lines that are not requests are skipped."""
    for line in stdin:
        request = decode(line)
        if request is None or not isinstance(request.get("id"), int):
            continue
        stdout.write(encode({**answer(request), "id": request["id"]}))
        stdout.flush()
