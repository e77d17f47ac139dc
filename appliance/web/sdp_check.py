"""A phone's SDP offer, checked before the WebRTC stack sees it (pure).

aiortc's parser trusts much of what it reads (a candidate's port, a media id, a missing
fingerprint surface later as exceptions deep in the connection). The box answers only offers
that look like a browser's: an audio section, a DTLS fingerprint, ICE credentials, sane media
ids and candidates. :func:`sdp_problem` says what is wrong in words, or "" when nothing is.
"""

from __future__ import annotations

import re

MAX_LINES = 2000
MAX_SECTIONS = 16
_LINE = re.compile(r"^[a-z]=")
_MID = re.compile(r"^[A-Za-z0-9_.\-]{1,32}$")
_MEDIA = re.compile(r"^(audio|video|application) (\d{1,5})(/\d+)? \S+( \S+)*$")


def sdp_problem(sdp: str) -> str:
    """What makes ``sdp`` unusable as an offer, or "" when nothing does."""
    lines = [line for line in sdp.replace("\r\n", "\n").split("\n") if line]
    if len(lines) > MAX_LINES:
        return f"more than {MAX_LINES} lines"
    sections: list[list[str]] = [[]]
    for line in lines:
        if not _LINE.match(line):
            return f"a line is not SDP: {line[:40]!r}"
        if line.startswith("m="):
            sections.append([])
        sections[-1].append(line)
    media = sections[1:]
    if not media:
        return "no media sections"
    if len(media) > MAX_SECTIONS:
        return f"more than {MAX_SECTIONS} media sections"
    kinds = []
    for section in media:
        problem = _media_problem(section)
        if problem:
            return problem
        kinds.append(section[0][2:].split(" ", 1)[0])
    if "audio" not in kinds:
        return "no audio section for the music"
    mids = [_value(s, "a=mid:") for s in media]
    named = [m for m in mids if m is not None]
    if len(set(named)) != len(named):
        return "two media sections share a media id"
    # (with BUNDLE, a browser may give these once, for the session or the first section)
    if not any(_value(s, "a=fingerprint:") for s in sections):
        return "no DTLS fingerprint"
    for credential in ("a=ice-ufrag:", "a=ice-pwd:"):
        if not any(_value(s, credential) for s in sections):
            return "no ICE credentials"
    return ""


def _value(section: list[str], prefix: str) -> str | None:
    return next((line[len(prefix) :] for line in section if line.startswith(prefix)), None)


def _media_problem(section: list[str]) -> str:
    match = _MEDIA.match(section[0][2:])
    if not match:
        return f"a media line is malformed: {section[0][:40]!r}"
    if int(match.group(2)) > 65535:
        return "a media port is out of range"
    mid = _value(section, "a=mid:")
    if mid is not None and not _MID.match(mid):
        return "a media id is malformed"
    for line in section:
        if line.startswith("a=candidate:"):
            problem = _candidate_problem(line[len("a=candidate:") :])
            if problem:
                return problem
    return ""


def _candidate_problem(candidate: str) -> str:
    """foundation component transport priority address port "typ" type …"""
    bits = candidate.split()
    if len(bits) < 8 or bits[6] != "typ":
        return "a candidate is malformed"
    component, priority, port = bits[1], bits[3], bits[5]
    if not (component.isdigit() and priority.isdigit() and port.isdigit()):
        return "a candidate is malformed"
    if not 0 < int(port) <= 65535 or not 0 < int(component) <= 256:
        return "a candidate's port is out of range"
    if bits[2].lower() not in ("udp", "tcp"):
        return "a candidate's transport is not UDP or TCP"
    return ""
