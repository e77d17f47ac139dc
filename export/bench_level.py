"""Output level of the box: integrated loudness and peak of the shipped pieces as the box plays
them (neural renderer, style seed 1, the SoundFont in use, full volume).

    python -m export.bench_level [--pieces ID ...]

Target: a typical piece about −18 LUFS (``appliance.audio.synth.TARGET_LUFS``), no peak over
−1 dBFS. Part of `make bench`.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from appliance.audio.loudness import integrated_lufs, peak_dbfs
from appliance.audio.offline import synthesize
from appliance.audio.synth import TARGET_LUFS, Synth
from appliance.library import open_library
from appliance.render.base import Style, render_all
from appliance.render.registry import get_renderer

PIECES = ("bach-bwv846", "joplin-maple-leaf-rag", "mozart-k545-1", "clara-schumann-op1-1",
          "schoenberg-op19-2")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pieces", nargs="*", default=list(PIECES))
    args = parser.parse_args()
    library = open_library(Path(tempfile.mkdtemp()))
    renderer = get_renderer("neural")
    synth = Synth()
    print(f"SoundFont {synth.soundfont.name}, level ×{synth.level}, target {TARGET_LUFS} LUFS\n")
    print("| piece | loudness (LUFS) | peak (dBFS) | length (s) |\n|---|---|---|---|")
    levels = []
    for pid in args.pieces:
        piece = library.pieces[pid]
        perf = render_all(renderer, library.load(piece), Style(seed=1))
        audio = synthesize(perf.notes, perf.performed, Synth())
        loudness, peak = integrated_lufs(audio), peak_dbfs(audio)
        levels.append(loudness)
        print(f"| {pid} | {loudness:.1f} | {peak:.1f} | {len(audio) / 48_000:.0f} |")
    print(f"\nmedian {statistics.median(levels):.1f} LUFS")


if __name__ == "__main__":
    main()
