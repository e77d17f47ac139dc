"""Untrusted XML, made safe to parse: decoded first, then checked on the text, then parsed.

The checks run on the decoded text, not on the bytes, so a UTF-16 or UTF-32 file cannot hide
an entity declaration from them; the parser then reads the very text that was checked, as
UTF-8. Entities are refused (never resolved), DTDs are never loaded and the network is never
used. Bad input raises :class:`ValueError` with a message meant for people; ``what`` names
the XML in it ("the score", "the .mxl container").
"""

from __future__ import annotations

import codecs
import re
from typing import Any

from lxml import etree

from appliance.score.limits import MAX_XML_TAGS

_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
}
_BOMS = (  # longest first: the UTF-32 LE mark starts with the UTF-16 LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_NO_BOM = (  # how "<?" (or "<" and a letter) starts in each encoding, per the XML spec's appendix F
    (b"\x00\x00\x00<", "utf-32-be"),
    (b"<\x00\x00\x00", "utf-32-le"),
    (b"\x00<\x00", "utf-16-be"),
    (b"<\x00", "utf-16-le"),
)
_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
_ENCODING = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]{1,40})[\"']")


def encoding_of(data: bytes) -> tuple[str, int]:
    """The XML's encoding and the length of its byte order mark, from the mark, the first
    bytes or the declaration (UTF-8 when none says otherwise)."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, len(bom)
    for start, name in _NO_BOM:
        if data.startswith(start):
            return name, 0
    declared = _ENCODING.match(data[:200].lstrip(b" \t\r\n"))
    if declared is None:
        return "utf-8", 0
    name = declared.group(1).decode("ascii")
    try:
        codec = codecs.lookup(name)
    except LookupError:
        raise ValueError(f"declares the unknown text encoding {name!r}") from None
    if codec.name.startswith(("utf-16", "utf-32")):  # declared so, but without the mark
        raise ValueError(f"declares {name} but does not start like {name} text")
    return codec.name, 0


def as_utf8(data: bytes, what: str) -> bytes:
    """The XML re-encoded as UTF-8 (with a declaration that says so), after the checks."""
    try:
        encoding, bom = encoding_of(data)
    except ValueError as exc:
        raise ValueError(f"{what} {exc}") from None
    try:
        text = data[bom:].decode(encoding)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{what} is not valid {encoding} text ({exc.reason})") from None
    if "<!ENTITY" in text:
        raise ValueError(f"{what} declares XML entities, which are refused for safety")
    tags = text.count("<")
    if tags > MAX_XML_TAGS:
        raise ValueError(f"{what} has over {MAX_XML_TAGS:,} XML tags, the limit")
    text = _DECLARATION.sub("", text, count=1).lstrip()
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text).encode("utf-8")


def parse(data: bytes, what: str) -> Any:
    """The XML's root element (lxml), after :func:`as_utf8`."""
    return parse_utf8(as_utf8(data, what), what)


def parse_utf8(text: bytes, what: str) -> Any:
    """The root element of XML that :func:`as_utf8` returned."""
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    try:
        return etree.fromstring(text, parser)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"{what} is not well-formed XML ({exc})") from None


def serialize(root: Any) -> bytes:
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return out
