"""Numeric score features per note: what renderers see of the note table."""

from __future__ import annotations

import numpy as np

from appliance.render.expression import marked_log_bp
from appliance.render.phrasing import phrase_features
from appliance.score import markings
from appliance.score.notes import onset_groups

PITCH_SCALE = 24.0  # semitones per unit of the "pitch" feature


def _one_hot(index: np.ndarray, size: int, prefix: str, names: list[str]) -> np.ndarray:
    """One-hot columns for indices 0..size-1 (-1 gives all zeros)."""
    names.extend(f"{prefix}:{i}" for i in range(size))
    out = np.zeros((len(index), size), dtype=np.float32)
    valid = (index >= 0) & (index < size)
    out[np.flatnonzero(valid), index[valid].astype(np.int64)] = 1.0
    return out


def score_features(notes: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(n_notes × n_features float32 matrix, feature names) for a note table in playing order."""
    n = len(notes)
    names: list[str] = []
    cols: list[np.ndarray] = []

    def add(name: str, values: np.ndarray) -> None:
        names.append(name)
        cols.append(np.asarray(values, dtype=np.float32).reshape(n, 1))

    group, first = onset_groups(notes)
    q = notes["onset_quarter"].astype(np.float64)
    group_q = q[first] if n else q
    ioi_next = np.diff(np.append(group_q, group_q[-1] + 1.0)) if n else group_q
    ioi_prev = np.diff(np.insert(group_q, 0, group_q[0] - 1.0)) if n else group_q
    pitch = notes["pitch"].astype(np.float64)
    group_max = np.full(len(first), -1.0)
    group_min = np.full(len(first), 1000.0)
    np.maximum.at(group_max, group, pitch)
    np.minimum.at(group_min, group, pitch)
    group_size = np.bincount(group, minlength=len(first)).astype(np.float64)
    phase = notes["bar_position"] / np.maximum(notes["bar_length"], 1e-3)

    add("pitch", (pitch - 60.0) / PITCH_SCALE)
    add("is_top", pitch == group_max[group])
    add("is_bottom", pitch == group_min[group])
    add("group_size", np.log1p(group_size[group]))
    add("log_duration", np.log2(np.maximum(notes["duration_quarter"], 1 / 32)))
    add("log_ioi_next", np.log2(np.maximum(ioi_next[group], 1 / 32)))
    add("log_ioi_prev", np.log2(np.maximum(ioi_prev[group], 1 / 32)))
    add("bar_phase", phase)
    add("bar_phase_sin", np.sin(2 * np.pi * phase))
    add("bar_phase_cos", np.cos(2 * np.pi * phase))
    add("is_downbeat", notes["is_downbeat"])
    add("is_grace", notes["is_grace"])
    add("staff_low", notes["staff"] >= 2)
    add("ts_num", notes["ts_num"] / 12.0)
    add("log_ts_den", np.log2(np.maximum(notes["ts_den"], 1)))
    add("log_score_bp", marked_log_bp(notes))
    add("piece_position", q / max(float(q.max()), 1.0) if n else q)
    for name in markings.ARTICULATIONS:
        add(name, notes[name])
    add("crescendo", notes["crescendo"])
    add("diminuendo", notes["diminuendo"])
    add("no_dynamic", notes["dynamic"] < 0)
    add("dynamic_level", np.where(notes["dynamic"] >= 0, notes["dynamic"] - 4.0, 0.0) / 3.0)
    cols.append(_one_hot(notes["dynamic"], len(markings.DYNAMICS), "dynamic", names))
    cols.append(_one_hot(notes["impulsive"], len(markings.IMPULSIVE), "impulsive", names))
    cols.append(_one_hot(notes["tempo_word"], len(markings.TEMPO_WORDS), "tempo_word", names))
    cols.append(_one_hot(notes["tempo_change"], len(markings.TEMPO_CHANGES), "tempo_change", names))
    phrasing, phrasing_names = phrase_features(notes)
    names.extend(phrasing_names)
    cols.append(phrasing)
    matrix = np.concatenate(cols, axis=1) if n else np.zeros((0, len(names)), np.float32)
    return matrix.astype(np.float32), names
