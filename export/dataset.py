"""Build the training set: aligned score/performance pairs → per-note score features and targets.

For every performance: unfold the score along the performance's own repeat path, take the
performed onset, key-release duration, velocity and sustain pedal of each matched score note,
drop extra played notes, fill unplayed score notes from their neighbours (local tempo and
dynamics interpolated), and turn the result into expression targets
(:func:`appliance.render.expression.expression_from_performance`). Performances with fewer than
80 % of their score notes matched are dropped.

Each performance becomes one ``.npz`` in the cache (``~/.cache/appliance/dataset/<version>``);
files already built are kept, so a rebuild only does what is missing.

    python -m export.dataset build [--jobs 2] [--limit N]
    python -m export.dataset info
"""

from __future__ import annotations

import csv
import json
import logging
import multiprocessing as mp
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from rich.table import Table

from appliance.console import run_app
from appliance.errors import ApplianceError
from appliance.paths import cache_dir
from appliance.render.expression import PERFORMED_DTYPE, expression_from_performance
from appliance.score.directions import tie_head
from appliance.score.load import ScoreSource, open_score
from export.alignment import Alignment, choose_path, fill_missing, map_tied, pedal_at
from export.extract import extract
from export.split import SPLITS, asap_piece_key, assign_split, batik_piece_key

DATASET_VERSION = "v3"  # v2: tempo headings in German, French, English; v3: metronome marks
MIN_MATCHED = 0.8
MAX_TRAINING_SCORE_BYTES = 64 * 1024 * 1024

console = Console()


@dataclass(frozen=True)
class PerformanceJob:
    name: str  # unique, file-system safe
    piece: str
    performer: str
    alignment: str  # path to note_alignment.tsv or .match
    midi: str  # performance MIDI ('' for Batik: notes come from the match file)


@dataclass(frozen=True)
class ScoreJob:
    corpus: str
    score: str
    performances: tuple[PerformanceJob, ...]


@dataclass
class Record:
    """One processed performance, as the trainers and the evaluation read it."""

    name: str
    piece: str
    performer: str
    split: str
    notes: np.ndarray
    expression: np.ndarray
    performed: np.ndarray
    matched: np.ndarray


def dataset_dir(cache: Path | None = None) -> Path:
    return (cache or cache_dir()) / "dataset" / DATASET_VERSION


