"""Property-based fuzzing of the score loaders (MusicXML, .mxl, MIDI) with hypothesis.

The property: whatever the bytes, loading gives a score with notes or a :class:`ScoreError`,
never another exception, a hang or a crash. Each test reports how many inputs it tried (a
line with ``-s``, and the ``fuzz_inputs`` property in JUnit XML).
"""

from __future__ import annotations

import re
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance.errors import ScoreError
from appliance.score import load_trusted_score
from export import hostile_files as hostile
from tests import scores

FUZZ = settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
SLOWEST_INPUT_SECONDS = 20.0


def fuzz(
    name: str,
    strategy: st.SearchStrategy[bytes],
    tmp_path: Path,
    record_property: Callable[[str, object], None],
    examples: int,
) -> None:
    """Load every input the strategy makes; report the count."""
    tried = accepted = 0
    slowest = 0.0

    @settings(FUZZ, max_examples=examples)
    @given(strategy)
    def load_anything(data: bytes) -> None:
        nonlocal tried, accepted, slowest
        tried += 1
        path = tmp_path / name
        path.write_bytes(data)
        started = time.monotonic()
        try:
            score = load_trusted_score(path)
        except ScoreError as exc:
            assert str(path) in str(exc)
        else:
            assert len(score.notes) > 0
            accepted += 1
        slowest = max(slowest, time.monotonic() - started)

    load_anything()
    print(f"\nfuzz {name}: {tried} inputs tried, {accepted} read, slowest {slowest:.2f} s")
    record_property("fuzz_inputs", tried)
    assert tried >= examples // 2 and slowest < SLOWEST_INPUT_SECONDS


def _mutated(base: bytes) -> st.SearchStrategy[bytes]:
    """``base`` with a few bytes overwritten, cut short or with bytes inserted."""

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        data = bytearray(base)
        for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3, 6]))):
            at = draw(st.integers(0, len(data)))
            how = draw(st.sampled_from(["set", "insert", "cut"]))
            chunk = draw(st.binary(min_size=1, max_size=8))
            if how == "set":
                data[at : at + len(chunk)] = chunk
            elif how == "insert":
                data[at:at] = chunk
            else:
                del data[at:]
        return bytes(data)

    return build()


# MIDI: events built from parts that readers trip over, plus mutations of a good file.

_DELTAS = st.one_of(
    *[st.integers(0, 960)] * 5, st.sampled_from([0x0FFFFFFF, 0x1FFFFF, 0x3FFF])
)  # the longest delta times now and then
_NOTE = st.tuples(st.integers(0, 127), st.integers(1, 127), st.integers(1, 127)).map(
    lambda n: bytes([0x90, n[0], n[1], n[2], 0x80, n[0], 0])
)  # note on, a delta time under 128 ticks, note off
_EVENTS = st.one_of(  # whole notes most of the time, so that many files are read to the end
    _NOTE,
    _NOTE,
    _NOTE,
    _NOTE,
    st.tuples(st.integers(0, 127), st.integers(0, 127)).map(lambda p: b"\x80" + bytes(p)),
    st.tuples(st.integers(0, 255), st.sampled_from([0, 1, 2, 2, 2, 3, 3, 4, 5, 6, 7, 8])).map(
        lambda t: b"\xff\x58\x04" + bytes([t[0], t[1], 24, 8])
    ),  # time signature, numerator 0 and odd denominators included
    st.binary(min_size=3, max_size=3).map(lambda b: b"\xff\x51\x03" + b),  # tempo
    st.tuples(st.integers(-8, 8), st.integers(0, 2)).map(
        lambda k: b"\xff\x59\x02" + bytes([k[0] & 0xFF, k[1]])
    ),  # key signature
    st.binary(max_size=6).map(lambda b: b"\xff\x03" + bytes([len(b)]) + b),  # track name
    st.binary(max_size=4),  # anything
)


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    while n := n >> 7:
        out.insert(0, (n & 0x7F) | 0x80)
    return bytes(out)


@st.composite
def _midi_files(draw: st.DrawFn) -> bytes:
    tracks = []
    for _ in range(draw(st.integers(1, 3))):
        events = draw(st.lists(st.tuples(_DELTAS, _EVENTS), min_size=1, max_size=24))
        body = b"".join(_vlq(d) + e for d, e in events)
        tracks.append(body + (hostile.END_OF_TRACK if draw(st.booleans()) else b""))
    division = draw(st.sampled_from([480] * 6 + [1, 0, 0x7FFF, 0xE728]))
    return hostile.midi(*tracks, division=division)


