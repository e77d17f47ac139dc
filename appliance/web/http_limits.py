"""Limits on what one HTTP client may cost the box: time to send its headers, body size, time
to send its body. The aiohttp side of the web server (the I/O edge).

- **Headers:** aiohttp's keep-alive timer closes a connection that is still waiting for a
  complete request :data:`HEADER_TIMEOUT` seconds after it opened (or after its last response),
  however many bytes trickle in meanwhile (it watches for a whole request, not for traffic).
  :data:`HANDLER_ARGS` sets it; ``tests/test_http_limits.py`` holds aiohttp to it with a client
  that sends a header line every 2 s.
- **Body size:** a ``Content-Length`` over :data:`MAX_BODY` is refused (413) before a byte of the
  body is read, and the connection is closed (no lingering read of the rest). A chunked body is
  cut at ``MAX_BODY`` by aiohttp's ``client_max_size``, with the same close.
- **Body time:** :func:`read_json` gives a body :data:`BODY_TIMEOUT` seconds.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

MAX_BODY = 128 * 1024  # bytes
HEADER_TIMEOUT = 10.0  # seconds to send a complete request line and headers (and idle time)
BODY_TIMEOUT = 10.0  # seconds to send a body
HANDLER_ARGS: dict[str, Any] = {
    "keepalive_timeout": HEADER_TIMEOUT,
    "lingering_time": 0.0,  # after a refused body, close at once instead of reading the rest
}


def json_error(status: int, message: str, close: bool = False) -> web.Response:
    response = web.json_response({"error": message}, status=status)
    if close:
        response.force_close()
    return response


@web.middleware
async def limit_bodies(request: web.Request, handler: Any) -> web.StreamResponse:
    """Refuse a declared body over :data:`MAX_BODY` before reading it, and close."""
    length = request.content_length
    if length is not None and length > MAX_BODY:
        return json_error(413, f"request bodies are limited to {MAX_BODY} bytes", close=True)
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPRequestEntityTooLarge:  # a chunked body that grew too large
        return json_error(413, f"request bodies are limited to {MAX_BODY} bytes", close=True)
    return response


async def read_json(request: web.Request) -> Any:
    """The request's JSON body, read within :data:`BODY_TIMEOUT`; raises HTTP errors (400, 408)
    with a JSON message."""
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            raw = await request.read()
    except TimeoutError:
        request.protocol.force_close()
        raise _http(web.HTTPRequestTimeout, "the body came too slowly") from None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _http(web.HTTPBadRequest, "the body must be JSON") from None


def _http(kind: type[web.HTTPException], message: str) -> web.HTTPException:
    return kind(text=json.dumps({"error": message}), content_type="application/json")
