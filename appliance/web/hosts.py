"""The host part of an HTTP ``Host`` header, checked: a DNS name, an IPv4 address or an IPv6
literal in brackets, with an optional port. Anything else raises ``ValueError`` (the server
answers 400). Pure; used to build the HTTP → HTTPS redirect safely."""

from __future__ import annotations

import ipaddress
import re

_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def split_host(header: str) -> tuple[str, int | None]:
    """``(host, port)`` of a Host header; an IPv6 host comes back in brackets."""
    if not header or len(header) > 261 or not header.isascii():
        raise ValueError("no usable Host header")
    if header.startswith("["):
        end = header.find("]")
        if end < 0:
            raise ValueError("unclosed IPv6 literal")
        literal, rest = header[1:end], header[end + 1 :]
        ipaddress.IPv6Address(literal.split("%")[0])  # raises ValueError
        if "%" in literal:
            raise ValueError("zone ids are not allowed in a Host header")
        host = f"[{literal}]"
    else:
        host, sep, port_text = header.partition(":")
        rest = f":{port_text}" if sep else ""
        if not _is_name_or_ipv4(host):
            raise ValueError(f"not a host name: {host!r}")
    return host.lower(), _port(rest)


def https_location(header: str, port: int, path_qs: str) -> str:
    """The HTTPS URL of the same path on this host at ``port``; ValueError for a bad header."""
    host, _ = split_host(header)
    if not path_qs.startswith("/"):
        path_qs = "/" + path_qs
    return f"https://{host}:{port}{path_qs}"


def _port(rest: str) -> int | None:
    if not rest:
        return None
    if not rest.startswith(":") or not rest[1:].isdigit() or len(rest) > 6:
        raise ValueError("bad port")
    port = int(rest[1:])
    if not 0 < port < 65536:
        raise ValueError("bad port")
    return port


def _is_name_or_ipv4(host: str) -> bool:
    name = host[:-1] if host.endswith(".") else host
    if not name or len(name) > 253:
        return False
    return all(_LABEL.match(label) for label in name.split("."))
