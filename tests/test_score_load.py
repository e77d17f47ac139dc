import zipfile
from pathlib import Path

import numpy as np
import pytest

from appliance.errors import ScoreError
from appliance.score import load_trusted_score, markings, open_score
from tests import scores


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_note_table_carries_the_directions(tmp_path):
    s = load_trusted_score(write(tmp_path, "d.musicxml", scores.directions_score()))
    n = s.notes
    # The tied G (half + whole) is one note; the grace note is kept and flagged.
    assert list(n["pitch"]) == [60, 62, 64, 65, 67, 71, 69, 67]
    assert s.n_bars == 3
    g = n[n["pitch"] == 67]
    assert g["duration_quarter"][0] == pytest.approx(2.0)
    assert g["bar"][0] == 1 and g["bar_number"][0] == 2 and g["is_downbeat"][0]
    assert g["duration_quarter"][1] == pytest.approx(5.0) and g["bar_position"][1] == 3
    assert n["is_grace"].sum() == 1 and n[n["is_grace"]]["pitch"][0] == 71
    assert list(n["onset_quarter"][:4]) == [0, 1, 2, 3]
    assert list(n["bar_position"][:4]) == [0, 1, 2, 3]
    assert np.all(n["bar_length"] == 4)
    assert np.allclose(n["score_bpm"], 120)
    p, f = markings.DYNAMICS.index("p"), markings.DYNAMICS.index("f")
    assert list(n["dynamic"][:4]) == [p] * 4 and np.all(n["dynamic"][4:] == f)
    assert list(n["crescendo"][:4]) == [False, True, True, True]
    assert np.all(n["tempo_word"] == markings.TEMPO_WORDS.index("allegro"))
    assert np.all(n["tempo_change"][:4] == 0)
    assert np.all(n["tempo_change"][4:7] == markings.TEMPO_CHANGES.index("ritardando"))
    assert list(n["staccato"][:2]) == [True, False]
    assert list(n["legato"][:5]) == [False, True, True, True, False]
    assert n["accent"][4] and n["tenuto"][-1]
    assert list(n["fermata"]) == [False] * 7 + [True]


def test_repeats_are_played_once_as_written_with_the_last_ending(tmp_path):
    source = open_score(write(tmp_path, "v.musicxml", scores.volta_score()))
    once = source.score("minimal").notes
    assert list(once["pitch"]) == [60, 62, 64, 65, 72]
    assert list(once["onset_quarter"]) == [0, 1, 2, 3, 4]
    assert list(once["bar"]) == [0, 0, 0, 0, 1]
    every = source.score("maximal").notes
    assert list(every["pitch"]) == [60, 62, 64, 65, 67, 60, 62, 64, 65, 72]
    assert list(every["onset_quarter"]) == [0, 1, 2, 3, 4, 8, 9, 10, 11, 12]
    assert list(every["bar"]) == [0, 0, 0, 0, 1, 2, 2, 2, 2, 3]
    assert every["id"][0].endswith("-1") and every["id"][5].endswith("-2")
    assert every["id"][0][:-2] == every["id"][5][:-2]


def test_mxl_archive_loads_like_the_xml(tmp_path):
    xml = scores.directions_score()
    mxl = tmp_path / "d.mxl"
    with zipfile.ZipFile(mxl, "w") as z:
        z.writestr(
            "META-INF/container.xml",
            '<?xml version="1.0"?><container><rootfiles>'
            '<rootfile full-path="score.xml"/></rootfiles></container>',
        )
        z.writestr("score.xml", xml)
    a = load_trusted_score(mxl).notes
    b = load_trusted_score(write(tmp_path, "d.musicxml", xml)).notes
    assert np.array_equal(a, b)


