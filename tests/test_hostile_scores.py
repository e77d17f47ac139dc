"""Issue #13: every hostile score is refused quickly, with a clear message (checks in-process)."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest

from appliance.errors import ScoreError
from appliance.score import load_trusted_score, xmlsafe
from appliance.score.limits import (
    MAX_ARCHIVE_MEMBERS,
    MAX_CONTAINER_BYTES,
    MAX_NOTES,
    MAX_XML_BYTES,
    MAX_XML_TAGS,
)
from appliance.score.midi_check import check_midi
from export import hostile_files as hostile
from tests import scores


def refused(tmp_path: Path, name: str, data: bytes | str, fragment: str) -> str:
    """Load the file in this process: it must be refused within seconds, naming the file."""
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    started = time.monotonic()
    with pytest.raises(ScoreError) as info:
        load_trusted_score(path)
    assert time.monotonic() - started < 10
    message = str(info.value)
    assert str(path) in message and fragment in message, message
    return message


def test_a_time_signature_of_zero_beats_is_refused(tmp_path):
    refused(tmp_path, "zero.mid", hostile.midi_zero_numerator(), "0 beats")
    xml = scores.score(scores.measure(1, scores.note("C"), first=True, beats=0))
    refused(tmp_path, "zero.musicxml", xml, "0 beats")


def test_the_longest_delta_time_is_refused_not_a_recursion_error(tmp_path):
    refused(tmp_path, "delta.mid", hostile.midi_max_delta(), "bars, over the limit")


def test_a_million_midi_notes_are_refused_at_the_cap(tmp_path):
    refused(tmp_path, "notes.mid", hostile.midi_many_notes(1_000_000), f"over {MAX_NOTES:,} notes")


def test_a_hundred_thousand_bars_are_refused(tmp_path):
    refused(tmp_path, "bars.musicxml", hostile.musicxml_many_measures(100_000), "bars in a part")


def test_scores_at_the_caps_are_read():
    assert check_midi(hostile.midi_many_notes(MAX_NOTES)).notes == MAX_NOTES
    with pytest.raises(ValueError, match="notes"):
        check_midi(hostile.midi_many_notes(MAX_NOTES + 1))


def test_musicxml_with_too_many_notes_is_refused(tmp_path):
    body = scores.note("C", duration=1, kind="eighth") * (MAX_NOTES + 1)
    xml = scores.score(scores.measure(1, body, first=True, beats=MAX_NOTES))
    refused(tmp_path, "notes.musicxml", xml, f"over the limit of {MAX_NOTES:,}")


def test_utf16_xml_cannot_hide_an_entity(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = hostile.utf16_entity_score(secret)
    assert b"<!ENTITY" not in data  # the old byte check saw nothing
    message = refused(tmp_path, "utf16.musicxml", data, "entities")
    assert "TOP-SECRET" not in message
    for encoding in ("utf-16-be", "utf-32", "utf-32-be"):
        text = data.decode("utf-16").replace("UTF-16", encoding.upper())
        refused(tmp_path, f"{encoding}.musicxml", text.encode(encoding), "entities")


def test_utf16_and_latin1_scores_still_load(tmp_path):
    plain = scores.directions_score()
    expected = load_trusted_score(_write(tmp_path / "plain.musicxml", plain.encode())).notes
    utf16 = plain.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    latin1 = plain.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').encode("latin-1")
    for name, data in (("u16.musicxml", utf16), ("l1.musicxml", latin1)):
        notes = load_trusted_score(_write(tmp_path / name, data)).notes
        assert list(notes["pitch"]) == list(expected["pitch"])


def test_encodings_are_detected_and_odd_ones_refused():
    assert xmlsafe.encoding_of(b'<?xml version="1.0"?><a/>') == ("utf-8", 0)
    assert xmlsafe.encoding_of("<a/>".encode("utf-16")) == ("utf-16-le", 2)
    assert xmlsafe.encoding_of("<a/>".encode("utf-32")) == ("utf-32-le", 4)
    assert xmlsafe.encoding_of("<a/>".encode("utf-16-be")) == ("utf-16-be", 0)
    with pytest.raises(ValueError, match="unknown text encoding"):
        xmlsafe.encoding_of(b'<?xml version="1.0" encoding="klingon"?><a/>')
    with pytest.raises(ValueError, match="does not start like"):
        xmlsafe.encoding_of(b'<?xml version="1.0" encoding="UTF-16"?><a/>')
    with pytest.raises(ValueError, match="not valid utf-8"):
        xmlsafe.as_utf8(b"<a>\xff</a>", "the score")
    with pytest.raises(ValueError, match="XML tags"):
        xmlsafe.as_utf8(b"<a>" + b"<b/>" * MAX_XML_TAGS + b"</a>", "the score")


def test_a_zip_member_lying_about_its_size_costs_only_the_limit(tmp_path):
    data = hostile.mxl_lying_size(MAX_XML_BYTES + (8 << 20))
    with zipfile.ZipFile(_write(tmp_path / "probe.mxl", data)) as z:
        assert z.getinfo("score.xml").file_size == 1000  # the lie
    refused(tmp_path, "lying.mxl", data, ".mxl")


def test_an_honest_zip_bomb_is_refused_while_unpacking(tmp_path):
    data = hostile.zip_archive([("score.xml", hostile._repeated(b" ", MAX_XML_BYTES + 1), None)])
    refused(tmp_path, "bomb.mxl", data, "unpacks to over")


def test_a_huge_container_is_refused(tmp_path):
    data = hostile.mxl_huge_container(4 * MAX_CONTAINER_BYTES)
    refused(tmp_path, "container.mxl", data, "the .mxl container unpacks to over")


def test_elements_just_under_the_old_size_limit_are_refused(tmp_path):
    refused(tmp_path, "elements.mxl", hostile.mxl_many_elements(250_000_000), "unpacks to over")
    within_size = hostile.mxl_many_elements(MAX_XML_BYTES - 1000)  # 8 million empty elements
    refused(tmp_path, "tags.mxl", within_size, "XML tags")


def test_archives_listing_too_many_files_are_refused(tmp_path):
    members = [(f"m{k}.txt", [b""], None) for k in range(MAX_ARCHIVE_MEMBERS + 1)]
    refused(tmp_path, "many.mxl", hostile.zip_archive(members), "lists")


def test_midi_structure_problems_are_plain_messages():
    ok = hostile.midi(hostile.ONE_NOTE + hostile.END_OF_TRACK)
    assert check_midi(ok).notes == 1 and check_midi(ok).bars == 1
    cases = {
        ok[:12] + b"\xe7\x00" + ok[14:]: "SMPTE",
        ok[:12] + b"\x00\x00" + ok[14:]: "0 ticks",
        ok[:-3]: "truncated",
        hostile.midi(b"\x00\x3c\x40" + hostile.END_OF_TRACK): "before any status",
        hostile.midi(b"\x00\xf4" + hostile.END_OF_TRACK): "status byte",
        hostile.midi(b"\xff\xff\xff\xff\x7f"): "over four bytes",
        hostile.midi(b"\x00\xff\x58\x04\x04\x09\x18\x08" + hostile.END_OF_TRACK): "1/64",
    }
    for data, fragment in cases.items():
        with pytest.raises(ValueError, match=fragment):
            check_midi(data)
    long = hostile.midi(b"\x00\xff\x58\x04\x01\x06\x18\x08" + b"\x83\x60\x90\x3c\x40" * 2)
    assert check_midi(long).bars == 2 * 480 // 30  # 1/64 bars are 30 ticks long


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
