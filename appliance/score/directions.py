"""Attach the score's performance directions to each note (the renderer's input features).

Reads partitura's direction, slur, fermata and articulation objects of one part and fills the
marking columns of the note table (original timeline, by ``onset_div``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from appliance.score import markings
from appliance.score.offline_partitura import partitura_score
from appliance.score.tempo_headings import tempo_word_index

if TYPE_CHECKING:
    from partitura import score as pts


MAX_HEADING_WORDS = 8  # longer plain words are instructions, not a tempo heading
HEADING_STARTS_WITHIN = 2  # words: "Im lebhaften Tempo" is a heading, "doux et grave" is not


def _span(obj: Any, bar_starts: np.ndarray) -> tuple[int, int]:
    """(start, end) in divisions; an open end lasts to the end of the next bar."""
    start = int(obj.start.t)
    if obj.end is not None and obj.end.t > start:
        return start, int(obj.end.t)
    later = bar_starts[bar_starts > start]
    end = int(later[1]) if len(later) > 1 else (int(later[0]) if len(later) else start + 1)
    return start, max(end, start + 1)


def _in_span(onset: np.ndarray, start: int, end: int) -> np.ndarray:
    return (onset >= start) & (onset < end)


def _objects(part: pts.Part, cls: type) -> Iterable[Any]:
    return sorted(part.iter_all(cls, include_subclasses=True), key=lambda o: o.start.t)


def annotate(part: pts.Part, notes: np.ndarray, bar_starts: np.ndarray) -> None:
    """Fill the direction columns of ``notes`` (rows of the part's written notes) in place."""
    ps = partitura_score()
    onset = notes["onset_div"]
    notes["dynamic"] = -1
    notes["tempo_word"] = -1
    notes["impulsive"] = 0
    notes["tempo_change"] = 0

    for d in _objects(part, ps.ConstantLoudnessDirection):
        level = markings.dynamic_index(d.text)
        if level < 0:
            level = markings.dynamic_index(getattr(d, "raw_text", None))
        if level >= 0:
            notes["dynamic"][onset >= d.start.t] = level
    for d in _objects(part, ps.ImpulsiveLoudnessDirection):
        kind = markings.impulsive_index(d.text)
        at = onset == d.start.t
        notes["impulsive"][at] = kind or markings.IMPULSIVE.index("sforzando")
        # "sfp"/"fp" leave the music soft afterwards; the loudness marking already says so.
    for cls, column in (
        (ps.IncreasingLoudnessDirection, "crescendo"),
        (ps.DecreasingLoudnessDirection, "diminuendo"),
    ):
        for d in _objects(part, cls):
            start, end = _span(d, bar_starts)
            notes[column] |= _in_span(onset, start, end)

    # (start, from partitura's tempo directions, tempo word): headings partitura does not know
    # ("Sehr langsam", "Modéré") stay plain words; short ones that begin with a tempo count
    # too, and where both start together partitura's direction is applied last (it wins).
    headings: list[tuple[int, bool, int]] = []
    for d in _objects(part, ps.ConstantTempoDirection):
        if isinstance(d, ps.ResetTempoDirection):
            continue
        word = tempo_word_index(d.text)
        if word < 0:
            word = tempo_word_index(getattr(d, "raw_text", None))
        if word >= 0:
            headings.append((int(d.start.t), True, word))
    for w in _objects(part, ps.Words):
        text = str(getattr(w, "text", "") or "")
        if len(text.split()) <= MAX_HEADING_WORDS:
            word = tempo_word_index(text, within_words=HEADING_STARTS_WITHIN)
            if word >= 0:
                headings.append((int(w.start.t), False, word))
    for start, _, word in sorted(headings, key=lambda h: (h[0], h[1])):
        notes["tempo_word"][onset >= start] = word
    for cls, default in (
        (ps.IncreasingTempoDirection, "accelerando"),
        (ps.DecreasingTempoDirection, "ritardando"),
        (ps.ResetTempoDirection, "a_tempo"),
    ):
        for d in _objects(part, cls):
            change = markings.tempo_change_index(d.text, default=default)
            if cls is ps.ResetTempoDirection:
                # "a tempo" is a point: mark the notes of the bar it starts.
                later = bar_starts[bar_starts > d.start.t]
                end = int(later[0]) if len(later) else int(d.start.t) + 1
                notes["tempo_change"][_in_span(onset, int(d.start.t), end)] = change
            else:
                start, end = _span(d, bar_starts)
                notes["tempo_change"][_in_span(onset, start, end)] = change

    for d in _objects(part, ps.ConstantArticulationDirection):
        flags = markings.articulation_flags([(d.text or "").strip()])
        start, end = _span(d, bar_starts)
        inside = _in_span(onset, start, end)
        if "legato" in (d.text or "").lower():
            notes["legato"] |= inside
        for name, on in flags.items():
            if on:
                notes[name] |= inside

    for slur in part.iter_all(ps.Slur):
        if slur.start_note is None or slur.end_note is None:
            continue
        start, end = int(slur.start_note.start.t), int(slur.end_note.start.t)
        notes["legato"] |= (onset >= start) & (onset <= end)

    row = {str(note_id): i for i, note_id in enumerate(notes["id"])}
    for note in part.notes:
        # A mark on a tied continuation belongs to the sounding (first) note.
        i = row.get(str(tie_head(note).id))
        if i is None:
            continue
        for name, on in markings.articulation_flags(note.articulations).items():
            if on:
                notes[name][i] = True
        if getattr(note, "fermata", None) is not None:
            notes["fermata"][i] = True
    fermata_times = {int(f.start.t) for f in part.iter_all(ps.Fermata)}
    if fermata_times:
        notes["fermata"] |= np.isin(onset, np.fromiter(fermata_times, dtype=np.int64))


def tie_head(note: Any) -> Any:
    """The first note of the tie chain ``note`` belongs to (safe on broken, cyclic ties)."""
    head, seen = note, {id(note)}
    while getattr(head, "tie_prev", None) is not None and id(head.tie_prev) not in seen:
        head = head.tie_prev
        seen.add(id(head))
    return head


def quarter_bpm(part: pts.Part, notes: np.ndarray) -> None:
    """Fill ``score_bpm``: the written metronome mark, else the tempo word's typical tempo."""
    ps = partitura_score()
    onset = notes["onset_div"]
    notes["score_bpm"] = 0.0
    for word in np.unique(notes["tempo_word"]):
        if word < 0:
            continue
        mask = notes["tempo_word"] == word
        beat_quarters = beat_in_quarters(notes["ts_num"][mask], notes["ts_den"][mask])
        bpm = markings.TEMPO_WORD_BPM[markings.TEMPO_WORDS[word]]
        notes["score_bpm"][mask] = bpm * beat_quarters
    for tempo in sorted(part.iter_all(ps.Tempo), key=lambda t: t.start.t):
        try:
            qpm = 60e6 / float(tempo.microseconds_per_quarter)
        except (TypeError, ValueError, ZeroDivisionError, KeyError):
            continue
        if 10.0 <= qpm <= 400.0:
            notes["score_bpm"][onset >= tempo.start.t] = qpm


def beat_in_quarters(ts_num: np.ndarray, ts_den: np.ndarray) -> np.ndarray:
    """Length of the felt beat in quarters (dotted quarter in 6/8, 9/8, 12/8)."""
    den = np.maximum(ts_den.astype(np.float64), 1.0)
    compound = (ts_num % 3 == 0) & (ts_num > 3) & (den >= 8)
    return np.where(compound, 3.0 * 4.0 / den, 4.0 / den)
