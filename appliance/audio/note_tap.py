"""The notes as they sound, for the wall display: a MIDI sink that only keeps note-ons and
note-offs in a bounded queue (the producer's thread appends, the event loop takes).

It costs the audio thread an append per note (a ``deque`` with a length limit: no lock, no
allocation worth the name) and nothing while no display watches (``watching`` False).
"""

from __future__ import annotations

import time
from collections import deque

from appliance.audio.sinks import MidiSink
from appliance.midi import MidiEvent, MidiKind

MAX_PENDING = 1000  # notes kept between two takes (older ones are dropped)


class NoteTap(MidiSink):
    name = "display"

    def __init__(self, limit: int = MAX_PENDING) -> None:
        # (pitch, velocity — 0 for a note-off, monotonic time it sounded)
        self._notes: deque[tuple[int, int, float]] = deque(maxlen=limit)
        self.watching = False

    def send(self, events: list[MidiEvent]) -> None:
        if not self.watching:
            return
        now = time.monotonic()
        for ev in events:
            if ev.kind is MidiKind.NOTE_ON:
                self._notes.append((ev.pitch, ev.velocity, now))
            elif ev.kind is MidiKind.NOTE_OFF:
                self._notes.append((ev.pitch, 0, now))

    def silence(self) -> None:
        if self.watching:  # every key up: the display ends every bar now
            self._notes.append((-1, 0, time.monotonic()))

    def take(self) -> list[tuple[int, int, float]]:
        """Everything since the last take, oldest first (safe while the producer appends)."""
        out = []
        while True:
            try:
                out.append(self._notes.popleft())
            except IndexError:
                return out