def list_jobs(root: Path) -> tuple[list[ScoreJob], Counter[str]]:
    """Every usable score with its performances; counts of what had to be skipped and why."""
    skipped: Counter[str] = Counter()
    jobs: list[ScoreJob] = []
    by_folder: dict[str, list[PerformanceJob]] = defaultdict(list)
    with (root / "asap" / "metadata.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            midi = root / "asap" / row["midi_performance"]
            tsv = Path(str(midi)[: -len(".mid")] + "_note_alignments") / "note_alignment.tsv"
            if not (root / "asap" / row["xml_score"]).exists():
                skipped["asap: no MusicXML score"] += 1
                continue
            if not tsv.exists():
                skipped["asap: no note alignment"] += 1
                continue
            key = asap_piece_key(row["composer"], row["title"])
            performer = midi.stem
            name = "asap__" + row["midi_performance"][: -len(".mid")].replace("/", "__")
            by_folder[row["xml_score"]].append(
                PerformanceJob(name, key, performer, str(tsv), str(midi))
            )
    for folder, perfs in sorted(by_folder.items()):
        jobs.append(ScoreJob("asap", str(root / "asap" / folder), tuple(perfs)))
    for match in sorted((root / "batik" / "match").glob("*.match")):
        score = root / "batik" / "scores" / f"{match.stem}.musicxml"
        if not score.exists():
            skipped["batik: no score"] += 1
            continue
        perf = PerformanceJob(
            f"batik__{match.stem}", batik_piece_key(match.stem), "Batik", str(match), ""
        )
        jobs.append(ScoreJob("batik", str(score), (perf,)))
    return jobs, skipped


def _tie_heads(source: ScoreSource) -> dict[str, str]:
    heads = {}
    for note in source.part.notes:
        head = tie_head(note)
        if head is not note:
            heads[str(note.id)] = str(head.id)
    return heads


def _performed_notes(
    job: PerformanceJob,
) -> tuple[dict[str, tuple[float, float, float]], Any, Alignment]:
    """Performed notes by id (onset, key-release duration, velocity), pedal events, alignment."""
    from appliance.score.offline_partitura import partitura as offline_partitura

    partitura = offline_partitura()
    if job.midi:
        perf = partitura.load_performance_midi(job.midi)
        alignment = Alignment.from_asap_tsv(Path(job.alignment))
    else:
        perf, records = partitura.load_match(job.alignment)
        alignment = Alignment.from_records(records)
    part = perf.performedparts[0]
    notes = {
        str(n["id"]): (
            float(n["note_on"]),
            float(n["note_off"]) - float(n["note_on"]),
            float(n["velocity"]),
        )
        for n in part.notes
    }
    pedal = sorted(
        (float(c["time"]), float(c["value"])) for c in part.controls if c["number"] == 64
    )
    return notes, np.asarray(pedal, dtype=np.float64).reshape(-1, 2), alignment


def _candidates(source: ScoreSource) -> list[Any]:
    found = [source.segments("minimal"), source.segments("maximal")]
    found.extend(source.repeat_variants())
    return found


def process_score(job: ScoreJob, out_dir: str) -> list[dict[str, Any]]:
    """Process every performance of one score; return one summary per performance."""
    warnings.simplefilter("ignore")
    logging.getLogger("partitura").setLevel(logging.ERROR)
    results: list[dict[str, Any]] = []
    todo = []
    for perf in job.performances:
        done = _cached_summary(Path(out_dir), perf.name)
        if done is None:
            todo.append(perf)
        else:
            results.append(done)
    if not todo:
        return results
    try:
        source = open_score(job.score, max_bytes=MAX_TRAINING_SCORE_BYTES)
    except ApplianceError as exc:
        return results + [{"name": p.name, "status": "error", "error": str(exc)} for p in todo]
    heads = _tie_heads(source)
    candidates: list[Any] | None = None
    for perf in todo:
        try:
            results.append(_process_performance(job, perf, source, heads, candidates, out_dir))
            if candidates is None:
                candidates = _candidates(source)
        except Exception as exc:  # one bad performance must not stop the build
            results.append(
                {"name": perf.name, "status": "error", "error": f"{type(exc).__name__}: {exc}"}
            )
    return results


def _cached_summary(folder: Path, name: str) -> dict[str, Any] | None:
    """The summary of a performance processed by an earlier build, if any."""
    dropped = folder / f"{name}.dropped.json"
    if dropped.exists():
        summary: dict[str, Any] = json.loads(dropped.read_text())
        return summary
    path = folder / f"{name}.npz"
    if not path.exists():
        return None
    with np.load(path) as data:
        meta = json.loads(str(data["meta"]))
    return dict(meta.get("summary", {"name": name}), status="kept")


def _process_performance(
    job: ScoreJob,
    perf: PerformanceJob,
    source: ScoreSource,
    heads: dict[str, str],
    candidates: list[Any] | None,
    out_dir: str,
) -> dict[str, Any]:
    played, pedal_events, raw_alignment = _performed_notes(perf)
    alignment = map_tied(raw_alignment, heads)
    options = candidates if candidates is not None else _candidates(source)
    best, coverage = choose_path(
        source.written["id"], source.written["onset_div"], options, alignment.score_ids
    )
    notes = source.unfolded(options[best])
    index = {str(i): k for k, i in enumerate(notes["id"])}
    n = len(notes)
    onset, duration, velocity = np.zeros(n), np.zeros(n), np.zeros(n)
    matched = np.zeros(n, dtype=bool)
    for score_id, perf_id in alignment.matches:
        k = index.get(score_id)
        note = played.get(perf_id)
        if k is None or note is None:
            continue
        onset[k], duration[k], velocity[k] = note
        matched[k] = True
    summary: dict[str, Any] = {
        "name": perf.name,
        "piece": perf.piece,
        "notes": n,
        "matched": int(matched.sum()),
        "inserted": len(alignment.insertions),
        "path_coverage": round(coverage, 4),
    }
    if n == 0 or matched.mean() < MIN_MATCHED:
        summary["status"] = "dropped"
        (Path(out_dir) / f"{perf.name}.dropped.json").write_text(json.dumps(summary))
        return summary
    onset, duration, velocity = fill_missing(notes, onset, duration, velocity, matched)
    pedal = pedal_at(onset, pedal_events[:, 0], pedal_events[:, 1])
    expression = expression_from_performance(notes, onset, duration, velocity, pedal)
    performed = np.zeros(n, dtype=PERFORMED_DTYPE)
    performed["onset"] = onset - onset.min()
    performed["duration"] = duration
    performed["velocity"] = np.clip(np.rint(velocity), 1, 127)
    performed["pedal"] = pedal
    meta = {
        "name": perf.name,
        "piece": perf.piece,
        "performer": perf.performer,
        "corpus": job.corpus,
        "summary": summary,
    }
    tmp = Path(out_dir) / f"{perf.name}.tmp.npz"
    np.savez_compressed(
        tmp,
        notes=notes,
        expression=expression,
        performed=performed,
        matched=matched,
        meta=np.array(json.dumps(meta)),
    )
    tmp.replace(Path(out_dir) / f"{perf.name}.npz")
    return dict(summary, status="kept")


def _run(args: tuple[ScoreJob, str]) -> list[dict[str, Any]]:
    return process_score(*args)


def build(
    jobs: int = 2,
    limit: int | None = None,
    quiet: bool = False,
    out: Path | None = None,
    only: list[str] | None = None,
) -> dict[str, Any]:
    """Build (or complete) the cached dataset; return the manifest.

    ``only`` keeps the scores whose path contains one of the given strings; ``limit`` the
    first N scores; ``out`` overrides the dataset folder.
    """
    root = extract(quiet=quiet)
    out = out or dataset_dir()
    out.mkdir(parents=True, exist_ok=True)
    score_jobs, skipped = list_jobs(root)
    if only:
        score_jobs = [j for j in score_jobs if any(s in j.score for s in only)]
    if limit:
        score_jobs = score_jobs[:limit]
    # Big scores first so that the two workers finish together.
    score_jobs.sort(key=lambda j: -Path(j.score).stat().st_size * len(j.performances))
    results: list[dict[str, Any]] = []
    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*Progress.get_default_columns()[:1], *columns, disable=quiet) as progress:
        task = progress.add_task("building dataset", total=len(score_jobs))
        args = [(j, str(out)) for j in score_jobs]
        if jobs > 1:
            with mp.get_context("spawn").Pool(jobs) as pool:
                for res in pool.imap_unordered(_run, args):
                    results.extend(res)
                    progress.advance(task)
        else:
            for a in args:
                results.extend(_run(a))
                progress.advance(task)
    manifest = _update_manifest(out, score_jobs, results, skipped)
    return manifest


