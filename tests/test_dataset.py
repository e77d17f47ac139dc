import json

import numpy as np

from appliance.render.expression import realise
from export.dataset import build, iter_records, list_jobs, load_manifest
from export.split import assign_split, batik_piece_key, hash_bucket


def test_jobs_cover_the_data_and_skip_what_cannot_be_used(shared_root):
    jobs, skipped = list_jobs(shared_root)
    perfs = [p for j in jobs for p in j.performances]
    assert len(perfs) == 1039 + 36
    assert skipped == {"asap: no MusicXML score": 24, "asap: no note alignment": 3}
    assert len({p.name for p in perfs}) == len(perfs)


def test_small_build_keeps_aligned_performances(small_dataset):
    manifest = load_manifest(small_dataset)
    entries = manifest["performances"]
    assert len(entries) == 6
    assert all(e["status"] == "kept" for e in entries.values())
    records = list(iter_records(folder=small_dataset))
    assert {r.piece for r in records} == {"Bach/Prelude_bwv_854", "Mozart/KV279_2"}
    for r in records:
        assert r.matched.mean() >= 0.8
        assert len(r.notes) == len(r.expression) == len(r.performed)
        assert np.all(np.isfinite(r.expression["log_bp"])) and np.all(r.performed["velocity"] >= 1)
        # The targets reproduce the performance's timing.
        timing, _ = realise(r.notes, r.expression)
        assert np.allclose(timing["onset"] - timing["onset"].min(), r.performed["onset"], atol=1e-3)
        assert len({r.split for r in records if r.piece == "Bach/Prelude_bwv_854"}) == 1


def test_rebuild_is_incremental(small_dataset):
    before = {p.name: p.stat().st_mtime_ns for p in small_dataset.glob("*.npz")}
    manifest = build(
        jobs=1, quiet=True, out=small_dataset, only=["Bach/Prelude/bwv_854/", "kv279_2"]
    )
    after = {p.name: p.stat().st_mtime_ns for p in small_dataset.glob("*.npz")}
    assert before == after
    assert len(manifest["performances"]) == 6
    json.dumps(manifest)


def test_split_is_fixed_and_piece_disjoint():
    assert batik_piece_key("kv331_3") == "Mozart/KV331_3"
    assert hash_bucket("Mozart/KV331_3") == hash_bucket("Mozart/KV331_3")
    keys = [f"Composer/Piece_{i}" for i in range(400)]
    splits = [assign_split(k, 3) for k in keys]
    assert 0.05 < splits.count("test") / 400 < 0.15
    lonely = [k for k in keys if hash_bucket(k) < 10]
    assert all(assign_split(k, 1) == "validation" for k in lonely)
