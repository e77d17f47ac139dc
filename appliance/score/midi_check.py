"""Check a Standard MIDI File's structure before a MIDI library reads it.

A walk over the bytes, no decoding into messages: it finds what makes readers hang, recurse or
fill memory (a time signature of 0 beats, a delta time that puts the end of the piece a
hundred thousand bars away, a million notes) and refuses it with a plain reason. Bad input
raises :class:`ValueError` with a message meant for people.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field

from appliance.score.limits import MAX_BARS, MAX_NOTES, MAX_TIME_SIGNATURE_DENOMINATOR, MAX_TRACKS

_DATA_BYTES = {0x8: 2, 0x9: 2, 0xA: 2, 0xB: 2, 0xC: 1, 0xD: 1, 0xE: 2}
_TIME_SIGNATURE = 0x58


@dataclass
class MidiShape:
    """What the walk found: enough to judge the cost of reading the file."""

    ticks_per_quarter: int
    tracks: int = 0
    notes: int = 0
    end_tick: int = 0
    time_signatures: list[tuple[int, int, int]] = field(default_factory=list)  # (tick, n, d)

    @property
    def bars(self) -> int:
        """Bars from the first tick to the last, in the file's time signatures (4/4 before
        the first)."""
        changes = sorted(self.time_signatures)
        if not changes or changes[0][0] > 0:
            changes.insert(0, (0, 4, 4))
        total = 0.0
        for k, (tick, numerator, denominator) in enumerate(changes):
            end = changes[k + 1][0] if k + 1 < len(changes) else self.end_tick
            bar_ticks = self.ticks_per_quarter * 4 * numerator / denominator
            total += math.ceil(max(end - tick, 0) / bar_ticks)
        return int(max(total, 1))


def check_midi(data: bytes) -> MidiShape:
    """Walk the file; raise ValueError if it is malformed or beyond the limits."""
    reader = _Reader(data)
    if reader.take(4) != b"MThd":
        raise ValueError("not a MIDI file (no MThd header)")
    length = reader.u32()
    if length < 6:
        raise ValueError("damaged MIDI header")
    header = reader.take(length)
    _format, n_tracks, division = struct.unpack(">HHH", header[:6])
    if division & 0x8000:
        raise ValueError("MIDI files timed in SMPTE frames are not supported")
    if division == 0:
        raise ValueError("the MIDI file has 0 ticks per quarter note")
    if n_tracks > MAX_TRACKS:
        raise ValueError(f"the MIDI file has {n_tracks} tracks, over the limit of {MAX_TRACKS}")
    shape = MidiShape(ticks_per_quarter=division)
    while shape.tracks < n_tracks:
        if reader.left() < 8:
            raise ValueError(
                f"the MIDI file is truncated (its header announces {n_tracks} tracks, "
                f"it holds {shape.tracks})"
            )
        kind, size = reader.take(4), reader.u32()
        chunk = reader.take(size)
        if kind == b"MTrk":
            _walk_track(chunk, shape)
            shape.tracks += 1
    if shape.bars > MAX_BARS:
        raise ValueError(
            f"the MIDI file lasts {shape.bars:,} bars, over the limit of {MAX_BARS:,} "
            "(is a delta time damaged?)"
        )
    return shape


def _walk_track(chunk: bytes, shape: MidiShape) -> None:
    reader = _Reader(chunk)
    tick = 0
    running = 0
    while reader.left():
        tick += reader.vlq()
        status = reader.byte()
        if status < 0x80:  # running status: this byte is the first data byte
            if not running:
                raise ValueError("damaged MIDI track (data before any status byte)")
            reader.back()
            status = running
        if status == 0xFF:
            kind = reader.byte()
            payload = reader.take(reader.vlq())
            if kind == _TIME_SIGNATURE:
                shape.time_signatures.append((tick, *_time_signature(payload)))
            elif kind == 0x2F:
                break
        elif status in (0xF0, 0xF7):
            reader.take(reader.vlq())
        elif status >= 0xF0:
            raise ValueError(f"damaged MIDI track (status byte {status:#04x})")
        else:
            running = status
            values = reader.take(_DATA_BYTES[status >> 4])
            if status >> 4 == 0x9 and values[1] > 0:
                shape.notes += 1
                if shape.notes > MAX_NOTES:
                    raise ValueError(f"the MIDI file has over {MAX_NOTES:,} notes, the limit")
    shape.end_tick = max(shape.end_tick, tick)


def _time_signature(payload: bytes) -> tuple[int, int]:
    if len(payload) < 2:
        raise ValueError("damaged MIDI time signature")
    numerator, power = payload[0], payload[1]
    if numerator == 0:
        raise ValueError("the MIDI file has a time signature with 0 beats in a bar")
    if power > int(math.log2(MAX_TIME_SIGNATURE_DENOMINATOR)):
        raise ValueError(
            f"the MIDI file has a time signature over 2**{power}, shorter than "
            f"1/{MAX_TIME_SIGNATURE_DENOMINATOR}"
        )
    return numerator, 2**power


class _Reader:
    """Bytes read front to back; reading past the end is a truncated file."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def left(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if n > self.left():
            raise ValueError("the MIDI file is truncated")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def byte(self) -> int:
        return self.take(1)[0]

    def back(self) -> None:
        self.pos -= 1

    def u32(self) -> int:
        value: int = struct.unpack(">I", self.take(4))[0]
        return value

    def vlq(self) -> int:
        """A variable-length quantity: at most four bytes, seven bits each."""
        value = 0
        for _ in range(4):
            b = self.byte()
            value = (value << 7) | (b & 0x7F)
            if not b & 0x80:
                return value
        raise ValueError("damaged MIDI file (a variable-length number over four bytes)")
