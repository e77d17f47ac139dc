"""Timed MIDI events of the notes rendered so far, in play time (pure; the engine locks it).

The engine appends each rendered chunk of notes; the audio producer takes the events that fall
due block by block. A direction or style change cuts the events of notes that have not started
yet (their note-offs go with them; notes already sounding keep theirs) and the re-rendered notes
are appended again.
"""

from __future__ import annotations

import bisect

import numpy as np

from appliance.midi import MidiEvent, MidiKind, pedal
from appliance.render.midi import note_events, pedal_changes


class Schedule:
    def __init__(self) -> None:
        self._events: list[MidiEvent] = []  # not yet dispatched, sorted
        self._started: set[int] = set()  # notes whose note-on has been dispatched
        self.last_started = -1  # the highest note index whose note-on has been dispatched
        self.pedal_down = False  # pedal state after the last scheduled event
        self.end_time = 0.0  # latest event time scheduled
        self._pedal_sent = False  # pedal state of the events dispatched

    def __len__(self) -> int:
        return len(self._events)

    def add(
        self,
        notes: np.ndarray,
        performed: np.ndarray,
        first_note: int,
        offset: float,
        pedal_down: bool | None = None,
    ) -> None:
        """Schedule notes ``first_note …`` (whole onset groups) at piece time + ``offset``."""
        if len(notes) == 0:
            return
        down = self.pedal_down if pedal_down is None else pedal_down
        events = note_events(notes, performed, first_note, offset)
        for t, value, n in pedal_changes(notes, performed, down=down, close=False):
            events.append(pedal(max(t + offset, 0.0), value, first_note + n))
            down = value > 0
        self.pedal_down = down
        for ev in sorted(events):
            bisect.insort(self._events, ev)
        self.end_time = max(self.end_time, self._events[-1].time if self._events else 0.0)

    def cut(self, first_note: int) -> None:
        """Forget the events of notes ``first_note …`` that have not started."""
        self._events = [
            ev
            for ev in self._events
            if ev.note < first_note or (ev.kind is MidiKind.NOTE_OFF and ev.note in self._started)
        ]
        self.end_time = self._events[-1].time if self._events else 0.0
        pedals = [ev for ev in self._events if ev.kind is MidiKind.PEDAL]
        self.pedal_down = pedals[-1].value > 0 if pedals else self._pedal_sent

    def first_unstarted(self, after: float | None = None) -> int | None:
        """The lowest note index whose note-on is still waiting (None: all started); with
        ``after``, of the notes due at or after that play time."""
        waiting = [
            ev.note
            for ev in self._events
            if ev.kind is MidiKind.NOTE_ON and (after is None or ev.time >= after)
        ]
        return min(waiting) if waiting else None

    def due(self, until: float) -> list[MidiEvent]:
        """Take the events before ``until`` (play seconds), in order."""
        i = bisect.bisect_left(self._events, MidiEvent(until, -1, MidiKind.NOTE_OFF))
        out, self._events = self._events[:i], self._events[i:]
        for ev in out:
            if ev.kind is MidiKind.NOTE_ON:
                self._started.add(ev.note)
                self.last_started = max(self.last_started, ev.note)
            elif ev.kind is MidiKind.PEDAL:
                self._pedal_sent = ev.value > 0
        return out

    def clear(self) -> None:
        self._events.clear()
        self._started.clear()
        self.last_started = -1
        self.pedal_down = self._pedal_sent = False
        self.end_time = 0.0
