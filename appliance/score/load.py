"""Load MusicXML (.musicxml/.xml/.mxl) and MIDI scores into the note table, safely.

Files are checked before partitura sees them: size limit, format sniffed from the content,
.mxl archives tested, and XML entity declarations refused (they are never resolved). Every
problem becomes a :class:`ScoreError` that names the file.

Repeats: a score is played as written once (every bar once, the last volta ending only:
partitura's "minimal" unfolding). Training data instead follows each performance's own path.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
from lxml import etree

from appliance.errors import ScoreError
from appliance.score import directions
from appliance.score.notes import NOTE_DTYPE, Score, sort_notes
from appliance.score.unfold import Segment, unfold

SCORE_SUFFIXES = (".musicxml", ".xml", ".mxl", ".mid", ".midi")
MAX_SCORE_BYTES = 32 * 1024 * 1024
MAX_UNPACKED_BYTES = 256 * 1024 * 1024
MAX_REPEAT_VARIANT_SEARCH = 11  # 2**11 variants at most when matching a performance's repeats

Unfolding = Literal["minimal", "maximal", "none"]
_XML_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
}

log = logging.getLogger(__name__)


def load_score(path: Path | str, *, max_bytes: int = MAX_SCORE_BYTES) -> Score:
    """Load a score file and play it as written once."""
    return open_score(path, max_bytes=max_bytes).score("minimal")


def open_score(path: Path | str, *, max_bytes: int = MAX_SCORE_BYTES) -> ScoreSource:
    """Parse a score file into a :class:`ScoreSource` (written order, before unfolding)."""
    path = Path(path)
    kind, data = read_score_bytes(path, max_bytes=max_bytes)
    score = _parse(path, kind, data)
    return ScoreSource.from_partitura(path, score)


def read_score_bytes(path: Path, *, max_bytes: int) -> tuple[str, bytes]:
    """Return ("musicxml" | "midi", bytes) after the safety checks."""
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
    data = path.read_bytes()
    if data[:4] == b"MThd":
        return "midi", data
    if data[:4] == b"PK\x03\x04" or path.suffix.lower() == ".mxl":
        return "musicxml", _unpack_mxl(path, data)
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
        return "musicxml", _checked_musicxml(path, data)
    raise ScoreError(path, "not a MusicXML (.musicxml, .xml, .mxl) or MIDI file")


def _safe_parse_xml(path: Path, data: bytes, what: str) -> Any:
    if b"<!ENTITY" in data:
        raise ScoreError(path, f"{what} declares XML entities, which are refused for safety")
    parser = etree.XMLParser(**_XML_PARSER_OPTIONS)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ScoreError(path, f"{what} is not well-formed XML ({exc})") from None


def _checked_musicxml(path: Path, data: bytes) -> bytes:
    """The score's XML after the checks, with an id on every note (partitura relies on them)."""
    root = _safe_parse_xml(path, data, "the score")
    tag = root.tag if isinstance(root.tag, str) else ""
    if tag == "score-timewise":
        raise ScoreError(path, "timewise MusicXML is not supported; save the score as partwise")
    if tag != "score-partwise":
        raise ScoreError(path, f"not a MusicXML score (its root element is <{tag}>)")
    notes = root.findall(".//note")
    if all(n.get("id") for n in notes):
        return data
    taken = {n.get("id") for n in notes}
    counter = 0
    for n in notes:
        if not n.get("id"):
            while f"auto{counter}" in taken:
                counter += 1
            n.set("id", f"auto{counter}")
            counter += 1
    out: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    return out


def _unpack_mxl(path: Path, data: bytes) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "META-INF/container.xml" in names:
                container = _safe_parse_xml(
                    path, archive.read("META-INF/container.xml"), "the .mxl container"
                )
                rootfile = container.find(".//{*}rootfile")
                if rootfile is None or not rootfile.get("full-path"):
                    raise ScoreError(path, "the .mxl container names no score file")
                inner = str(rootfile.get("full-path"))
            else:
                candidates = [n for n in names if n.endswith((".xml", ".musicxml"))]
                if not candidates:
                    raise ScoreError(path, "the .mxl archive holds no MusicXML file")
                inner = sorted(candidates)[0]
            if inner not in names:
                raise ScoreError(path, f"the .mxl archive lacks its score file {inner!r}")
            if archive.getinfo(inner).file_size > MAX_UNPACKED_BYTES:
                raise ScoreError(path, "the score inside the .mxl archive is too large")
            xml = archive.read(inner)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise ScoreError(path, f"damaged or truncated .mxl archive ({exc})") from None
    return _checked_musicxml(path, xml)


def _parse(path: Path, kind: str, data: bytes) -> Any:
    import partitura

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.getLogger("partitura").setLevel(logging.ERROR)
        try:
            if kind == "midi":
                return partitura.load_score_midi(str(path))
            return partitura.load_musicxml(io.BytesIO(data))
        except ScoreError:
            raise
        except Exception as exc:  # partitura raises many kinds; all mean "unreadable"
            what = "MIDI" if kind == "midi" else "MusicXML"
            raise ScoreError(
                path, f"could not be read as {what} ({type(exc).__name__}: {exc})"
            ) from None


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

    @classmethod
    def from_partitura(cls, path: Path, score: Any) -> ScoreSource:
        from partitura import score as pts

        parts = list(getattr(score, "parts", [score]))
        if not parts:
            raise ScoreError(path, "the score has no parts")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            part = parts[0] if len(parts) == 1 else pts.merge_parts(parts)
            written = _written_notes(path, part)
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
            from partitura import score as pts

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
        from partitura import score as pts

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
            raise ScoreError(self.path, "the score has no notes")
        bars = sum(s.end_bar - s.start_bar for s in segments)
        return Score(notes, self.title, self.composer, self.path, bars=bars)

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


def _written_notes(path: Path, part: Any) -> np.ndarray:
    na = part.note_array(
        include_time_signature=True,
        include_metrical_position=True,
        include_grace_notes=True,
        include_staff=True,
    )
    if len(na) == 0:
        raise ScoreError(path, "the score has no notes")
    notes = np.zeros(len(na), dtype=NOTE_DTYPE)
    for name in ("pitch", "onset_quarter", "duration_quarter", "onset_beat", "duration_beat"):
        notes[name] = na[name]
    notes["onset_div"] = na["onset_div"]
    notes["id"] = _unique_ids(na["id"])
    notes["voice"] = na["voice"]
    notes["staff"] = na["staff"] if "staff" in na.dtype.names else 1
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
    return notes


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
