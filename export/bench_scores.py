"""The score loader over real-world files nobody here wrote: music21's corpus.

    python -m export.bench_scores [--limit N] [--jobs 2] [--out build/bench_scores.json]

Every MusicXML and .mxl file of the corpus installed with music21 is read twice, each in a fresh
process: by the box's loader (``appliance.score.load_score``: sandboxed, with its limits) and by
music21. Per file it reports whether the box loaded it or refused it (and why), its sounding
note count against music21's, and the seconds and peak resident memory of the box's reading.

music21's count is made comparable with what the box plays: ties joined (``stripTies``), parts
at sounding pitch (``toSoundingPitch``), percussion left out, microtones rounded, only the last
ending of each volta bracket (repeats are played once, with the last ending), and the same key
struck at the same time in several parts or voices counted once. Notes still marked as the
continuation or end of a tie after ``stripTies`` (it leaves some tied chords unjoined, e.g. in
Schoenberg op. 19/6) are not counted as new strikes.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing as mp
import resource
import time
from collections import Counter
from pathlib import Path
from typing import Any

import typer

from appliance.console import run_app
from appliance.paths import REPO_ROOT

TOLERANCE = 0.01  # note counts within 1 % agree
SUFFIXES = (".mxl", ".musicxml", ".xml")


def corpus_files() -> list[Path]:
    import music21

    root = Path(music21.__file__).parent / "corpus"
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())


def _ours(path: str) -> dict[str, Any]:
    from appliance.errors import ScoreError
    from appliance.score import load_score

    start = time.perf_counter()
    try:
        score = load_score(Path(path))
    except ScoreError as exc:
        return {"status": "refused", "reason": exc.problem, "seconds": time.perf_counter() - start}
    except Exception as exc:  # the benchmark is there to find these
        return {"status": "crashed", "reason": f"{type(exc).__name__}: {exc}"}
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "status": "loaded",
        "notes": len(score.notes),
        "seconds": time.perf_counter() - start,
        "peak_mb": peak,
        "remarks": list(score.remarks),
    }


def _last_endings_only(score: Any) -> set[int]:
    """ids of the measures inside a volta bracket that is not the last of its group."""
    from music21 import spanner

    skip: set[int] = set()
    brackets = list(score.recurse().getElementsByClass(spanner.RepeatBracket))
    by_part: dict[int, list[Any]] = {}
    for b in brackets:
        measures = b.getSpannedElements()
        if not measures:
            continue
        owner = measures[0].getContextByClass("Part")
        by_part.setdefault(id(owner), []).append(b)
    for group in by_part.values():
        group.sort(key=lambda b: b.getSpannedElements()[0].offset)
        # Brackets that follow one another form a group; all but the last are skipped.
        for here, after in itertools.pairwise(group):
            last_here = here.getSpannedElements()[-1]
            first_after = after.getSpannedElements()[0]
            if abs(first_after.offset - (last_here.offset + last_here.quarterLength)) < 1e-6:
                skip.update(id(m) for m in here.getSpannedElements())
    return skip


def _music21(path: str) -> dict[str, Any]:
    import music21
    from music21 import harmony
    from music21 import note as m21note
    from music21.percussion import PercussionChord

    try:
        score = music21.converter.parse(path)
        score = score.toSoundingPitch()
        score = score.stripTies()  # a copy: the measures to skip are found in it
        skipped = _last_endings_only(score)
    except Exception as exc:
        return {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
    keys: Counter[tuple[float, int, bool]] = Counter()
    for part in score.parts if hasattr(score, "parts") and score.parts else [score]:
        shift = 0.0
        for measure in part.getElementsByClass("Measure"):
            if id(measure) in skipped:
                shift += measure.quarterLength
                continue
            for n in measure.recurse().notes:
                if isinstance(n, (m21note.Unpitched, harmony.ChordSymbol, PercussionChord)):
                    continue  # percussion is left out, chord symbols are not played
                grace = n.duration.isGrace
                at = round(float(n.getOffsetInHierarchy(part)) - shift, 4)
                members = list(n.notes) if n.isChord else [n]
                for member in members:
                    if not hasattr(member, "pitch"):  # an unpitched note inside a chord
                        continue
                    tie = member.tie  # a chord's own tie is only a summary of its notes'
                    if tie is not None and tie.type in ("stop", "continue"):
                        continue  # held from before: stripTies leaves some tied chords
                    keys[(at, round(member.pitch.ps), grace)] += 1
    return {"status": "read", "notes": len(keys)}


def _one(path: str) -> dict[str, Any]:
    return {"file": path, "ours": _ours(path), "music21": _music21(path)}


def _agrees(row: dict[str, Any]) -> bool:
    """Loaded, and within 1 % of music21's count."""
    ours, theirs = row["ours"], row["music21"]
    if ours["status"] != "loaded" or theirs["status"] != "read" or not theirs["notes"]:
        return False
    return bool(abs(ours["notes"] - theirs["notes"]) <= TOLERANCE * theirs["notes"])


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    total = len(rows)
    loaded = [r for r in rows if r["ours"]["status"] == "loaded"]
    refused = [r for r in rows if r["ours"]["status"] == "refused"]
    crashed = [r for r in rows if r["ours"]["status"] == "crashed"]
    compared = [r for r in loaded if r["music21"]["status"] == "read" and r["music21"]["notes"]]
    close = [
        r
        for r in compared
        if abs(r["ours"]["notes"] - r["music21"]["notes"]) <= TOLERANCE * r["music21"]["notes"]
    ]
    seconds = sorted(r["ours"]["seconds"] for r in loaded)
    memory = sorted(r["ours"]["peak_mb"] for r in loaded)

    def pct(values: list[float], q: float) -> float:
        return values[min(int(q * len(values)), len(values) - 1)] if values else float("nan")

    return {
        "files": total,
        "loaded": len(loaded),
        "refused": len(refused),
        "crashed": len(crashed),
        "compared": len(compared),
        "within_1_percent": len(close),
        "seconds_median": pct(seconds, 0.5),
        "seconds_max": seconds[-1] if seconds else float("nan"),
        "peak_mb_median": pct(memory, 0.5),
        "peak_mb_max": memory[-1] if memory else float("nan"),
        "refusals": Counter(r["ours"]["reason"][:80] for r in refused).most_common(20),
        "crashes": [(r["file"], r["ours"]["reason"]) for r in crashed],
        "differing": sorted(
            (
                (r["file"], r["ours"]["notes"], r["music21"]["notes"])
                for r in compared
                if r not in close
            ),
            key=lambda x: -abs(x[1] - x[2]) / max(x[2], 1),
        )[:40],
    }


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main_cmd(
    limit: int = typer.Option(0, help="only the first N files (0: all)"),
    jobs: int = typer.Option(2, help="files read at once"),
    out: Path = typer.Option(REPO_ROOT / "build" / "bench_scores.json"),
    retry: Path = typer.Option(
        None, help="an earlier OUT: read again only its files not loaded or not within 1 %"
    ),
) -> None:
    """Read the corpus, print the summary, write every file's figures to OUT."""
    files = [str(p) for p in corpus_files()]
    if limit:
        files = files[:limit]
    kept: list[dict[str, Any]] = []
    if retry is not None:
        earlier = json.loads(retry.read_text())["files"]
        again = {r["file"] for r in earlier if not _agrees(r)}
        kept = [r for r in earlier if r["file"] not in again]
        files = [f for f in files if f in again]
    rows = list(kept)
    with mp.get_context("spawn").Pool(jobs, maxtasksperchild=1) as pool:
        for k, row in enumerate(pool.imap_unordered(_one, files), 1):
            rows.append(row)
            ours, theirs = row["ours"], row["music21"]
            print(
                f"[{k}/{len(files)}] {Path(row['file']).name}: {ours['status']} "
                f"{ours.get('notes', ours.get('reason', ''))} vs music21 "
                f"{theirs.get('notes', theirs.get('reason', ''))}",
                flush=True,
            )
    summary = summarise(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"summary": summary, "files": rows}, indent=1))
    print(json.dumps(summary, indent=1))


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()
