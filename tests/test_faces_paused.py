"""While the face-reading worker is restarting (crashed or hung), the phone whose button is held
is told in plain words in its "what the box sees" panel that faces are not read for a moment,
and once the new worker reads faces, that they are read again (for a second: the page shows
a sentence read twice in a row); the readings follow."""

from __future__ import annotations

import time

import numpy as np

from appliance.events import Event, Seen
from appliance.vision.watching import PAUSED, RESUMED, RESUMED_FOR, Eyes


class RestartingWorker:
    def __init__(self) -> None:
        self.ready = True

    def faces(self, *args: object, **kwargs: object) -> list[dict[str, object]] | None:
        return [] if self.ready else None  # None: it could not answer (dead, hung, loading)

    def forget(self, stream: str) -> None:
        pass


def test_the_phone_is_told_while_faces_are_not_read_and_when_they_are_again() -> None:
    worker = RestartingWorker()
    eyes = Eyes(worker, lambda *a: None, lambda: 0.0)  # type: ignore[arg-type]
    told: list[Event] = []
    watch = eyes.watch("Anna", "phone-1", told.append)

    def look() -> list[str]:
        watch.offer(np.zeros((240, 320, 3), np.uint8))
        eyes._look(watch)
        time.sleep(0.3)  # past SEEN_EVERY: each reading is told
        return [e.words for e in told if isinstance(e, Seen)]

    look()
    assert PAUSED not in look()
    worker.ready = False  # the worker died: frames are skipped, and said to be
    words = look()
    assert words[-1] == PAUSED
    words = look()
    assert words[-2:] == [PAUSED, PAUSED]  # twice in a row: the page shows it
    worker.ready = True
    started = time.monotonic()
    while time.monotonic() - started < RESUMED_FOR - 0.35:
        words = look()
        assert words[-1] == RESUMED
    time.sleep(0.4)
    assert look()[-1] not in (PAUSED, RESUMED)  # the face's own reading again
    assert eyes.skipped == 2
