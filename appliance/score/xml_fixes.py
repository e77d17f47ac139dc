"""Repairs made to a MusicXML tree before partitura reads it.

Notation programs write things a piano cannot play or partitura cannot read. Rather than
refuse the score, the box changes what it must and says so in one line per kind of change
(the score's ``remarks``, shown by ``appliance score``):

- transposing instruments (a B♭ trumpet, an E♭ horn) are written at another pitch than they
  sound: ``<transpose>`` is applied to every pitch of the part, so all parts sound at concert
  pitch;
- microtones (quarter-tone accidentals, fractional ``<alter>``) are rounded to the nearest
  semitone;
- unpitched (percussion) notes are left out: they become rests, so the time still adds up;
- chord symbols and harmonic analyses (``<harmony>``) are removed: the box does not play them,
  and partitura fails on some of them;
- a printed metronome mark (♪ = 84) whose playback tempo (``<sound tempo>``, in quarters per
  minute) was converted the wrong way round (168 instead of 42: divided by the beat unit's
  length instead of multiplied), or that has no playback tempo at all, is played as printed;
- a tie that is started and never ended (some exports leave out the end) is ended on the next
  note of the same pitch in the same voice, when that note follows at once — as the notation
  means it and as music21 reads it — instead of striking the key again.
"""

from __future__ import annotations

import math
from typing import Any

from lxml import etree

STEPS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
SPELLING = (
    ("C", 0), ("C", 1), ("D", 0), ("E", -1), ("E", 0), ("F", 0),
    ("F", 1), ("G", 0), ("A", -1), ("A", 0), ("B", -1), ("B", 0),
)  # fmt: skip
# Accidentals partitura does not know, as semitones (rounded later).
# Accidentals in semitones, for notes written with an accidental and no <alter>: partitura
# reads only five names there (and fails on any other), so the box writes the <alter> itself.
STANDARD_ALTER = {
    "sharp": 1,
    "natural": 0,
    "flat": -1,
    "double-sharp": 2,
    "sharp-sharp": 2,
    "double-flat": -2,
    "flat-flat": -2,
    "natural-sharp": 1,
    "natural-flat": -1,
    "triple-sharp": 3,
    "triple-flat": -3,
}
ACCIDENTAL_ALTER = {
    "quarter-flat": -0.5,
    "quarter-sharp": 0.5,
    "three-quarters-flat": -1.5,
    "three-quarters-sharp": 1.5,
    "sharp-down": 0.5,
    "sharp-up": 1.5,
    "natural-down": -0.5,
    "natural-up": 0.5,
    "flat-down": -1.5,
    "flat-up": -0.5,
    "double-sharp-down": 1.5,
    "double-sharp-up": 2.5,
    "flat-flat-down": -2.5,
    "flat-flat-up": -1.5,
    "slash-quarter-sharp": 0.5,
    "slash-sharp": 1.5,
    "slash-flat": -0.5,
    "double-slash-flat": -1.5,
    "sori": 0.5,
    "koron": -0.5,
}


def repair(root: Any) -> list[str]:
    """Apply every repair to the parsed score; return one line per kind of change made."""
    remarks = []
    drop_harmony(root)
    remarks += skip_unpitched(root)
    remarks += round_microtones(root)
    remarks += limit_dots(root)
    remarks += concert_pitch(root)
    remarks += close_ties(root)
    remarks += metronome_tempo(root)
    return remarks


def _count(n: int, one: str, many: str = "") -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _part_names(root: Any) -> dict[str, str]:
    names = {}
    for sp in root.iter("score-part"):
        name = (sp.findtext("part-name") or "").strip()
        names[str(sp.get("id"))] = name or str(sp.get("id"))
    return names


def _int(text: str | None, default: int = 0) -> int:
    try:
        return round(float(text or ""))
    except (ValueError, OverflowError):  # not a number, nan, inf
        return default


def _midi(pitch: Any) -> int | None:
    step = (pitch.findtext("step") or "").strip().upper()
    if step not in STEPS:
        return None
    octave = _int(pitch.findtext("octave"), 4)
    return 12 * (octave + 1) + STEPS[step] + _int(pitch.findtext("alter"))


