"""The language model's worker process: JSON lines in, intents out.

The model takes a few hundred MB and seconds of both cores; in a process of its own it runs at
a lower priority than the music (:func:`yield_to_the_box`), can be limited and killed, and a
crash in llama.cpp costs an answer, not the box. Protocol, one JSON object per line:

- at start, once the model is loaded: ``{"ready": true}``
- request on stdin: ``{"id": int, "text": str, "language": str, "timeout": float}``
- answer on stdout: ``{"id": int, "intents": [intent, …] | null, "seconds": float}``
  (null: no valid answer within the timeout)
- a malformed request: ``{"id": int | null, "error": str}`` — and the worker goes on.

A request line may be at most :data:`MAX_LINE` bytes; a longer one is read to its end and
answered with an error. The worker ends at the end of its input.

    python -m appliance.understand.llm_worker [--threads N] [--model PATH]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from appliance.understand.intents import Intent, to_dict

MAX_LINE = 4096  # bytes of one request line
MAX_TIMEOUT = 30.0  # seconds any one request may take, whatever it asks

Answerer = Callable[[str, str, float], "tuple[Intent, ...] | None"]


@dataclass(frozen=True)
class Request:
    id: int
    text: str
    language: str
    timeout: float


def parse_request(line: bytes) -> Request:
    """A request from one line; ``ValueError`` says what is wrong with it."""
    try:
        raw = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ValueError("a request is a JSON object")
    rid, text, language, timeout = (raw.get(k) for k in ("id", "text", "language", "timeout"))
    if type(rid) is not int:
        raise ValueError("'id' must be a whole number")
    if not isinstance(text, str) or not isinstance(language, str):
        raise ValueError("'text' and 'language' must be text")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ValueError("'timeout' must be a positive number of seconds")
    return Request(rid, text, language, min(float(timeout), MAX_TIMEOUT))


def _request_id(line: bytes) -> int | None:
    """The id of a request that is otherwise malformed, where one can be read."""
    try:
        raw = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        return None
    rid = raw.get("id") if isinstance(raw, dict) else None
    return rid if type(rid) is int else None


def read_line(stream: IO[bytes]) -> bytes | None:
    """The next line without its newline, None at the end of input. A line longer than
    :data:`MAX_LINE` bytes is read to its end but only its first ``MAX_LINE + 1`` bytes are
    kept and returned: memory stays bounded and the caller sees it is too long."""
    line = stream.readline(MAX_LINE + 1)
    if not line:
        return None
    if len(line) > MAX_LINE and not line.endswith(b"\n"):
        while (rest := stream.readline(MAX_LINE)) and not rest.endswith(b"\n"):
            pass  # the rest of an overlong line, thrown away
        return line  # longer than MAX_LINE: the caller answers with an error
    return line.rstrip(b"\r\n")


def answer(line: bytes, answerer: Answerer) -> dict[str, Any]:
    """The answer to one request line (never raises for a bad line)."""
    if len(line) > MAX_LINE:
        return {"id": None, "error": f"request longer than {MAX_LINE} bytes"}
    try:
        request = parse_request(line)
    except ValueError as exc:
        return {"id": _request_id(line), "error": str(exc)}
    start = time.monotonic()
    found = answerer(request.text, request.language, request.timeout)
    intents = None if found is None else [to_dict(i) for i in found]
    return {"id": request.id, "intents": intents, "seconds": round(time.monotonic() - start, 3)}


def serve(source: IO[bytes], sink: IO[str], answerer: Answerer) -> None:
    """Answer every request line of ``source`` on ``sink``, one line each, until it ends."""
    while (line := read_line(source)) is not None:
        if not line.strip():
            continue
        sink.write(json.dumps(answer(line, answerer), ensure_ascii=False) + "\n")
        sink.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m appliance.understand.llm_worker")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for the model")
    parser.add_argument("--model", type=Path, default=None, help="the GGUF file")
    args = parser.parse_args(argv)

    from appliance.process_priority import yield_to_the_box
    from appliance.threads import limit_threads
    from appliance.workers.heartbeat import start_heartbeat

    yield_to_the_box()
    start_heartbeat()  # a stopped process stops beating: restarted within 2 s
    limit_threads(args.threads)
    from appliance.understand.llm import LanguageModel

    model = LanguageModel(args.model, threads=args.threads)
    print(json.dumps({"ready": True}), flush=True)
    serve(sys.stdin.buffer, sys.stdout, model.intents)
    return 0


if __name__ == "__main__":
    sys.exit(main())