def _update_manifest(
    out: Path, score_jobs: list[ScoreJob], results: list[dict[str, Any]], skipped: Counter[str]
) -> dict[str, Any]:
    path = out / "manifest.json"
    old = json.loads(path.read_text()) if path.exists() else {"performances": {}}
    perfs: dict[str, Any] = old["performances"]
    info = {p.name: p for j in score_jobs for p in j.performances}
    for r in results:
        entry = dict(r)
        job = info.get(r["name"])
        if job is not None:
            entry.update(piece=job.piece, performer=job.performer)
        perfs[r["name"]] = entry
    kept_by_piece = Counter(p["piece"] for p in perfs.values() if p["status"] == "kept")
    for p in perfs.values():
        if p["status"] == "kept":
            p["split"] = assign_split(p["piece"], kept_by_piece[p["piece"]])
    manifest = {"version": DATASET_VERSION, "skipped": dict(skipped), "performances": perfs}
    path.write_text(json.dumps(manifest, indent=1))
    return manifest


def summarise(manifest: dict[str, Any]) -> Table:
    perfs = manifest["performances"].values()
    table = Table(title="training data")
    for col in ("split", "pieces", "performances", "notes kept", "notes filled", "notes dropped"):
        table.add_column(col, justify="right")
    kept = [p for p in perfs if p["status"] == "kept" and "split" in p]
    for split in SPLITS:
        rows = [p for p in kept if p["split"] == split]
        matched = sum(p.get("matched", 0) for p in rows)
        filled = sum(p.get("notes", 0) - p.get("matched", 0) for p in rows)
        extra = sum(p.get("inserted", 0) for p in rows)
        table.add_row(
            split,
            str(len({p["piece"] for p in rows})),
            str(len(rows)),
            str(matched),
            str(filled),
            str(extra),
        )
    dropped = [p for p in perfs if p["status"] == "dropped"]
    errors = [p for p in perfs if p["status"] == "error"]
    table.caption = (
        f"notes dropped = extra played notes removed; {len(dropped)} performances dropped "
        f"(< {MIN_MATCHED:.0%} of score notes matched, {sum(p.get('notes', 0) for p in dropped)} "
        f"score notes); {len(errors)} errors; skipped: {manifest.get('skipped', {})}"
    )
    return table


def load_manifest(folder: Path | None = None) -> dict[str, Any]:
    path = (folder or dataset_dir()) / "manifest.json"
    if not path.exists():
        raise ApplianceError("the dataset is not built yet: run `make dataset`")
    manifest: dict[str, Any] = json.loads(path.read_text())
    return manifest


def iter_records(
    split: str | None = None, names: list[str] | None = None, folder: Path | None = None
) -> Iterator[Record]:
    """Processed performances of one split (or all), in name order."""
    folder = folder or dataset_dir()
    manifest = load_manifest(folder)
    for name, entry in sorted(manifest["performances"].items()):
        if entry["status"] != "kept" or (split and entry.get("split") != split):
            continue
        if names is not None and name not in names:
            continue
        with np.load(folder / f"{name}.npz") as data:
            meta = json.loads(str(data["meta"]))
            yield Record(
                name=name,
                piece=meta["piece"],
                performer=meta["performer"],
                split=entry["split"],
                notes=data["notes"],
                expression=data["expression"],
                performed=data["performed"],
                matched=data["matched"],
            )


app = typer.Typer(add_completion=False, help=__doc__)


@app.command("build")
def build_cmd(
    jobs: int = typer.Option(2, help="worker processes"),
    limit: int = typer.Option(0, help="only the first N scores (for a quick look)"),
) -> None:
    """Build the processed training set in the cache (incremental)."""
    manifest = build(jobs=jobs, limit=limit or None)
    console.print(summarise(manifest))
    errors = [p for p in manifest["performances"].values() if p["status"] == "error"]
    for e in errors[:20]:
        console.print(f"[red]error[/red] {e['name']}: {e.get('error')}")


@app.command("info")
def info_cmd() -> None:
    """Print the counts of the built dataset."""
    console.print(summarise(load_manifest()))


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()
