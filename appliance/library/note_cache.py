"""Scores already read, kept as note tables beside the library (``cache/``).

Reading a MusicXML score takes the parser up to a second of the interpreter's time, and while
it runs the audio thread waits for its turn (a piece change made blocks 100 ms late). A piece's
note table is therefore read once — when it is added or first played — and kept in
``cache/<content sha256>.npz`` (the table and its title, composer and bar count; read back with
``allow_pickle=False``), so that playing it again costs milliseconds. The file's checksum is
the key: a changed file is read again; ``VERSION`` changes when the reading does.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import numpy as np

from appliance.paths import write_atomically
from appliance.score.notes import NOTE_DTYPE, Score

log = logging.getLogger(__name__)
VERSION = 4  # 2: unisons merged; 3: tempo headings in German, French, English; 4: metronome marks


class NoteCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _file(self, digest: str) -> Path:
        return self.folder / f"v{VERSION}-{digest}.npz"

    def get(self, digest: str, source: Path) -> Score | None:
        """The score read before from a file with this checksum, or None."""
        path = self._file(digest)
        try:
            with np.load(path, allow_pickle=False) as data:
                notes = data["notes"]
                head = json.loads(bytes(data["head"]).decode("utf-8"))
        except (OSError, ValueError, KeyError):
            return None  # not there, or damaged: read the score again
        if notes.dtype != NOTE_DTYPE or notes.ndim != 1:
            return None
        return Score(
            notes,
            title=str(head.get("title", "")),
            composer=str(head.get("composer", "")),
            source=source,
            bars=int(head.get("bars", 0)),
            remarks=tuple(str(r) for r in head.get("remarks", []) if isinstance(r, str)),
        )

    def put(self, digest: str, score: Score) -> None:
        """Keep ``score``; a failure to write only costs reading it again later."""
        head = {
            "title": score.title,
            "composer": score.composer,
            "bars": score.bars,
            "remarks": list(score.remarks),
        }
        raw = np.frombuffer(json.dumps(head).encode("utf-8"), np.uint8)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            packed = io.BytesIO()
            np.savez(packed, notes=score.notes, head=raw)
            write_atomically(self._file(digest), packed.getvalue())
        except OSError as exc:
            log.warning("could not keep the note table of %s: %s", score.source, exc)
