"""What the first free-form direction costs: building the descriptor matcher (sentence model and
the phrasings' embeddings) and the first description ("like a lullaby"), with the shipped
precomputed embeddings and without them.

    python -m export.bench_first_direction [--trials 5]

Each trial is a fresh process (imports done before the clock starts) with a cache of its own:

- shipped, warm: the usual start (the model files' SHA-256 already known from an earlier start);
- shipped, cold: the first start after installing (the model's 90 MB are hashed once);
- computed, cold: no usable shipped file, empty cache (all 165 phrasings embedded, in batches);
- computed one by one, cold: the same, one phrasing at a time (how it was done before);
- computed, warm: no usable shipped file, the phrasings' embeddings found in the cache.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SCENARIOS = {  # name → (use the shipped file, cache kept from a previous start, one at a time)
    "shipped, warm": (True, True, False),
    "shipped, cold": (True, False, False),
    "computed, cold": (False, False, False),
    "computed one by one, cold": (False, False, True),
    "computed, warm": (False, True, False),
}


def child(shipped: bool, one_by_one: bool) -> dict[str, float]:
    """Times of one start (in this process): model load, anchors, first description."""
    import logging

    import numpy as np

    from appliance.directions.descriptors import Describer
    from appliance.nlp.embedding import SentenceEmbedder

    logging.disable(logging.WARNING)  # "computed" starts warn that there is no shipped file

    class OneByOne(SentenceEmbedder):
        def embed_many(self, texts: list[str]) -> np.ndarray:
            return np.stack([self.embed(t) for t in texts])

    started = time.perf_counter()
    embedder = OneByOne() if one_by_one else SentenceEmbedder()
    loaded = time.perf_counter()
    anchors = None if shipped else Path(tempfile.mkdtemp()) / "none.npy"
    describer = Describer(embedder, anchors=anchors)
    built = time.perf_counter()
    found = describer.describe("like a lullaby")
    done = time.perf_counter()
    if found is None or found.matches[0].descriptor != "lullaby":
        raise RuntimeError(f"'like a lullaby' was described as {found}")
    return {
        "model": loaded - started,
        "anchors": built - loaded,
        "describe": done - built,
        "total": done - started,
    }


def trial(scenario: str, cache: Path) -> dict[str, float]:
    shipped, _, one_by_one = SCENARIOS[scenario]
    command = [sys.executable, "-m", "export.bench_first_direction", "--child"]
    command += [*(["--computed"] if not shipped else []), *(["--one-by-one"] if one_by_one else [])]
    env = {**os.environ, "APPLIANCE_CACHE": str(cache)}
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--computed", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--one-by-one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(not args.computed, args.one_by_one)))
        return
    print("| start | trials | model load (s) | phrasings (s) | first description (s) | total (s) |")
    print("|---|---|---|---|---|---|")
    kept = {name: Path(tempfile.mkdtemp()) for name, (_, warm, _) in SCENARIOS.items() if warm}
    for name, cache in kept.items():
        trial(name, cache)  # a previous start fills the cache
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in SCENARIOS}
    for _ in range(args.trials):  # round robin: a change of the machine's load hits them all
        for name in SCENARIOS:
            cache = kept.get(name) or Path(tempfile.mkdtemp())
            rows[name].append(trial(name, cache))
            if name not in kept:
                shutil.rmtree(cache, ignore_errors=True)
    for cache in kept.values():
        shutil.rmtree(cache, ignore_errors=True)
    for name, runs in rows.items():
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        worst = max(r["total"] for r in runs)
        print(
            f"| {name} | {args.trials} | {med['model']:.3f} | {med['anchors']:.3f} | "
            f"{med['describe']:.3f} | {med['total']:.3f} (worst {worst:.3f}) |"
        )
    load = os.getloadavg()[0]
    print(f"\nmedians; {os.cpu_count()} cores, load average {load:.1f} at the end")


if __name__ == "__main__":
    main()
