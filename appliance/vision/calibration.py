"""A person's neutral face: the first moments of each hold, and what earlier holds learnt (pure).

Blendshape scores differ a lot between people (a resting mouth that reads as a slight smile, a
brow that always sits low), so expressions are read against each person's own neutral:

- the first ``WINDOW`` seconds of each hold (people look at the phone before they show it
  anything) give the hold's neutral: the per-blendshape median of those frames;
- a baseline per phone is kept across holds (``KEEP`` of the old, the rest from the new hold),
  starting from ``PRIOR`` (a typical resting face: all zeros but blinking and a little jaw);
- a hold that starts already smiling must not teach the box that a smile is neutral: every
  value of a neutral is capped at ``CAP``.

Until a phone's first window is over, the neutral is the baseline alone.
"""

from __future__ import annotations

import numpy as np

from appliance.vision.features import BLENDSHAPES, INDEX

WINDOW = 0.5  # seconds at the start of each hold
KEEP = 0.6  # the share of the kept baseline when a hold's neutral arrives
CAP = 0.3  # no blendshape is taken to be above this in a neutral face
PRIOR = np.zeros(len(BLENDSHAPES), np.float32)
PRIOR[INDEX["eyeBlinkLeft"]] = PRIOR[INDEX["eyeBlinkRight"]] = 0.1
PRIOR[INDEX["jawOpen"]] = 0.02


class Calibration:
    """One phone's neutral: :meth:`begin` at each press, :meth:`add` every reading."""

    def __init__(self) -> None:
        self.baseline = PRIOR.copy()
        self.holds = 0
        self._started: float | None = None
        self._window: list[np.ndarray] = []
        self._hold_neutral: np.ndarray | None = None

    def begin(self, t: float) -> None:
        self._started, self._window, self._hold_neutral = t, [], None

    @property
    def calibrating(self) -> bool:
        return self._started is not None and self._hold_neutral is None

    def add(self, t: float, scores: np.ndarray) -> None:
        if self._started is None or self._hold_neutral is not None or t < self._started:
            return  # (a frame from before this hold, read late, is not this hold's neutral)
        if t - self._started <= WINDOW or not self._window:  # (a first frame that came late)
            self._window.append(np.minimum(scores, CAP))
        if t - self._started <= WINDOW:
            return
        hold = np.median(np.stack(self._window), axis=0).astype(np.float32)
        self._hold_neutral = hold
        first = self.holds == 0
        self.baseline = hold if first else KEEP * self.baseline + (1 - KEEP) * hold
        self.holds += 1

    @property
    def neutral(self) -> np.ndarray:
        """What counts as this person's neutral face now."""
        if self._hold_neutral is None:
            return self.baseline
        return np.minimum(0.5 * self.baseline + 0.5 * self._hold_neutral, CAP)
