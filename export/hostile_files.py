"""Hostile score files (issue #13), built in memory: nothing large is kept in the repository.

Sizes are parameters, so the tests use files just over each limit and
``python -m export.hostile_files FOLDER`` writes the full-size ones the issue measured.
"""

from __future__ import annotations

import struct
import sys
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path

from tests import scores

CONTAINER = (
    '<?xml version="1.0"?><container><rootfiles>'
    '<rootfile full-path="score.xml"/></rootfiles></container>'
)


def midi(*tracks: bytes, division: int = 480) -> bytes:
    """A format-1 Standard MIDI File with these track bodies."""
    head = b"MThd" + struct.pack(">IHHH", 6, 1, len(tracks), division)
    return head + b"".join(b"MTrk" + struct.pack(">I", len(t)) + t for t in tracks)


END_OF_TRACK = b"\x00\xff\x2f\x00"
ONE_NOTE = b"\x00\x90\x3c\x40\x83\x60\x80\x3c\x40"  # middle C for a quarter (480 ticks)


def midi_zero_numerator() -> bytes:
    """A time signature of 0 beats in a bar: partitura made bars of no length forever."""
    return midi(b"\x00\xff\x58\x04\x00\x02\x18\x08" + ONE_NOTE + END_OF_TRACK)


def midi_max_delta() -> bytes:
    """A note after the longest delta time a MIDI file can say (0x0FFFFFFF ticks)."""
    return midi(ONE_NOTE + b"\xff\xff\xff\x7f\x90\x40\x40\x00\x80\x40\x40" + END_OF_TRACK)


def midi_many_notes(n: int) -> bytes:
    """``n`` sixteenth notes, in running status (4 bytes a note)."""
    body = b"\x00\x90" + b"\x3c\x40\x78\x3c\x00\x00" * n  # on, 120 ticks, off (velocity 0)
    return midi(body + END_OF_TRACK[1:])  # the last note's delta time is the end's


def musicxml_many_measures(n: int) -> str:
    """``n`` bars of one quarter note each, in 1/4."""
    bars = [scores.measure(1, scores.note("C"), first=True, beats=1)]
    bars += [scores.measure(k, scores.note("C")) for k in range(2, n + 1)]
    return scores.score(*bars)


def utf16_entity_score(secret: Path) -> bytes:
    """An external entity in UTF-16 text: no "<!ENTITY" in the bytes, one in the text."""
    xml = (
        scores.directions_score()
        .replace(
            '<?xml version="1.0" encoding="UTF-8"?>', '<?xml version="1.0" encoding="UTF-16"?>'
        )
        .replace(
            '<score-partwise version="3.1">',
            f'<!DOCTYPE score-partwise [<!ENTITY x SYSTEM "file://{secret}">]>\n'
            '<score-partwise version="3.1">',
        )
        .replace("<part-name>Piano</part-name>", "<part-name>&x;</part-name>")
    )
    return xml.encode("utf-16")  # with a byte order mark


def _deflated(pieces: Iterable[bytes]) -> tuple[bytes, int, int]:
    """(raw deflate stream, CRC-32, size) of the pieces joined."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    out, crc, size = bytearray(), 0, 0
    for piece in pieces:
        out += packer.compress(piece)
        crc, size = zlib.crc32(piece, crc), size + len(piece)
    out += packer.flush()
    return bytes(out), crc, size


def _repeated(unit: bytes, size: int) -> Iterable[bytes]:
    block = unit * max(1, (1 << 20) // len(unit))
    left = size
    while left > 0:
        yield block[:left]
        left -= len(block)


def zip_archive(members: Sequence[tuple[str, Iterable[bytes], int | None]]) -> bytes:
    """A zip written by hand: (name, content pieces, size to claim or None for the truth)."""
    local, central = bytearray(), bytearray()
    for name, pieces, claimed in members:
        data, crc, size = _deflated(pieces)
        said = size if claimed is None else claimed
        raw = name.encode()
        offset = len(local)
        local += struct.pack(
            "<4s5H3I2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(data), said, len(raw), 0
        )
        local += raw + data
        central += struct.pack(
            "<4s6H3I5H2I",
            b"PK\x01\x02", 20, 20, 0, 8, 0, 0x21, crc, len(data), said, len(raw), 0, 0, 0, 0, 0,
            offset,
        )  # fmt: skip
        central += raw
    n = len(members)
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, n, n, len(central), len(local), 0)
    return bytes(local + central + end)


def mxl_lying_size(unpacked: int) -> bytes:
    """A score member of ``unpacked`` bytes whose headers say it has 1,000."""
    pieces = [b"<score-partwise>", *_repeated(b" ", unpacked)]
    return zip_archive([("score.xml", pieces, 1000)])


def mxl_huge_container(unpacked: int) -> bytes:
    """A META-INF/container.xml of ``unpacked`` bytes (blank space before its root)."""
    pieces = [b'<?xml version="1.0"?>', *_repeated(b" ", unpacked), CONTAINER[21:].encode()]
    score = scores.directions_score().encode()
    return zip_archive([("META-INF/container.xml", pieces, None), ("score.xml", [score], None)])


def mxl_many_elements(unpacked: int) -> bytes:
    """A score of ``unpacked`` bytes of empty elements (the old limit was 256 MB)."""
    pieces = [b"<score-partwise>", *_repeated(b"<a/>", unpacked), b"</score-partwise>"]
    return zip_archive([("META-INF/container.xml", [CONTAINER.encode()], None),
                        ("score.xml", pieces, None)])  # fmt: skip


def write_all(folder: Path) -> list[Path]:
    """The issue's hostile files at full size (the .mxl bombs take a minute to build)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "zero-numerator.mid": midi_zero_numerator(),
        "max-delta.mid": midi_max_delta(),
        "million-notes.mid": midi_many_notes(1_000_000),
        "hundred-thousand-bars.musicxml": musicxml_many_measures(100_000).encode(),
        "utf16-entity.musicxml": utf16_entity_score(folder / "secret.txt"),
        "lying-size.mxl": mxl_lying_size(2_300_000_000),
        "huge-container.mxl": mxl_huge_container(3_400_000_000),
        "many-elements.mxl": mxl_many_elements(250_000_000),
    }
    (folder / "secret.txt").write_text("TOP-SECRET\n")
    out = []
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        out.append(path)
    return out


if __name__ == "__main__":
    for written in write_all(Path(sys.argv[1])):
        print(written, written.stat().st_size)