def _set_pitch(pitch: Any, midi: int) -> None:
    step, alter = SPELLING[midi % 12]
    octave = midi // 12 - 1
    for child in list(pitch):
        pitch.remove(child)
    etree.SubElement(pitch, "step").text = step
    if alter:
        etree.SubElement(pitch, "alter").text = str(alter)
    etree.SubElement(pitch, "octave").text = str(octave)


def concert_pitch(root: Any) -> list[str]:
    """Apply ``<transpose>`` (chromatic steps and octave changes) to the pitches it governs."""
    names = _part_names(root)
    remarks = []
    for part in root.iterfind("part"):
        shift, shifts, changed = 0, set(), 0
        for measure in part.iterfind("measure"):
            for element in measure:
                if element.tag == "attributes":
                    transposes = element.findall("transpose")
                    if transposes:
                        first = transposes[0]
                        shift = _int(first.findtext("chromatic")) + 12 * _int(
                            first.findtext("octave-change")
                        )
                    for t in transposes:
                        element.remove(t)
                elif element.tag == "note" and shift:
                    pitch = element.find("pitch")
                    midi = _midi(pitch) if pitch is not None else None
                    if midi is not None:
                        _set_pitch(pitch, min(max(midi + shift, 0), 127))
                        shifts.add(shift)
                        changed += 1
        if changed:
            moves = ", ".join(f"{s:+d}" for s in sorted(shifts))
            name = names.get(str(part.get("id")), str(part.get("id")))
            remarks.append(
                f"{name}: written for a transposing instrument; played at concert pitch "
                f"({moves} semitones)"
            )
    return remarks


def round_microtones(root: Any) -> list[str]:
    """Round fractional alterations and quarter-tone accidentals to the nearest semitone; give
    every note written with an accidental and no <alter> its alteration (unknown accidentals:
    none)."""
    rounded = unknown = 0
    for note in root.iter("note"):
        pitch = note.find("pitch")
        if pitch is None:
            continue
        alter = pitch.find("alter")
        if alter is not None:
            try:
                value = float(alter.text or "0")
            except ValueError:
                value = 0.0
            if not math.isfinite(value) or value != int(value):
                alter.text = str(round(value) if math.isfinite(value) else 0)
                rounded += 1
            continue
        if note.find("accidental") is None:
            continue
        accidental = (note.findtext("accidental") or "").strip()
        if accidental in ACCIDENTAL_ALTER:
            value = round(ACCIDENTAL_ALTER[accidental])
            rounded += 1
        elif accidental in STANDARD_ALTER:
            value = STANDARD_ALTER[accidental]
        else:  # an accidental the box does not know: the written pitch as it is
            value = 0
            unknown += 1
        step = pitch.find("step")
        new = etree.Element("alter")
        new.text = str(value)
        (step.addnext(new) if step is not None else pitch.insert(0, new))
    remarks = []
    if rounded:
        remarks.append(f"{_count(rounded, 'microtonal note')} rounded to the nearest semitone")
    if unknown:
        remarks.append(
            f"{_count(unknown, 'accidental')} the box does not know ignored (played as written)"
        )
    return remarks


MAX_DOTS = 3  # partitura's note values go up to triple-dotted


def limit_dots(root: Any) -> list[str]:
    """Notes written with more than three dots keep three (their written value only: how long
    they sound comes from <duration>, which is kept)."""
    changed = 0
    for note in root.iter("note"):
        dots = note.findall("dot")
        if len(dots) > MAX_DOTS:
            for dot in dots[MAX_DOTS:]:
                note.remove(dot)
            changed += 1
    if not changed:
        return []
    return [f"{_count(changed, 'note')} with more than three dots written with three"]


def skip_unpitched(root: Any) -> list[str]:
    """Leave out unpitched (percussion) notes: a chord member is removed, any other note
    becomes a rest of the same duration."""
    skipped = 0
    for note in list(root.iter("note")):
        unpitched = note.find("unpitched")
        if unpitched is None:
            continue
        skipped += 1
        parent = note.getparent()
        if note.find("chord") is not None:
            parent.remove(note)
            continue
        unpitched.addprevious(etree.Element("rest"))
        note.remove(unpitched)
        for name in ("tie", "notations", "notehead", "stem", "beam", "instrument"):
            for child in note.findall(name):
                note.remove(child)
    if not skipped:
        return []
    return [f"{_count(skipped, 'unpitched (percussion) note')} left out"]


