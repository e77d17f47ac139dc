"""Note tables built directly in tests (no score file)."""

from __future__ import annotations

import numpy as np

from appliance.score.notes import NOTE_DTYPE, sort_notes


def table(
    onsets: list[float], pitches: list[int] | None = None, durations: list[float] | None = None
) -> np.ndarray:
    n = len(onsets)
    notes = np.zeros(n, dtype=NOTE_DTYPE)
    notes["id"] = [f"n{i}-1" for i in range(n)]
    notes["onset_quarter"] = onsets
    notes["onset_beat"] = onsets
    notes["onset_div"] = np.rint(np.asarray(onsets) * 4).astype(np.int64)
    notes["pitch"] = pitches if pitches is not None else [60 + (i % 12) for i in range(n)]
    notes["duration_quarter"] = durations if durations is not None else [1.0] * n
    notes["duration_beat"] = notes["duration_quarter"]
    notes["bar"] = np.floor(np.asarray(onsets) / 4).astype(np.int32)
    notes["bar_number"] = notes["bar"] + 1
    notes["bar_position"] = np.asarray(onsets) % 4
    notes["bar_length"] = 4
    notes["ts_num"] = 4
    notes["ts_den"] = 4
    notes["is_downbeat"] = notes["bar_position"] == 0
    notes["dynamic"] = -1
    notes["tempo_word"] = -1
    notes["score_bpm"] = 120
    return sort_notes(notes)


def chords(n_groups: int, per_group: int = 2, step: float = 0.5) -> np.ndarray:
    onsets = [g * step for g in range(n_groups) for _ in range(per_group)]
    pitches = [48 + 12 * k + (g % 5) for g in range(n_groups) for k in range(per_group)]
    return table(onsets, pitches, [step] * len(onsets))
