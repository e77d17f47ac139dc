"""A worker for the supervisor's tests: answers each request with what it was sent, after
``delay`` seconds; ``{"exit": code}`` makes it die on the spot."""

from __future__ import annotations

import os
import sys
import time

from appliance.workers.lines import decode, encode


def main() -> None:
    out = sys.stdout.buffer
    print("some library chatter that is not a message", flush=True)
    out.write(encode({"ready": True, "pid": os.getpid()}))
    out.flush()
    for line in sys.stdin.buffer:
        request = decode(line)
        if request is None:
            continue
        if "exit" in request:
            os._exit(int(request["exit"]))
        time.sleep(float(request.get("delay", 0.0)))
        out.write(encode({**request, "pid": os.getpid()}))
        out.flush()


if __name__ == "__main__":
    main()