def drop_harmony(root: Any) -> None:
    """Remove chord symbols (the box plays the notes only; documented, so no remark)."""
    for harmony in list(root.iter("harmony")):
        harmony.getparent().remove(harmony)


def _has_tie(note: Any, kind: str) -> bool:
    return any(t.get("type") == kind for t in note.findall("tie"))


def _end_tie(note: Any) -> None:
    tie = etree.Element("tie", type="stop")
    anchor = note.find("duration")
    if anchor is None:
        note.append(tie)
    else:
        anchor.addnext(tie)
    notations = note.find("notations")
    if notations is None:
        notations = etree.SubElement(note, "notations")
    notations.insert(0, etree.Element("tied", type="stop"))


def close_ties(root: Any) -> list[str]:
    """End ties that were started and never ended (see the module docstring)."""
    closed = 0
    for part in root.iterfind("part"):
        # Per (staff, voice): pitches with a tie started at the previous onset, and those
        # started at the current one.
        waiting: dict[tuple[str, str], dict[int, bool]] = {}
        starting: dict[tuple[str, str], dict[int, bool]] = {}
        for note in part.iter("note"):
            if note.find("grace") is not None or note.find("cue") is not None:
                continue
            voice = (note.findtext("staff") or "1", note.findtext("voice") or "1")
            if note.find("chord") is None:  # a new onset in this voice
                waiting[voice] = starting.pop(voice, {})
            pitch = note.find("pitch")
            midi = _midi(pitch) if pitch is not None else None
            if midi is None:
                continue
            pending = waiting.get(voice, {})
            if pending.pop(midi, False) and not _has_tie(note, "stop"):
                _end_tie(note)
                closed += 1
            if _has_tie(note, "start"):
                starting.setdefault(voice, {})[midi] = True
        # A tie ended by a proper stop elsewhere is simply not pending any more.
    if not closed:
        return []
    ties = _count(closed, "tie that was", "ties that were")
    return [f"{ties} never ended joined to the next note of the same pitch"]


BEAT_UNIT_QUARTERS = {
    "breve": 8.0,
    "whole": 4.0,
    "half": 2.0,
    "quarter": 1.0,
    "eighth": 0.5,
    "16th": 0.25,
    "32nd": 0.125,
}
TEMPO_MATCH = 0.02  # tempi this close (relatively) are the same


def _printed_quarters(metronome: Any) -> tuple[float, float] | None:
    """(per-minute, beat unit in quarters) of a printed mark with one beat unit, else None."""
    units = metronome.findall("beat-unit")
    if len(units) != 1:
        return None  # a metric modulation (♩ = ♪) or no unit
    unit = BEAT_UNIT_QUARTERS.get((units[0].text or "").strip())
    try:
        per_minute = float((metronome.findtext("per-minute") or "").strip())
    except ValueError:
        return None  # "c. 60", "60-72": left to the playback tempo
    if unit is None or not 1.0 <= per_minute <= 1000.0:
        return None
    dots = len(metronome.findall("beat-unit-dot"))
    return per_minute, unit * (2.0 - 0.5**dots)


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= TEMPO_MATCH * max(a, b)


def metronome_tempo(root: Any) -> list[str]:
    """Play a printed metronome mark as printed where its playback tempo says otherwise by the
    unit conversion done backwards, or is missing."""
    inverted = added = 0
    for direction in root.iter("direction"):
        metronome = next(direction.iter("metronome"), None)
        printed = _printed_quarters(metronome) if metronome is not None else None
        if printed is None:
            continue
        per_minute, unit = printed
        quarters = per_minute * unit
        sound = direction.find("sound")
        if sound is None or sound.get("tempo") is None:
            if sound is None:
                sound = etree.SubElement(direction, "sound")
            sound.set("tempo", f"{quarters:g}")
            added += 1
            continue
        try:
            playback = float(sound.get("tempo"))
        except ValueError:
            continue
        if (
            not _same(unit, 1.0)
            and _same(playback, per_minute / unit)
            and not _same(playback, quarters)
        ):
            sound.set("tempo", f"{quarters:g}")
            inverted += 1
    remarks = []
    if inverted:
        remarks.append(
            f"{_count(inverted, 'metronome mark')} played as printed (the playback tempo written "
            "with it was converted the wrong way round)"
        )
    if added:
        remarks.append(
            f"{_count(added, 'metronome mark')} without a playback tempo played as printed"
        )
    return remarks