def test_midi_scores_load(tmp_path):
    import mido

    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    for pitch in (60, 64, 67):
        track.append(mido.Message("note_on", note=pitch, velocity=80, time=0))
        track.append(mido.Message("note_off", note=pitch, velocity=0, time=480))
    path = tmp_path / "s.mid"
    midi.save(str(path))
    n = load_trusted_score(path).notes
    assert list(n["pitch"]) == [60, 64, 67]
    assert list(n["onset_quarter"]) == [0, 1, 2]


def assert_clear_error(path: Path, fragment: str, **kwargs) -> None:
    with pytest.raises(ScoreError) as info:
        load_trusted_score(path, **kwargs)
    message = str(info.value)
    assert str(path) in message
    assert fragment in message


def test_bad_inputs_give_clear_errors(tmp_path):
    assert_clear_error(tmp_path / "missing.musicxml", "not found")
    assert_clear_error(write(tmp_path, "empty.xml", ""), "empty")
    assert_clear_error(write(tmp_path, "notes.txt", "just some words\n"), "not a MusicXML")
    assert_clear_error(
        write(tmp_path, "page.xml", "<html><body/></html>"), "root element is <html>"
    )
    assert_clear_error(
        write(tmp_path, "broken.musicxml", scores.directions_score()[:300]), "not well-formed"
    )
    assert_clear_error(write(tmp_path, "rests.musicxml", scores.rests_only_score()), "no notes")
    big = write(tmp_path, "big.musicxml", scores.directions_score())
    assert_clear_error(big, "over the", max_bytes=100)
    assert_clear_error(
        write(tmp_path, "t.musicxml", '<?xml version="1.0"?><score-timewise/>'), "timewise"
    )


