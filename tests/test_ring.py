"""The ring buffer between the producer and a consumer: order kept across the wrap, the oldest
frames dropped (and counted) when the consumer is late, silence (and an underrun counted) when
it is early, and all of it from two threads at once."""

from __future__ import annotations

import threading
import time
from collections import deque

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.audio.ring import Ring


def frames(first: int, n: int, channels: int = 2) -> np.ndarray:
    """Frames numbered ``first + 1 …`` in every channel (0 is left for silence)."""
    numbers = np.arange(first + 1, first + n + 1, dtype=np.float32)
    return np.repeat(numbers[:, None], channels, axis=1)


def numbers(audio: np.ndarray) -> list[int]:
    assert (audio == audio[:, :1]).all()  # the channels stay together
    return [int(x) for x in audio[:, 0]]


def test_reads_follow_writes_across_the_wrap() -> None:
    ring = Ring(8)
    ring.write(frames(0, 6))
    assert numbers(ring.read(5)) == [1, 2, 3, 4, 5]
    ring.write(frames(6, 6))  # wraps: 2 frames at the end, 4 at the start
    assert ring.buffered == 7
    assert numbers(ring.read(7)) == [6, 7, 8, 9, 10, 11, 12]
    assert ring.buffered == 0 and ring.underruns == 0 and ring.dropped == 0


def test_a_late_consumer_loses_the_oldest_frames_and_they_are_counted() -> None:
    ring = Ring(8)
    ring.write(frames(0, 5))
    ring.write(frames(5, 6))  # 11 frames into 8: the first 3 go
    assert ring.buffered == 8 and ring.dropped == 3
    assert numbers(ring.read(8)) == list(range(4, 12))


def test_an_early_consumer_gets_silence_after_what_there_is_and_an_underrun() -> None:
    ring = Ring(8)
    ring.write(frames(0, 3))
    out = np.full((5, 2), 7.0, np.float32)
    assert ring.read_into(out) == 3
    assert numbers(out) == [1, 2, 3, 0, 0] and ring.underruns == 1
    assert numbers(ring.read(4)) == [0, 0, 0, 0] and ring.underruns == 2
    assert ring.read_into(np.zeros((0, 2), np.float32)) == 0 and ring.underruns == 2


def test_channels_and_capacity() -> None:
    ring = Ring(4, channels=1)
    assert ring.capacity == 4
    ring.write(frames(0, 3, channels=1))
    assert ring.read(3).shape == (3, 1)


def test_a_write_larger_than_the_ring_keeps_its_newest_frames_and_counts_the_rest() -> None:
    ring = Ring(4)
    ring.write(frames(0, 2))
    ring.write(frames(2, 10))
    assert numbers(ring.read(4)) == [9, 10, 11, 12]
    # 12 frames written, 4 read: the other 8 never reached the consumer
    assert ring.dropped == 8


# A write or read of n frames; only writes that fit the ring here (the test above covers more).
OPS = st.lists(st.tuples(st.booleans(), st.integers(0, 12)), max_size=60)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 12), OPS)
def test_the_ring_behaves_like_a_bounded_queue(capacity: int, ops: list[tuple[bool, int]]) -> None:
    ring = Ring(capacity)
    model: deque[int] = deque()
    written = dropped = underruns = 0
    for write, n in ops:
        if write:
            n = min(n, capacity)
            ring.write(frames(written, n))
            model.extend(range(written + 1, written + n + 1))
            written += n
            while len(model) > capacity:
                model.popleft()
                dropped += 1
        else:
            want = [model.popleft() for _ in range(min(n, len(model)))]
            underruns += len(want) < n
            assert numbers(ring.read(n)) == want + [0] * (n - len(want))
        assert ring.buffered == len(model)
        assert ring.dropped == dropped and ring.underruns == underruns


def test_a_writer_and_a_reader_thread_at_once_lose_and_repeat_nothing() -> None:
    """The producer writes blocks while a consumer reads other sizes: every frame is read once
    in order, dropped (counted), or still buffered."""
    ring = Ring(256)
    total = 200_000
    read: list[np.ndarray] = []
    done = threading.Event()

    def writer() -> None:
        written = 0
        while written < total:
            n = min(113, total - written)
            ring.write(frames(written, n))
            written += n
            if written % 4520 == 0:
                time.sleep(0)  # give the reader a chance, as the audio thread does
        done.set()

    def reader() -> None:
        out = np.empty((97, 2), np.float32)
        while not done.is_set() or ring.buffered:
            got = ring.read_into(out)
            read.append(out[:got].copy())

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    got = np.concatenate(read)[:, 0].astype(np.int64)
    assert (np.diff(got) > 0).all()  # in order, nothing twice
    assert len(got) + ring.dropped + ring.buffered == total
    assert got[-1] == total  # the newest frame is never the one dropped
