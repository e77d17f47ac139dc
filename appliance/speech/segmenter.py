"""Where an utterance begins and ends, from voice-activity probabilities (pure).

While the talk button is held, 16 kHz audio arrives in 32-ms pieces, each with the probability
that it is speech (:mod:`appliance.speech.vad`). The segmenter says:

- ``STARTED`` on the first piece of speech (the box ducks the music at once);
- ``PAUSED`` when the speaker has been quiet for a moment (``pause`` s): the speech so far may
  already be recognised, so that when the utterance turns out to be over only that is left;
- ``RESUMED`` when they go on speaking after such a pause;
- ``ENDED`` after ``end_silence`` s of quiet (the button may still be held; a new utterance can
  start after it), or when the utterance reaches ``max_seconds``.

Hysteresis (``onset`` to start speech, the lower ``offset`` to count as quiet) keeps a breath
or a soft consonant from cutting a word. :meth:`Segmenter.speech` is the utterance's audio with
the silence before and after trimmed, keeping ``pre_roll`` / ``post_pad`` s of margin.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np

from appliance.speech.downsample import SPEECH_RATE
from appliance.speech.vad import CHUNK

PIECE = CHUNK / SPEECH_RATE  # seconds per piece


class Mark(Enum):
    STARTED = "started"
    PAUSED = "paused"
    RESUMED = "resumed"
    ENDED = "ended"


@dataclass(frozen=True)
class Settings:
    onset: float = 0.5
    offset: float = 0.35
    pause: float = 0.25
    end_silence: float = 0.7
    pre_roll: float = 0.25
    post_pad: float = 0.2
    max_seconds: float = 30.0


class Segmenter:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self._pieces: list[np.ndarray] = []
        self._first: int | None = None  # index of the first speech piece
        self._last = -1  # index of the last speech piece
        self._quiet = 0  # pieces of quiet since the last speech
        self._paused = False
        self.ended = False

    @property
    def speaking(self) -> bool:
        return self._first is not None and not self.ended

    @property
    def paused(self) -> bool:
        """Quiet for a moment after speech (the utterance may be over)."""
        return self._paused

    @property
    def seconds(self) -> float:
        """Seconds of the utterance so far (from its first speech)."""
        return 0.0 if self._first is None else (len(self._pieces) - self._first) * PIECE

    def feed(self, piece: np.ndarray, probability: float) -> list[Mark]:
        """Take one piece of audio with its speech probability; what happened."""
        s = self.settings
        if self.ended:
            return []
        self._pieces.append(piece)
        index = len(self._pieces) - 1
        marks: list[Mark] = []
        if self._first is None:
            if probability >= s.onset:
                self._first = self._last = index
                marks.append(Mark.STARTED)
            else:
                self._drop_old_quiet()
            return marks
        if probability >= (s.offset if self._quiet == 0 else s.onset):
            self._last, self._quiet = index, 0
            if self._paused:
                self._paused = False
                marks.append(Mark.RESUMED)
        else:
            self._quiet += 1
            if not self._paused and self._quiet * PIECE >= s.pause:
                self._paused = True
                marks.append(Mark.PAUSED)
            if self._quiet * PIECE >= s.end_silence:
                self.ended = True
                marks.append(Mark.ENDED)
        if not self.ended and (index - self._first + 1) * PIECE >= s.max_seconds:
            self.ended = True
            marks.append(Mark.ENDED)
        return marks

    def speech(self) -> np.ndarray:
        """The utterance's audio (float32, 16 kHz) without the silence around it; empty when
        no speech was heard."""
        if self._first is None:
            return np.zeros(0, np.float32)
        s = self.settings
        start = max(0, self._first - round(s.pre_roll / PIECE))
        end = min(len(self._pieces), self._last + 1 + round(s.post_pad / PIECE))
        return np.concatenate(self._pieces[start:end]).astype(np.float32)

    def _drop_old_quiet(self) -> None:
        """Before any speech, keep only the pre-roll's worth of quiet."""
        keep = round(self.settings.pre_roll / PIECE) + 1
        if len(self._pieces) > keep:
            del self._pieces[: len(self._pieces) - keep]