def test_fuzz_midi(tmp_path, record_property):
    good = hostile.midi(hostile.ONE_NOTE * 8 + hostile.END_OF_TRACK)
    strategy = st.one_of(_midi_files(), _mutated(good), st.binary().map(lambda b: b"MThd" + b))
    fuzz("fuzz.mid", strategy, tmp_path, record_property, examples=300)


# MusicXML: a good score with fragments spliced in, in several encodings.

_FRAGMENTS = st.sampled_from(
    [
        "<!ENTITY x 'y'>",
        "&x;",
        "<!DOCTYPE score-partwise [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>",
        "<measure number='9'>",
        "</measure>",
        "<note><pitch><step>C</step><octave>4</octave></pitch><duration>999999999</duration></note>",
        "<time><beats>0</beats><beat-type>4</beat-type></time>",
        "<time><beats>3</beats><beat-type>0</beat-type></time>",
        "<divisions>0</divisions>",
        "<divisions>-3</divisions>",
        "<chord/>",
        '<tie type="start"/>',
        '<repeat direction="backward"/>',
        '<ending number="1" type="start"/>',
        "<grace/>",
        "<voice>x</voice>",
        "\x00",
        "é",
        "<",
        "]]>",
    ]
)


@st.composite
def _xml_files(draw: st.DrawFn) -> bytes:
    text = scores.volta_score() if draw(st.booleans()) else scores.directions_score()
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.one_of(_FRAGMENTS, st.text(max_size=6))) + text[at:]
    encoding = draw(st.sampled_from(["utf-8", "utf-16", "utf-16-be", "utf-32", "latin-1"]))
    text = text.replace('encoding="UTF-8"', f'encoding="{encoding.upper()}"')
    return text.encode(encoding, errors="replace")


_NUMBERS = ("duration", "octave", "beats", "beat-type", "divisions", "fifths", "alter", "voice")


@st.composite
def _xml_values(draw: st.DrawFn) -> bytes:
    """A well-formed score with odd numbers in it: zero, negative or huge durations, octaves,
    time signatures and divisions."""
    text = scores.volta_score() if draw(st.booleans()) else scores.directions_score()
    text = text.replace("<voice>1</voice>", "<voice>1</voice><alter>0</alter>", 1)
    for _ in range(draw(st.integers(1, 4))):
        tag = draw(st.sampled_from(_NUMBERS))
        found = [m.span(1) for m in re.finditer(f"<{tag}>([^<]*)</{tag}>", text)]
        if found:
            start, end = draw(st.sampled_from(found))
            value = draw(st.one_of(st.integers(-3, 12), st.integers(-(10**12), 10**12)))
            text = text[:start] + str(value) + text[end:]
    return text.encode()


def test_fuzz_musicxml(tmp_path, record_property):
    good = scores.directions_score().encode()
    strategy = st.one_of(_xml_files(), _xml_values(), _xml_values(), _mutated(good))
    fuzz("fuzz.musicxml", strategy, tmp_path, record_property, examples=200)


# .mxl: archives written by hand, with sizes that may lie, and mutations of a good one.


@st.composite
def _mxl_files(draw: st.DrawFn) -> bytes:
    names = st.sampled_from(["META-INF/container.xml", "score.xml", "other.musicxml", "x"])
    contents = st.one_of(
        st.just(hostile.CONTAINER.encode()),
        st.just(b'<container><rootfiles><rootfile full-path="nope.xml"/></rootfiles></container>'),
        _xml_files(),
        _xml_values(),
        st.binary(max_size=64),
    )
    members = draw(
        st.lists(
            st.tuples(names, contents.map(lambda c: (c,)), st.none() | st.integers(0, 1 << 31)),
            max_size=3,
        )
    )
    return hostile.zip_archive(members)


def test_fuzz_mxl(tmp_path, record_property):
    good = tmp_path / "good.mxl"
    with zipfile.ZipFile(good, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("META-INF/container.xml", hostile.CONTAINER)
        z.writestr("score.xml", scores.directions_score())
    strategy = st.one_of(_mxl_files(), _mutated(good.read_bytes()))
    fuzz("fuzz.mxl", strategy, tmp_path, record_property, examples=200)


@pytest.mark.parametrize("data", [b"MThd", b"PK\x03\x04", b"<", b"\xff\xfe", b"\x00\x00\x00<"])
def test_tiny_prefixes_are_refused_cleanly(tmp_path, data):
    path = tmp_path / "tiny.mxl"
    path.write_bytes(data)
    with pytest.raises(ScoreError):
        load_trusted_score(path)
