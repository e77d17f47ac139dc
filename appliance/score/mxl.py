"""The MusicXML inside an .mxl archive, unpacked with every size checked as it is read.

An archive's size headers are never trusted: each member is decompressed in pieces and
refused as soon as it grows past its limit, so a zip bomb costs at most the limit. Bad input
raises :class:`ValueError` with a message meant for people.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from appliance.score import xmlsafe
from appliance.score.limits import MAX_ARCHIVE_MEMBERS, MAX_CONTAINER_BYTES, MAX_XML_BYTES

CONTAINER = "META-INF/container.xml"
_END_OF_DIRECTORY = b"PK\x05\x06"
_PIECE = 1 << 20


def score_xml(data: bytes) -> bytes:
    """The bytes of the archive's score file (the one its container names, else the first
    MusicXML file in it)."""
    _check_member_count(data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            inner = _score_name(archive, names)
            if inner not in names:
                raise ValueError(f"the .mxl archive lacks its score file {inner!r}")
            return read_member(archive, inner, MAX_XML_BYTES, "the score inside the .mxl archive")
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError) as exc:
        raise ValueError(f"damaged or truncated .mxl archive ({exc})") from None


def read_member(archive: zipfile.ZipFile, name: str, limit: int, what: str) -> bytes:
    """A member's content, refused once more than ``limit`` bytes come out of it."""
    out = bytearray()
    with archive.open(name) as member:
        while piece := member.read(_PIECE):
            out += piece
            if len(out) > limit:
                raise ValueError(f"{what} unpacks to over {_size(limit)}, the limit")
    return bytes(out)


def _size(n: int) -> str:
    return f"{n >> 20} MB" if n >= 1 << 20 else f"{n >> 10} kB"  # as in appliance/score/limits


def _score_name(archive: zipfile.ZipFile, names: set[str]) -> str:
    if CONTAINER in names:
        raw = read_member(archive, CONTAINER, MAX_CONTAINER_BYTES, "the .mxl container")
        container = xmlsafe.parse(raw, "the .mxl container")
        rootfile = container.find(".//{*}rootfile")
        if rootfile is None or not rootfile.get("full-path"):
            raise ValueError("the .mxl container names no score file")
        return str(rootfile.get("full-path"))
    candidates = sorted(n for n in names if n.endswith((".xml", ".musicxml")))
    if not candidates:
        raise ValueError("the .mxl archive holds no MusicXML file")
    return candidates[0]


def _check_member_count(data: bytes) -> None:
    """Refuse archives whose directory lists too many files, before reading the directory."""
    end = data.rfind(_END_OF_DIRECTORY)
    if end < 0 or len(data) < end + 22:
        return  # not a zip at all: zipfile says so
    (members,) = struct.unpack("<H", data[end + 10 : end + 12])
    if members > MAX_ARCHIVE_MEMBERS:
        raise ValueError(
            f"the .mxl archive lists {members:,} files, over the limit of {MAX_ARCHIVE_MEMBERS:,}"
        )
