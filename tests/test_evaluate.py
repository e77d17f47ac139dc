import numpy as np

from appliance.render.baselines import DeadpanRenderer, LinearRenderer, MeanRenderer
from export.baselines import fit
from export.evaluate import (
    HUMAN,
    markdown_table,
    phrasing_table,
    pieces,
    pieces_table,
    plot_piece,
    score_humans,
    score_renderer,
)


def test_harness_scores_humans_and_baselines(small_dataset, tmp_path):
    by_piece = {k: v for k, v in pieces(None, small_dataset).items() if len(v) > 1}
    assert list(by_piece) == ["Bach/Prelude_bwv_854"]
    human_result = score_humans(by_piece)
    humans = human_result["overall"]
    assert humans["velocity"]["r"] > 0.2 and humans["beat_period"]["r"] > 0.2
    deadpan_result = score_renderer(DeadpanRenderer(), by_piece)
    deadpan = deadpan_result["overall"]
    assert deadpan["velocity"]["r"] == 0.0 and deadpan["timing"]["r"] == 0.0
    assert deadpan["velocity"]["mae"] > humans["velocity"]["mae"]

    # Fitted on the same pianists, the baselines must at least reproduce the mean.
    split = next(iter(by_piece.values()))[0].split
    model = fit(folder=small_dataset, split=split)
    mean = score_renderer(MeanRenderer(model), by_piece)["overall"]
    linear = score_renderer(LinearRenderer(model), by_piece)["overall"]
    assert mean["velocity"]["mae"] < deadpan["velocity"]["mae"] + 1.0
    assert linear["velocity"]["r"] > 0.1
    assert linear["velocity"]["mae"] <= mean["velocity"]["mae"] + 1e-6

    table = markdown_table({"human (leave-one-out)": humans, "deadpan": deadpan, "linear": linear})
    assert table.count("\n|") >= 4 and "velocity r" in table
    assert np.isfinite(linear["articulation"]["mae"])

    # Phrasing: the humans slow at phrase ends and breathe; deadpan plays one tempo.
    phrasing = phrasing_table({HUMAN: human_result, "deadpan": deadpan_result})
    rows = {line.split(" | ")[0].strip("| "): line for line in phrasing.splitlines()[2:]}
    assert set(rows) == {HUMAN, "deadpan"}
    assert "+0.0 % [+0.0, +0.0]" in rows["deadpan"]  # no slowing anywhere
    human_piece = human_result["phrasing"]["Bach/Prelude_bwv_854"]
    assert human_piece["velocity_range"] > 10 and human_piece["median_qpm"] > 20
    assert "1/1 (100%)" in rows["deadpan"] or "0/1 (0%)" in rows["deadpan"]
    # Deadpan slows nowhere, at detected and at four-bar phrase ends alike.
    assert rows["deadpan"].count("+0.0 % [+0.0, +0.0]") >= 3
    assert np.isfinite(human_piece["four_bar_end_slowing"])

    # Per piece: the humans' figures beside the renderer's, the tempo ratio marked when off.
    per_piece = pieces_table({HUMAN: human_result, "deadpan": deadpan_result}, "deadpan")
    (row,) = [line for line in per_piece.splitlines() if line.startswith("| Bach/")]
    ratio = (
        deadpan_result["phrasing"]["Bach/Prelude_bwv_854"]["median_qpm"] / human_piece["median_qpm"]
    )
    assert f"({ratio:.2f}" in row and ("✗" in row) == (abs(ratio - 1) > 0.1)
    assert row.count("→") == 5 and "→ +0 %" in row


def test_piece_plot_is_written(small_dataset, tmp_path):
    out = tmp_path / "piece.png"
    plot_piece("Bach/Prelude_bwv_854", "deadpan", out, split=None, folder=small_dataset)
    assert out.read_bytes()[:4] == b"\x89PNG"


def test_the_command_line_takes_its_options():
    import os
    import subprocess
    import sys
    from pathlib import Path

    done = subprocess.run(
        [sys.executable, "-m", "export.evaluate", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
        cwd=Path(__file__).resolve().parents[1],
    )
    assert done.returncode == 0, done.stderr
    for option in ("--renderer", "--split", "--plot-piece", "--fp32", "--also-spread"):
        assert option in done.stdout
