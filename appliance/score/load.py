"""Load MusicXML (.musicxml/.xml/.mxl) and MIDI scores into the note table, safely.

Files are checked before partitura sees them: size limit, format sniffed from the content,
.mxl archives unpacked with every size checked (:mod:`appliance.score.mxl`), XML decoded and
refused if it declares entities (:mod:`appliance.score.xmlsafe`), MIDI walked for what makes
readers hang (:mod:`appliance.score.midi_check`), and notes and bars capped
(:mod:`appliance.score.limits`). Every problem becomes a :class:`ScoreError` that names the
file. This module parses in the calling process: a score from outside goes through
:func:`appliance.score.sandbox.load_score`, which runs it in a child with memory and time
limits.

Repeats: a score is played as written once (every bar once, the last volta ending only:
partitura's "minimal" unfolding). Training data instead follows each performance's own path.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np

from appliance.errors import ScoreError
from appliance.score import directions, mxl, offline_partitura, xml_fixes, xmlsafe
from appliance.score.limits import MAX_BARS, MAX_NOTES, MAX_SCORE_BYTES
from appliance.score.midi_check import check_midi
from appliance.score.notes import NOTE_DTYPE, Score, merge_unisons, sort_notes
from appliance.score.unfold import Segment, unfold

SCORE_SUFFIXES = (".musicxml", ".xml", ".mxl", ".mid", ".midi")
MAX_REPEAT_VARIANT_SEARCH = 11  # 2**11 variants at most when matching a performance's repeats

Unfolding = Literal["minimal", "maximal", "none"]
NO_NOTES = "the score has no notes"
ONLY_PERCUSSION = "the score has only percussion (unpitched) notes, which a piano cannot play"

log = logging.getLogger(__name__)


def load_trusted_score(path: Path | str, *, max_bytes: int = MAX_SCORE_BYTES) -> Score:
    """Load a score file in this process and play it as written once: for files checked
    before (a library piece whose checksum still matches) and the training data."""
    path = Path(path)
    source = open_score(path, max_bytes=max_bytes)
    with _unreadable(path, "a score"):
        return source.score("minimal")


def open_score(path: Path | str, *, max_bytes: int = MAX_SCORE_BYTES) -> ScoreSource:
    """Parse a score file into a :class:`ScoreSource` (written order, before unfolding)."""
    path = Path(path)
    kind, data, remarks = read_score_bytes(path, max_bytes=max_bytes)
    try:
        with _unreadable(path, "MIDI" if kind == "midi" else "MusicXML"):
            source = ScoreSource.from_partitura(path, _parse(kind, data))
    except ScoreError as exc:
        if exc.problem == NO_NOTES and any("percussion" in r for r in remarks):
            raise ScoreError(path, ONLY_PERCUSSION) from None
        raise
    source.remarks = remarks
    return source


def read_score_bytes(path: Path, *, max_bytes: int) -> tuple[str, bytes, list[str]]:
    """Return ("musicxml" | "midi", bytes, remarks) after the safety checks and repairs; the
    MusicXML is UTF-8; remarks say what was changed to make it playable."""
    if not path.exists():
        raise ScoreError(path, "file not found")
    if not path.is_file():
        raise ScoreError(path, "not a file")
    size = path.stat().st_size
    if size > max_bytes:
        raise ScoreError(
            path, f"file is {size / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB limit"
        )
    if size == 0:
        raise ScoreError(path, "file is empty")
    with path.open("rb") as f:
        data = f.read(max_bytes + 1)  # the file may have grown since
    if len(data) > max_bytes:
        raise ScoreError(path, f"file is over the {max_bytes / 1e6:.0f} MB limit")
    try:
        return _checked(path, data)
    except ValueError as exc:
        raise ScoreError(path, str(exc)) from None


def _checked(path: Path, data: bytes) -> tuple[str, bytes, list[str]]:
    if data[:4] == b"MThd":
        check_midi(data)
        return "midi", data, []
    if data[:4] == b"PK\x03\x04" or path.suffix.lower() == ".mxl":
        return "musicxml", *checked_musicxml(mxl.score_xml(data))
    if _looks_like_xml(data):
        return "musicxml", *checked_musicxml(data)
    raise ValueError("not a MusicXML (.musicxml, .xml, .mxl) or MIDI file")


def _looks_like_xml(data: bytes) -> bool:
    try:
        encoding, bom = xmlsafe.encoding_of(data)
    except ValueError:
        return True  # XML in an encoding it gets wrong: say so
    head = data[bom : bom + 400].decode(encoding, errors="ignore")
    return head.lstrip(" \t\r\n")[:1] == "<"


def checked_musicxml(data: bytes) -> tuple[bytes, list[str]]:
    """The score's XML (as UTF-8) after the checks and repairs (:mod:`appliance.score.xml_fixes`),
    with an id on every note (partitura relies on them), and one line per kind of repair made;
    raises ValueError."""
    text = xmlsafe.as_utf8(data, "the score")
    _check_tags(text)
    root = xmlsafe.parse_utf8(text, "the score")
    tag = root.tag if isinstance(root.tag, str) else ""
    if tag == "score-timewise":
        raise ValueError("timewise MusicXML is not supported; save the score as partwise")
    if tag != "score-partwise":
        raise ValueError(f"not a MusicXML score (its root element is <{tag}>)")
    _check_size(root)
    remarks = xml_fixes.repair(root)  # some repairs leave no remark: always written out
    notes = root.findall(".//note")
    if all(n.get("id") for n in notes):
        return xmlsafe.serialize(root), remarks
    taken = {n.get("id") for n in notes}
    counter = 0
    for n in notes:
        if not n.get("id"):
            while f"auto{counter}" in taken:
                counter += 1
            n.set("id", f"auto{counter}")
            counter += 1
    return xmlsafe.serialize(root), remarks


_TAG = {name: re.compile(rb"<%s[\s>/]" % name) for name in (b"part", b"measure", b"note")}


def _check_tags(text: bytes) -> None:
    """Refuse scores far over the bar and note caps before building their tree (a tree of a
    hundred thousand bars alone needs hundreds of MB)."""
    count = {name: sum(1 for _ in tag.finditer(text)) for name, tag in _TAG.items()}
    bars = count[b"measure"] // max(count[b"part"], 1)
    if bars > MAX_BARS:
        raise ValueError(f"the score has {bars:,} bars in a part, over the limit of {MAX_BARS:,}")
    if count[b"note"] > 4 * MAX_NOTES:  # notes and rests; the exact count comes after parsing
        raise ValueError(f"the score has over {MAX_NOTES:,} notes, the limit")


def _check_size(root: Any) -> None:
    """Refuse scores over the note and bar caps, and time signatures of 0 beats."""
    bars = max((len(part.findall("measure")) for part in root.iterfind("part")), default=0)
    if bars > MAX_BARS:
        raise ValueError(f"the score has {bars:,} bars in a part, over the limit of {MAX_BARS:,}")
    sounding = sum(1 for n in root.iter("note") if n.find("rest") is None)
    if sounding > MAX_NOTES:
        raise ValueError(f"the score has {sounding:,} notes, over the limit of {MAX_NOTES:,}")
    for beats in root.iter("beats"):
        counts = re.findall(r"\d+", beats.text or "")
        if counts and sum(int(c) for c in counts) == 0:
            raise ValueError("the score has a time signature with 0 beats in a bar")


@contextmanager
def _unreadable(path: Path, what: str) -> Iterator[None]:
    """Whatever partitura (or mido) raises on a file that passed the checks means "unreadable"."""
    try:
        yield
    except ScoreError:
        raise
    except Exception as exc:  # partitura raises many kinds, RecursionError included
        raise ScoreError(
            path, f"could not be read as {what} ({type(exc).__name__}: {exc})"
        ) from None


def _parse(kind: str, data: bytes) -> Any:
    import mido

    partitura = offline_partitura.partitura()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("partitura").setLevel(logging.ERROR)
        if kind == "midi":
            return partitura.load_score_midi(mido.MidiFile(file=io.BytesIO(data)))
        return partitura.load_musicxml(io.BytesIO(data))


_GENERIC_TRACK = re.compile(
    r"^(?:|track|piano|acoustic grand piano|grand piano|untitled|tempo track|staff|"
    r"(?:track|staff|piano)\s*-?\s*\d+|\d+)$",
    re.IGNORECASE,
)


def _midi_title(path: Path) -> str:
    """A MIDI file's own name for itself: the first track's name, unless it is generic
    ("Piano", "Track 1"); "" when it has none."""
    import mido

    try:
        midi = mido.MidiFile(str(path))
    except (OSError, ValueError, EOFError, KeyError, IndexError, RecursionError):
        return ""
    for track in midi.tracks[:1]:
        for message in track:
            if message.type == "track_name":
                name = str(message.name).strip()
                if not _GENERIC_TRACK.match(name):
                    return name[:120]
    return ""


@dataclass
class ScoreSource:
    """A parsed score in written order, ready to be unfolded along a path."""

    path: Path
    part: Any  # partitura Part (several parts merged into one)
    written: np.ndarray  # NOTE_DTYPE, written timeline
    title: str
    composer: str
    remarks: list[str] = field(default_factory=list)  # what was changed to make it playable

    @classmethod
    def from_partitura(cls, path: Path, score: Any) -> ScoreSource:
        pts = offline_partitura.partitura_score()

        parts = list(getattr(score, "parts", [score]))
        if not parts:
            raise ScoreError(path, "the score has no parts")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            staves = _staves_by_part(parts) if len(parts) > 1 else None
            part = parts[0] if len(parts) == 1 else pts.merge_parts(parts)
            written = _written_notes(path, part, staves)
        title = ""
        for attribute in ("title", "work_title", "movement_title"):
            title = title or str(getattr(score, attribute, None) or "").strip()
        composer = str(getattr(score, "composer", None) or "").strip()
        if not title and path.suffix.lower() in (".mid", ".midi"):
            title = _midi_title(path)
        return cls(path, part, written, title or path.stem, composer)

    def segments(self, how: Unfolding = "minimal") -> list[Segment]:
        """The path through the score: once as written, every repeat, or no unfolding at all."""
        if how != "none":
            pts = offline_partitura.partitura_score()

            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    paths = pts.get_paths(
                        self.part,
                        no_repeats=how == "minimal",
                        all_repeats=how == "maximal",
                        ignore_leap_info=True,
                    )
                    variant = pts.new_scorevariant_from_path(paths[0], self.part)
                segs = self._segments(variant.segment_times)
                if segs:
                    return segs
            except (Exception, RecursionError) as exc:  # never crash on odd repeat structures
                log.info("%s: repeats not unfolded (%s)", self.path, exc)
        return self._segments([(self._start_div, self._end_div, 0)])

    def repeat_variants(self) -> Iterator[list[Segment]]:
        """Every way through the repeats, when there are few enough to try them all."""
        pts = offline_partitura.partitura_score()

        n_repeats = sum(1 for _ in self.part.iter_all(pts.Repeat))
        if n_repeats == 0 or n_repeats > MAX_REPEAT_VARIANT_SEARCH:
            return
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                variants = pts.make_score_variants(self.part)
        except (Exception, RecursionError) as exc:
            log.info("%s: no repeat variants (%s)", self.path, exc)
            return
        for variant in variants:
            yield self._segments(variant.segment_times)

    def unfolded(self, segments: list[Segment]) -> np.ndarray:
        return sort_notes(unfold(self.written, segments))

    def score(self, how: Unfolding = "minimal") -> Score:
        segments = self.segments(how)
        notes = self.unfolded(segments)
        if len(notes) == 0:
            raise ScoreError(self.path, NO_NOTES)
        bars = sum(s.end_bar - s.start_bar for s in segments)
        return Score(
            notes, self.title, self.composer, self.path, bars=bars, remarks=tuple(self.remarks)
        )

    @property
    def _start_div(self) -> int:
        return int(self.part.first_point.t) if self.part.first_point is not None else 0

    @property
    def _end_div(self) -> int:
        return int(self.part.last_point.t) + 1 if self.part.last_point is not None else 1

    @cached_property
    def _maps(self) -> tuple[Any, Any, np.ndarray]:
        """(quarter map, beat map, bar starts): partitura rebuilds its maps on every access."""
        return self.part.quarter_map, self.part.beat_map, _bar_starts(self.part)

    def _segments(self, times: list[tuple[int, int, int]]) -> list[Segment]:
        quarter_map, beat_map, bar_starts = self._maps
        out = []
        for start, end, _offset in times:
            if end <= start:
                continue
            out.append(
                Segment(
                    start_div=int(start),
                    end_div=int(end),
                    start_quarter=float(quarter_map(start)),
                    end_quarter=float(quarter_map(end)),
                    start_beat=float(beat_map(start)),
                    end_beat=float(beat_map(end)),
                    start_bar=_bar_index(bar_starts, start),
                    end_bar=_bar_index(bar_starts, end - 1) + 1,
                )
            )
        return out


def _bar_starts(part: Any) -> np.ndarray:
    starts = sorted(int(m.start.t) for m in part.measures if m.start is not None)
    return np.asarray(starts or [0], dtype=np.int64)


def _bar_index(bar_starts: np.ndarray, div: int) -> int:
    return max(int(np.searchsorted(bar_starts, div, side="right")) - 1, 0)


MIDDLE_C = 60


def _staves_by_part(parts: list[Any]) -> dict[str, int]:
    """Staff (1 upper, 2 lower) of every note id, for several parts merged into one piano
    part: a part written on two staves (a piano) keeps them; a one-staff part goes to the
    upper staff when its median pitch is at or above middle C, else to the lower one."""
    out: dict[str, int] = {}
    for p in parts:
        na = p.note_array(include_staff=True)
        if len(na) == 0:
            continue
        staff = na["staff"] if "staff" in na.dtype.names else np.ones(len(na), int)
        if len(np.unique(staff)) > 1:
            chosen = np.where(staff <= 1, 1, 2)
        else:
            chosen = np.full(len(na), 1 if np.median(na["pitch"]) >= MIDDLE_C else 2)
        out.update(zip((str(i) for i in na["id"]), (int(c) for c in chosen), strict=True))
    return out


def _written_notes(path: Path, part: Any, staves: dict[str, int] | None = None) -> np.ndarray:
    """The note table of one part in written order; ``staves`` gives the staff of each note
    id when the part is several merged (others: by register)."""
    na = part.note_array(
        include_time_signature=True,
        include_metrical_position=True,
        include_grace_notes=True,
        include_staff=True,
    )
    if len(na) == 0:
        raise ScoreError(path, NO_NOTES)
    notes = np.zeros(len(na), dtype=NOTE_DTYPE)
    for name in ("pitch", "onset_quarter", "duration_quarter", "onset_beat", "duration_beat"):
        notes[name] = na[name]
    notes["onset_div"] = na["onset_div"]
    notes["id"] = _unique_ids(na["id"])
    notes["voice"] = na["voice"]
    notes["staff"] = na["staff"] if "staff" in na.dtype.names else 1
    if staves is not None:
        by_pitch = np.where(na["pitch"] >= MIDDLE_C, 1, 2)
        notes["staff"] = [
            staves.get(str(i), int(d)) for i, d in zip(na["id"], by_pitch, strict=True)
        ]
    notes["is_grace"] = na["is_grace"].astype(bool)
    notes["is_downbeat"] = na["is_downbeat"].astype(bool)
    notes["ts_num"] = na["ts_beats"]
    notes["ts_den"] = na["ts_beat_type"]

    bar_starts = _bar_starts(part)
    measures = sorted((m for m in part.measures if m.start is not None), key=lambda m: m.start.t)
    bar = np.clip(np.searchsorted(bar_starts, notes["onset_div"], side="right") - 1, 0, None)
    notes["bar"] = bar
    if measures:
        numbers = np.array([_measure_number(m, i) for i, m in enumerate(measures)], dtype=np.int32)
        notes["bar_number"] = numbers[np.minimum(bar, len(numbers) - 1)]
        bar_start_q = np.asarray(part.quarter_map(bar_starts), dtype=np.float64)
        ends = [int(m.end.t) if m.end is not None else int(m.start.t) for m in measures]
        bar_end_q = np.asarray(part.quarter_map(np.asarray(ends)), dtype=np.float64)
        notes["bar_position"] = notes["onset_quarter"] - bar_start_q[bar]
        notes["bar_length"] = (bar_end_q - bar_start_q)[bar]
    else:
        notes["bar_number"] = bar + 1
        notes["bar_position"] = notes["onset_quarter"] % 4.0
        notes["bar_length"] = 4.0

    directions.annotate(part, notes, bar_starts)
    directions.quarter_bpm(part, notes)
    return merge_unisons(notes)


def _unique_ids(raw: np.ndarray) -> list[str]:
    """The score's note ids, or generated ones where they are missing or repeated."""
    ids = [str(i) for i in raw]
    if len(set(ids)) == len(ids) and not any(i in ("", "None") for i in ids):
        return ids
    return [f"n{k}" for k in range(len(ids))]


def _measure_number(measure: Any, index: int) -> int:
    number: Any = getattr(measure, "number", None)
    try:
        return int(number)
    except (TypeError, ValueError):
        return index + 1