def test_truncated_mxl_is_refused(tmp_path):
    mxl = tmp_path / "d.mxl"
    with zipfile.ZipFile(mxl, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("score.xml", scores.directions_score())
    data = mxl.read_bytes()
    cut = tmp_path / "cut.mxl"
    cut.write_bytes(data[: len(data) // 2])
    assert_clear_error(cut, ".mxl")


def test_truncated_midi_is_refused(tmp_path):
    path = tmp_path / "cut.mid"
    path.write_bytes(b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0MTrk\x00\x00\x10\x00\x90<")
    assert_clear_error(path, "MIDI")


def test_external_entities_are_never_resolved(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xml = (
        scores.directions_score()
        .replace(
            '<?xml version="1.0" encoding="UTF-8"?>',
            f'<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE score-partwise [<!ENTITY x SYSTEM "file://{secret}">]>',
        )
        .replace("<part-name>Piano</part-name>", "<part-name>&x;</part-name>")
    )
    path = write(tmp_path, "xxe.musicxml", xml)
    with pytest.raises(ScoreError) as info:
        load_trusted_score(path)
    assert "entities" in str(info.value)
    assert "TOP-SECRET" not in str(info.value)


def test_tie_chains_are_followed_safely():
    from types import SimpleNamespace

    from appliance.score.directions import tie_head

    a = SimpleNamespace(tie_prev=None)
    b = SimpleNamespace(tie_prev=a)
    c = SimpleNamespace(tie_prev=b)
    assert tie_head(c) is a
    loop1 = SimpleNamespace(tie_prev=None)
    loop2 = SimpleNamespace(tie_prev=loop1)
    loop1.tie_prev = loop2  # broken files can tie notes in a circle
    head = tie_head(loop1)
    assert head is loop1 or head is loop2


def _parts(*parts: tuple[str, str, str]) -> str:
    """A score of several parts: (id, name, measures XML)."""
    head = '<?xml version="1.0" encoding="UTF-8"?>\n<score-partwise version="3.1"><part-list>'
    head += "".join(
        f'<score-part id="{pid}"><part-name>{name}</part-name></score-part>'
        for pid, name, _ in parts
    )
    body = "".join(f'<part id="{pid}">{measures}</part>' for pid, _, measures in parts)
    return head + "</part-list>" + body + "</score-partwise>\n"


def _scale(steps: list[tuple[str, int, int]], transpose: str = "") -> str:
    attributes = scores.ATTRIBUTES.format(beats=4).replace(
        "</attributes>", transpose + "</attributes>"
    )
    bars = []
    for b in range(0, len(steps), 4):
        notes = ""
        for step, alter, octave in steps[b : b + 4]:
            pitch = f"<step>{step}</step>" + (f"<alter>{alter}</alter>" if alter else "")
            notes += (
                f"<note><pitch>{pitch}<octave>{octave}</octave></pitch><duration>2</duration>"
                "<voice>1</voice><type>quarter</type></note>"
            )
        bars.append(f'<measure number="{b // 4 + 1}">' + (attributes if b == 0 else "") + notes)
    return "</measure>".join(bars) + "</measure>"


def test_transposing_instruments_sound_at_concert_pitch(tmp_path):
    c_major = [("C", 0, 4), ("D", 0, 4), ("E", 0, 4), ("F", 0, 4),
               ("G", 0, 4), ("A", 0, 4), ("B", 0, 4), ("C", 0, 5)]  # fmt: skip
    # B♭ trumpet: written a tone higher (D major); E♭ horn: written a major sixth higher (A major).
    d_major = [("D", 0, 4), ("E", 0, 4), ("F", 1, 4), ("G", 0, 4),
               ("A", 0, 4), ("B", 0, 4), ("C", 1, 5), ("D", 0, 5)]  # fmt: skip
    a_major = [("A", 0, 4), ("B", 0, 4), ("C", 1, 5), ("D", 0, 5),
               ("E", 0, 5), ("F", 1, 5), ("G", 1, 5), ("A", 0, 5)]  # fmt: skip
    trumpet = "<transpose><diatonic>-1</diatonic><chromatic>-2</chromatic></transpose>"
    horn = "<transpose><diatonic>-5</diatonic><chromatic>-9</chromatic></transpose>"
    xml = _parts(
        ("P1", "Trumpet in Bb", _scale(d_major, trumpet)),
        ("P2", "Horn in Eb", _scale(a_major, horn)),
        ("P3", "Piano", _scale(c_major)),
    )
    score = load_trusted_score(write(tmp_path, "t.musicxml", xml))
    # Three parts sounding the same scale: one key each time (unisons merge).
    assert list(score.notes["pitch"]) == [60, 62, 64, 65, 67, 69, 71, 72]
    assert any("Trumpet in Bb" in r and "-2 semitones" in r for r in score.remarks)
    assert any("Horn in Eb" in r and "-9 semitones" in r for r in score.remarks)
    octave_down = "<transpose><chromatic>0</chromatic><octave-change>-1</octave-change></transpose>"
    guitar = load_trusted_score(
        write(tmp_path, "g.musicxml", _parts(("P1", "Guitar", _scale(c_major, octave_down))))
    )
    assert list(guitar.notes["pitch"]) == [48, 50, 52, 53, 55, 57, 59, 60]


def test_microtones_are_rounded_and_percussion_left_out_with_a_remark(tmp_path):
    quarter = (
        '<measure number="1">' + scores.ATTRIBUTES.format(beats=4)
        + "<note><pitch><step>E</step><alter>-0.5</alter><octave>4</octave></pitch>"
        "<duration>4</duration><voice>1</voice><type>half</type></note>"
        "<note><pitch><step>A</step><octave>4</octave></pitch><duration>4</duration>"
        "<voice>1</voice><type>half</type><accidental>three-quarters-sharp</accidental></note>"
        "</measure>"
    )  # fmt: skip
    drums = (
        '<measure number="1">' + scores.ATTRIBUTES.format(beats=4)
        + "<note><unpitched><display-step>C</display-step><display-octave>5</display-octave>"
        "</unpitched><duration>4</duration><voice>1</voice><type>half</type></note>"
        "<note><chord/><unpitched><display-step>F</display-step><display-octave>4</display-octave>"
        "</unpitched><duration>4</duration><voice>1</voice><type>half</type></note>"
        "<note><unpitched><display-step>C</display-step><display-octave>5</display-octave>"
        "</unpitched><duration>4</duration><voice>1</voice><type>half</type></note>"
        "</measure>"
    )  # fmt: skip
    xml = _parts(("P1", "Voice", quarter), ("P2", "Drums", drums))
    score = load_trusted_score(write(tmp_path, "m.musicxml", xml))
    assert list(score.notes["pitch"]) == [64, 71]  # E quarter-flat → E, A three-quarter-sharp → B
    assert list(score.notes["onset_quarter"]) == [0.0, 2.0]
    assert "2 microtonal notes rounded to the nearest semitone" in score.remarks
    assert "3 unpitched (percussion) notes left out" in score.remarks
    from appliance.score import load_score

    assert load_score(tmp_path / "m.musicxml").remarks == score.remarks  # through the sandbox


def test_any_accidental_and_any_number_of_dots_is_read(tmp_path):
    """Accidentals partitura does not know (double sharps written out, an empty one) and notes
    with four dots made it fail with KeyError / IndexError."""

    def one(step: str, accidental: str, dots: int = 0, duration: int = 4) -> str:
        return (
            f"<note><pitch><step>{step}</step><octave>4</octave></pitch>"
            f"<duration>{duration}</duration><voice>1</voice><type>half</type>"
            + "<dot/>" * dots
            + f"<accidental>{accidental}</accidental></note>"
        )

    bar = (
        '<measure number="1">' + scores.ATTRIBUTES.format(beats=4)
        + one("C", "sharp-sharp", duration=2) + one("D", "", duration=2)
        + one("E", "natural-flat", duration=2) + one("F", "sharp", duration=2)
        + "</measure>"
        '<measure number="2">'
        + one("G", "flat", dots=4, duration=8)
        + "</measure>"
    )  # fmt: skip
    score = load_trusted_score(write(tmp_path, "a.musicxml", _parts(("P1", "Piano", bar))))
    assert list(score.notes["pitch"]) == [62, 62, 63, 66, 66]  # C𝄪, D, E♭, F♯, G♭
    assert "1 accidental the box does not know ignored (played as written)" in score.remarks
    assert "1 note with more than three dots written with three" in score.remarks


def test_a_score_of_percussion_only_is_refused_in_plain_words(tmp_path):
    drums = (
        '<measure number="1">' + scores.ATTRIBUTES.format(beats=4)
        + "<note><unpitched><display-step>C</display-step><display-octave>5</display-octave>"
        "</unpitched><duration>8</duration><voice>1</voice><type>whole</type></note>"
        "</measure>"
    )  # fmt: skip
    path = write(tmp_path, "drums.musicxml", _parts(("P1", "Drums", drums)))
    with pytest.raises(ScoreError, match="only percussion"):
        load_trusted_score(path)


def test_a_tie_never_ended_joins_the_next_note_of_its_pitch(tmp_path):
    start = '<tie type="start"/>'
    tied = '<notations><tied type="start"/></notations>'

    def n(step: str, ties: str = "", voice: int = 1, chord: bool = False, rest: bool = False):
        what = "<rest/>" if rest else f"<pitch><step>{step}</step><octave>4</octave></pitch>"
        return (
            "<note>" + ("<chord/>" if chord else "") + what + "<duration>2</duration>" + ties
            + f"<voice>{voice}</voice><type>quarter</type>" + (tied if ties else "") + "</note>"
        )  # fmt: skip

    bar1 = (
        n("C", start) + n("E", start, chord=True)  # a chord tied over, ends never written
        + n("C") + n("E", chord=True)
        + n("G", start) + n("G", rest=True)  # a rest follows: nothing to join
        + n("G")
    )  # fmt: skip
    xml = scores.HEAD + '<measure number="1">' + scores.ATTRIBUTES.format(beats=5)
    xml += bar1 + "</measure>" + scores.TAIL
    score = load_trusted_score(write(tmp_path, "ties.musicxml", xml))
    n_ = score.notes
    assert list(zip(n_["pitch"], n_["onset_quarter"], n_["duration_quarter"], strict=True)) == [
        (60, 0.0, 2.0), (64, 0.0, 2.0), (67, 2.0, 1.0), (67, 4.0, 1.0),
    ]  # fmt: skip
    assert score.remarks == (
        "2 ties that were never ended joined to the next note of the same pitch",
    )


def test_utf16_musicxml_loads_like_utf8(tmp_path):
    import codecs

    xml = scores.directions_score().replace('encoding="UTF-8"', 'encoding="UTF-16"')
    utf8 = load_trusted_score(write(tmp_path, "a.musicxml", scores.directions_score())).notes
    for name, bom, codec in (
        ("le.xml", codecs.BOM_UTF16_LE, "utf-16-le"),
        ("be.musicxml", codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        path = tmp_path / name
        path.write_bytes(bom + ("\r\n" + xml).encode(codec))
        assert np.array_equal(load_trusted_score(path).notes, utf8)


def test_merged_parts_get_staves_by_part_and_register(tmp_path):
    high = [("C", 0, 5), ("D", 0, 5), ("E", 0, 5), ("F", 0, 5)]
    low = [("C", 0, 3), ("D", 0, 3), ("E", 0, 3), ("F", 0, 3)]
    middle = [("D", 0, 4), ("E", 0, 4), ("F", 0, 4), ("G", 0, 4)]
    top = [("A", 0, 5), ("B", 0, 5), ("C", 0, 6), ("D", 0, 6)]
    # A piano part on two staves keeps them, even where its notes lie in the other register.
    lower_bar, upper_bar, end = _scale(middle + top).split("</measure>")
    piano = (
        lower_bar.replace("<voice>1</voice>", "<voice>5</voice><staff>2</staff>")
        + "</measure>"
        + upper_bar.replace("<voice>1</voice>", "<voice>1</voice><staff>1</staff>")
        + "</measure>"
        + end
    )
    piano = piano.replace(
        "<clef><sign>G</sign><line>2</line></clef>",
        '<staves>2</staves><clef number="1"><sign>G</sign><line>2</line></clef>'
        '<clef number="2"><sign>F</sign><line>4</line></clef>',
    )
    xml = _parts(
        ("P1", "Soprano", _scale(high)), ("P2", "Bass", _scale(low)), ("P3", "Piano", piano)
    )
    notes = load_trusted_score(write(tmp_path, "parts.musicxml", xml)).notes
    staff = dict(zip(notes["pitch"].tolist(), notes["staff"].tolist(), strict=True))
    assert all(staff[p] == 1 for p in (72, 74, 76, 77))
    assert all(staff[p] == 2 for p in (48, 50, 52, 53))
    assert all(staff[p] == 2 for p in (62, 64, 65, 67))  # the piano's lower staff
    assert all(staff[p] == 1 for p in (81, 83, 84, 86))


def test_chord_symbols_of_any_shape_are_ignored(tmp_path):
    harmony = (
        '<harmony color="#FF0000" font-size="12"><root><root-step>C</root-step></root>'
        '<kind text="maj7">major-seventh</kind></harmony>'
        "<harmony><function>V|</function></harmony>"  # partitura fails on this one
        "<harmony><kind>none</kind><root><root-alter>-1.5</root-alter></root></harmony>"
    )
    xml = scores.HEAD + '<measure number="1">' + scores.ATTRIBUTES.format(beats=4)
    xml += harmony + scores.note("C", 4, 8, "whole") + "</measure>" + scores.TAIL
    score = load_trusted_score(write(tmp_path, "h.musicxml", xml))
    assert list(score.notes["pitch"]) == [60] and score.remarks == ()
