"""Phrase structure read from the note table: where phrases end and how strongly.

A causal renderer cannot see the notes ahead, so what a pianist knows about the music to come —
"the phrase ends in two beats", "this is the last bar" — has to reach it as score features. This
module finds phrase boundaries from what the notation shows, without any model:

- each onset group (notes starting together) gets a *boundary strength* after it: a rest
  before the next onset (up to 2, in beats), a lengthened note (the gap to the next onset
  against the typical gap around it, in octaves of the ratio), a fermata (+2), the end of a
  slur (+0.5), a new tempo word or tempo change starting next (+1), and +0.5 when the next
  onset is a downbeat; the last group ends the piece;
- boundaries are the groups whose strength is at least ``MIN_STRENGTH``, strongest first, no
  closer than ``MIN_PHRASE_BARS`` bar to a stronger one;
- a stretch longer than ``MAX_PHRASE_BARS`` without one is cut at the end of every
  ``HYPERMETER_BARS``-th bar (the four-bar phrase most tonal music is built from).

:func:`phrase_features` turns them into per-note columns (distance to the phrase end and from
its start, position within it, the final bars of the piece, rests, metrical strength, the top
voice, note density and harmonic rhythm).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from appliance.score.notes import onset_groups

MIN_STRENGTH = 1.5
MIN_PHRASE_BARS = 2.0
MAX_PHRASE_BARS = 8
HYPERMETER_BARS = 4
TYPICAL_GAP_GROUPS = 8  # onset groups either side for the typical gap between onsets


@dataclass(frozen=True)
class Groups:
    """Per onset group of a note table (in playing order)."""

    index: np.ndarray  # group per note
    first: np.ndarray  # first note row per group
    onset: np.ndarray  # quarters
    end: np.ndarray  # latest end of any note sounding from this group (quarters)
    bar: np.ndarray
    bar_length: np.ndarray  # quarters
    top: np.ndarray  # highest pitch starting in the group
    bottom: np.ndarray  # lowest pitch starting in the group
    fermata: np.ndarray
    legato: np.ndarray
    downbeat: np.ndarray
    tempo_mark: np.ndarray  # (tempo word, tempo change) differs from the previous group's


def groups_of(notes: np.ndarray) -> Groups:
    index, first = onset_groups(notes)
    n_groups = len(first)
    q = notes["onset_quarter"].astype(np.float64)
    ends = q + np.maximum(notes["duration_quarter"].astype(np.float64), 0.0)
    group_end = np.full(n_groups, -np.inf)
    np.maximum.at(group_end, index, ends)
    top = np.full(n_groups, -1, np.int64)
    bottom = np.full(n_groups, 1000, np.int64)
    pitch = notes["pitch"].astype(np.int64)
    np.maximum.at(top, index, pitch)
    np.minimum.at(bottom, index, pitch)

    def any_of(column: str) -> np.ndarray:
        out = np.zeros(n_groups, dtype=bool)
        np.logical_or.at(out, index, notes[column].astype(bool))
        return out

    word = notes["tempo_word"][first].astype(np.int64)
    change = notes["tempo_change"][first].astype(np.int64)
    mark = np.zeros(n_groups, dtype=bool)
    mark[1:] = (word[1:] != word[:-1]) | ((change[1:] != change[:-1]) & (change[1:] != 0))
    return Groups(
        index=index,
        first=first,
        onset=q[first],
        end=np.maximum.accumulate(group_end) if n_groups else group_end,
        bar=notes["bar"][first].astype(np.int64),
        bar_length=np.maximum(notes["bar_length"][first].astype(np.float64), 0.25),
        top=top,
        bottom=bottom,
        fermata=any_of("fermata"),
        legato=any_of("legato"),
        downbeat=any_of("is_downbeat"),
        tempo_mark=mark,
    )


def beat_quarters(notes: np.ndarray) -> np.ndarray:
    """Length of one beat of the time signature in quarters (compound metres: dotted beats)."""
    num = notes["ts_num"].astype(np.float64)
    den = np.maximum(notes["ts_den"].astype(np.float64), 1.0)
    unit = 4.0 / den
    compound = (num % 3 == 0) & (num > 3) & (den >= 8)
    return np.where(compound, 3.0 * unit, unit)


def boundary_strength(g: Groups, beat: np.ndarray) -> np.ndarray:
    """How strongly a phrase seems to end after each group (the last group: infinite)."""
    n = len(g.onset)
    strength = np.zeros(n)
    if n == 0:
        return strength
    next_onset = np.append(g.onset[1:], g.end[-1])
    gap = np.maximum(next_onset - g.onset, 1e-3)
    rest = np.maximum(next_onset - g.end, 0.0)
    strength += np.minimum(rest / np.maximum(beat, 1e-3), 2.0)
    typical = _running_median(gap, TYPICAL_GAP_GROUPS)
    strength += np.clip(np.log2(gap / typical), 0.0, 3.0)
    strength += 2.0 * g.fermata
    slur_end = np.zeros(n, dtype=bool)
    slur_end[:-1] = g.legato[:-1] & ~g.legato[1:]
    strength += 0.5 * slur_end
    strength[:-1] += 1.0 * g.tempo_mark[1:]
    strength[:-1] += 0.5 * g.downbeat[1:]
    strength[-1] = np.inf
    return strength


def _running_median(values: np.ndarray, half: int) -> np.ndarray:
    n = len(values)
    if n == 0:
        return values
    padded = np.pad(values, half, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half + 1)
    return np.asarray(np.median(windows, axis=1))


def phrase_ends(g: Groups, strength: np.ndarray) -> np.ndarray:
    """Boolean per group: a phrase ends after it."""
    n = len(g.onset)
    ends = np.zeros(n, dtype=bool)
    if n == 0:
        return ends
    spacing = MIN_PHRASE_BARS * g.bar_length
    taken: list[float] = []  # onsets of accepted ends, kept sorted
    for k in np.argsort(-strength, kind="stable"):
        if strength[k] < MIN_STRENGTH:
            break
        pos = float(g.onset[k])
        i = int(np.searchsorted(taken, pos))
        near = (i > 0 and pos - taken[i - 1] < spacing[k]) or (
            i < len(taken) and taken[i] - pos < spacing[k]
        )
        if near and k != n - 1:
            continue
        taken.insert(i, pos)
        ends[k] = True
    _cut_long_phrases(g, ends)
    return ends


def _cut_long_phrases(g: Groups, ends: np.ndarray) -> None:
    """End a phrase at every HYPERMETER_BARS-th bar of a stretch longer than MAX_PHRASE_BARS."""
    last_of_bar = np.append(g.bar[1:] != g.bar[:-1], True)
    start = 0
    for stop in np.flatnonzero(ends):
        first_bar, last_bar = int(g.bar[start]), int(g.bar[stop])
        if last_bar - first_bar + 1 > MAX_PHRASE_BARS:
            inside = np.arange(start, stop)
            cut = inside[
                last_of_bar[inside]
                & ((g.bar[inside] - first_bar + 1) % HYPERMETER_BARS == 0)
                & (last_bar - g.bar[inside] >= HYPERMETER_BARS // 2)
            ]
            ends[cut] = True
        start = int(stop) + 1


def find_phrases(notes: np.ndarray) -> tuple[Groups, np.ndarray, np.ndarray]:
    """(onset groups, beat length in quarters per group, phrase end after each group) of a
    non-empty note table in playing order."""
    g = groups_of(notes)
    beat = beat_quarters(notes)[g.first]
    return g, beat, phrase_ends(g, boundary_strength(g, beat))


def phrase_end_positions(notes: np.ndarray) -> np.ndarray:
    """Score positions (quarters) where the phrases found in the score end."""
    if len(notes) == 0:
        return np.zeros(0)
    g, _, ends = find_phrases(notes)
    next_onset = np.append(g.onset[1:], g.end[-1])
    return np.asarray(next_onset[ends])


def metrical_strength(notes: np.ndarray) -> np.ndarray:
    """1 on the downbeat, 0.75 mid-bar (even metres), 0.5 on a beat, 0.25 on half a beat,
    0 elsewhere."""
    pos = notes["bar_position"].astype(np.float64)
    bar_len = np.maximum(notes["bar_length"].astype(np.float64), 1e-3)
    beat = beat_quarters(notes)

    def on(unit: np.ndarray) -> np.ndarray:
        r = np.mod(pos + 1e-6, unit)
        return r < 2e-6

    beats_in_bar = np.rint(bar_len / beat)
    half_bar = (beats_in_bar % 2 == 0) & (beats_in_bar >= 4) & on(bar_len / 2)
    out = np.where(on(beat / 2), 0.25, 0.0)
    out = np.where(on(beat), 0.5, out)
    out = np.where(half_bar, 0.75, out)
    return np.where(pos < 1e-6, 1.0, out)


def _held_top(notes: np.ndarray, g: Groups) -> np.ndarray:
    """Per group, the highest pitch still sounding from an earlier onset (-1: none)."""
    q = notes["onset_quarter"].astype(np.float64)
    end = q + notes["duration_quarter"].astype(np.float64)
    pitch = notes["pitch"].astype(np.int64)
    out = np.full(len(g.onset), -1, np.int64)
    heap: list[tuple[int, float]] = []  # (-pitch, end)
    bounds = np.append(g.first, len(notes))
    for k in range(len(g.onset)):
        now = g.onset[k]
        # Lazy deletion: a finished note is dropped once it is the highest one left.
        while heap and heap[0][1] <= now + 1e-6:
            heapq.heappop(heap)
        out[k] = -heap[0][0] if heap else -1
        for i in range(bounds[k], bounds[k + 1]):
            heapq.heappush(heap, (-int(pitch[i]), float(end[i])))
    return out


def _window_count(times: np.ndarray, at: np.ndarray, half: np.ndarray) -> np.ndarray:
    lo = np.searchsorted(times, at - half, side="left")
    hi = np.searchsorted(times, at + half, side="right")
    return (hi - lo).astype(np.float64)


def phrase_features(notes: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(n_notes × k float32 matrix, names) of phrase, ending, metre, voice and density
    features for a note table in playing order."""
    names = [
        "phrase_to_end",
        "phrase_from_start",
        "phrase_position",
        "phrase_end_near",
        "phrase_last_group",
        "phrase_length",
        "phrase_end_strength",
        "piece_to_end",
        "piece_end_near",
        "piece_start_near",
        "rest_after",
        "rest_before",
        "metrical_strength",
        "top_voice",
        "density_local",
        "density_piece",
        "harmonic_rhythm",
        "tempo_mark_ahead",
    ]
    n = len(notes)
    if n == 0:
        return np.zeros((0, len(names)), np.float32), names
    g = groups_of(notes)
    beat = beat_quarters(notes)[g.first]
    strength = boundary_strength(g, beat)  # also wanted below: how strongly phrases end
    ends = phrase_ends(g, strength)
    n_groups = len(g.onset)
    next_onset = np.append(g.onset[1:], g.end[-1])
    # Phrase of each group: index of its ending group.
    end_idx = np.flatnonzero(ends)
    phrase = np.searchsorted(end_idx, np.arange(n_groups))
    phrase_end_q = next_onset[end_idx][phrase]
    starts = np.concatenate([[0], end_idx[:-1] + 1])
    phrase_start_q = g.onset[starts][phrase]
    to_end = np.maximum(phrase_end_q - g.onset, 0.0)
    from_start = np.maximum(g.onset - phrase_start_q, 0.0)
    length = np.maximum(phrase_end_q - phrase_start_q, 1e-3)
    piece_end = float(g.end[-1])
    bars_to_end = (piece_end - g.onset) / g.bar_length
    rest_after = np.maximum(next_onset - g.end, 0.0)
    rest_before = np.concatenate([[0.0], rest_after[:-1]])
    held = _held_top(notes, g)
    density_local = _window_count(g.onset, g.onset, g.bar_length) / (2 * g.bar_length)
    density_piece = n_groups / max(piece_end - float(g.onset[0]), 1.0)
    bass_change = np.ones(n_groups, dtype=bool)
    bass_change[1:] = (g.bottom[1:] % 12) != (g.bottom[:-1] % 12)
    changes_per_bar = np.bincount(g.bar - g.bar.min(), weights=bass_change.astype(np.float64))
    harmonic = changes_per_bar[g.bar - g.bar.min()] / g.bar_length
    mark_at = np.append(g.onset[g.tempo_mark], np.inf)
    to_mark = mark_at[np.searchsorted(mark_at, g.onset, side="right")] - g.onset

    per_group = np.stack(
        [
            np.log2(1.0 + to_end) / 4.0,
            np.log2(1.0 + from_start) / 4.0,
            from_start / length,
            np.exp(-to_end / beat),
            ends.astype(np.float64),
            np.log2(length) / 5.0,
            np.minimum(strength[end_idx][phrase], 4.0) / 4.0,
            np.log2(1.0 + np.maximum(bars_to_end, 0.0)) / 6.0,
            np.exp(-np.maximum(bars_to_end, 0.0) / 2.0),
            np.exp(-(g.onset - g.onset[0]) / g.bar_length),
            np.log2(1.0 + rest_after / beat),
            np.log2(1.0 + rest_before / beat),
        ],
        axis=1,
    )
    per_group = np.nan_to_num(per_group, nan=0.0, posinf=1.0, neginf=0.0)
    cols = [per_group[g.index]]
    pitch = notes["pitch"].astype(np.int64)
    top_voice = (pitch == g.top[g.index]) & (pitch >= held[g.index])
    cols.append(
        np.stack(
            [
                metrical_strength(notes),
                top_voice.astype(np.float64),
                np.log2(density_local[g.index] + 1e-3) / 4.0,
                np.full(n, np.log2(density_piece + 1e-3) / 4.0),
                np.log2(1.0 + harmonic[g.index]),
                np.exp(-np.maximum(to_mark[g.index], 0.0) / g.bar_length[g.index]),
            ],
            axis=1,
        )
    )
    matrix = np.concatenate(cols, axis=1).astype(np.float32)
    return matrix, names
