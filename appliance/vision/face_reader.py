"""One phone's face while its button is held → what the music should do (pure).

Per analysed frame (:meth:`FaceReader.add`) the reader takes the largest face's
:class:`~appliance.vision.features.Reading` (or None: no face), and answers what the phone
should show (:class:`~appliance.events.Seen`) and the directions to apply (:class:`Decision`):

- the first ``calibration.WINDOW`` seconds of each hold calibrate the neutral; nothing is read
  then;
- expression levels (:mod:`expressions`) are smoothed (``SMOOTH``: a share of the new frame)
  and read with hysteresis: an expression turns on when the level of ``ON_FRAMES`` frames running
  (each frame's own, not the smoothed one) is at or above ``ON`` and it is the strongest, and off
  when the smoothed level falls below ``OFF`` — a one-frame flicker changes nothing. Turning on
  applies its direction mixture once, its strength by the level (the same expression again only
  after it went off and ``AGAIN`` seconds passed);
- a head shake → "no": undo what this phone's face asked for last in this hold (every
  direction of that mixture, as far as the conductor took them), else the last direction;
- nodding (:mod:`head_motion`) → the tempo follows the nodding beat: every ``TEMPO_EVERY``
  seconds of steady nodding, the beat — taken at the multiple (½, 1, 1½, 2, 3) nearest the
  music's tempo — moves the tempo towards it by ``allegro`` ± (at most ``MAX_STEP`` per step and
  ``MAX_CHANGE`` from the tempo when nodding began; nothing within ``TEMPO_TOLERANCE``);
- no face: nothing is applied, and what was on stays on (a face lost for a moment and found
  again still smiling is one smile, not two).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from appliance.directions.classes import Scope
from appliance.directions.encoded import encode
from appliance.directions.levels import DEFAULT_EFFECTS
from appliance.directions.words import DirectionRequest
from appliance.events import Seen
from appliance.vision import expressions
from appliance.vision.calibration import Calibration
from appliance.vision.features import Reading
from appliance.vision.head_motion import HeadMotion

SMOOTH = 0.6  # the new frame's share in the smoothed level
ON, OFF, ON_FRAMES = 0.4, 0.2, 2
AGAIN = 2.0  # seconds before an expression that went off may apply again
TEMPO_EVERY = 2.0
TEMPO_TOLERANCE = math.log(1.05)
MAX_STEP = math.log(1.2)
MAX_CHANGE = math.log(1.4)
BEAT_MULTIPLES = (0.5, 1.0, 1.5, 2.0, 3.0)
MIN_BPM, MAX_BPM = 30.0, 240.0
SHAKE_WORDS = "head shake → undo"
# ln beat period per unit strength of "allegro" (negative: faster) when the steering vectors
# carry no measured figure
ALLEGRO_EFFECT = DEFAULT_EFFECTS["allegro"]["beat_period"]


@dataclass(frozen=True)
class Decision:
    """Directions to apply now, encoded (``"legato +0.80 from_now"`` or ``"undo"``), and what
    the phone says about them."""

    directions: tuple[str, ...]
    words: str
    mixture: bool = False  # an expression's mixture (not a tempo step or an undo)


def nod_tempo(nod_bpm: float, tempo_bpm: float) -> float:
    """The tempo (in the music's units) the nodding asks for: the nodding beat times the
    multiple nearest the music's tempo (a nod per half bar or per eighth is still a beat)."""
    if nod_bpm <= 0 or tempo_bpm <= 0:
        return 0.0
    return min((nod_bpm * m for m in BEAT_MULTIPLES), key=lambda b: abs(math.log(b / tempo_bpm)))


class FaceReader:
    def __init__(self, allegro_effect: float = ALLEGRO_EFFECT) -> None:
        """``allegro_effect``: how much one unit of "allegro" changes the ln beat period (the
        steering vectors' measured figure; negative), so that a nodding step asks for the
        tempo change it means."""
        self.allegro_effect = allegro_effect if allegro_effect < 0 else ALLEGRO_EFFECT
        self.calibration = Calibration()  # kept across holds
        self.motion = HeadMotion()
        self._smoothed = np.zeros(len(expressions.TABLE), np.float32)
        self._above = np.zeros(len(expressions.TABLE), np.int32)
        self.active: str = ""  # the expression on now ("" none)
        self.active_level = 0.0
        self._ended: dict[str, float] = {}
        self._last_tempo = -1e9
        self._nod_start_tempo = 0.0
        self._asked_tempo: tuple[float, float] | None = None  # (tempo asked, when)
        self.last_mixture: tuple[tuple[str, float], ...] = ()  # the face's last directions
        self._last_count = 0  # how many directions this face applied last (for a shake)
        self.holding = False
        self._pending = False

    def begin(self, t: float) -> None:
        """The button is pressed: calibrate anew, forget the last hold's motion."""
        self.calibration.begin(t)
        self.motion = HeadMotion()
        self._smoothed[:] = 0
        self._above[:] = 0
        self.active, self.active_level = "", 0.0
        self._asked_tempo, self._nod_start_tempo = None, 0.0
        self._last_count = 0
        self.holding = True

    @property
    def pending(self) -> bool:
        """An expression is over its threshold but not yet confirmed (the next frame says)."""
        return self.holding and not self.active and self._pending

    def end(self) -> None:
        self.holding = False
        self.active, self.active_level = "", 0.0

    def add(self, t: float, face: Reading | None, tempo_bpm: float) -> tuple[Seen, list[Decision]]:
        """One analysed frame at time ``t`` with the music at ``tempo_bpm`` (0: unknown)."""
        if not self.holding:
            return Seen(), []
        if face is None:
            self._above[:] = 0  # frames running: a gap breaks the run
            return Seen(words=expressions.NO_FACE_WORDS), []
        self.calibration.add(t, face.scores)
        if self.calibration.calibrating:
            return Seen("neutral", (0.0,) * len(expressions.TABLE), words="calibrating"), []
        decisions: list[Decision] = []
        level = expressions.levels(face.scores, self.calibration.neutral)
        self._smoothed = SMOOTH * level + (1 - SMOOTH) * self._smoothed
        self._above = np.where(level >= ON, self._above + 1, 0)
        decisions += self._expression(t)
        motion = self.motion.add(t, face.pitch, face.yaw)
        gesture = ""
        if motion.shake:
            gesture = "shake"
            decisions.append(self._undo())
        nod_bpm = 60.0 * motion.nod_rate
        if nod_bpm:
            gesture = "nod"
            decisions += self._tempo(t, nod_bpm, tempo_bpm)
        else:
            self._nod_start_tempo = 0.0
        words = self._words(gesture, nod_bpm)
        levels = tuple(round(float(v), 2) for v in self._smoothed)
        return Seen(self.active or "neutral", levels, gesture, round(nod_bpm, 1), words), decisions

    # -- expressions ----------------------------------------------------------------------------

    def _expression(self, t: float) -> list[Decision]:
        self._pending = False
        if self.active:
            i = expressions.NAMES.index(self.active)
            if self._smoothed[i] >= OFF:
                self.active_level = max(self.active_level, float(self._smoothed[i]))
                return []
            self._end_active(t)
        allowed = [
            i
            for i, name in enumerate(expressions.NAMES)
            if t - self._ended.get(name, -1e9) >= AGAIN
        ]
        ready = [i for i in allowed if self._above[i] >= ON_FRAMES]
        self._pending = any(0 < self._above[i] < ON_FRAMES for i in allowed)
        if not ready:
            return []
        best = max(ready, key=lambda i: float(self._smoothed[i]))
        if float(self._smoothed[best]) < float(np.max(self._smoothed)):
            return []  # a stronger expression is rising: wait for it
        self.active = expressions.NAMES[best]
        self.active_level = float(self._smoothed[best])
        mixture = expressions.mixture(self.active, self.active_level)
        self.last_mixture = mixture
        self._last_count = len(mixture)
        coded = tuple(encode(DirectionRequest(c, s, Scope.FROM_NOW)) for c, s in mixture)
        return [Decision(coded, expressions.BY_NAME[self.active].words, mixture=True)]

    def _end_active(self, t: float) -> None:
        if self.active:
            self._ended[self.active] = t
        self.active, self.active_level = "", 0.0

    def refused(self) -> None:
        """The conductor did not take the last decision: a shake has nothing of it to undo."""
        self._last_count = 0

    def _undo(self) -> Decision:
        count, self._last_count = max(self._last_count, 1), 0
        return Decision(("undo",) * count, SHAKE_WORDS)

    # -- nodding --------------------------------------------------------------------------------

    def _tempo(self, t: float, nod_bpm: float, tempo_bpm: float) -> list[Decision]:
        if tempo_bpm <= 0 or not MIN_BPM <= nod_bpm <= MAX_BPM:
            return []
        if self._asked_tempo is not None and t - self._asked_tempo[1] < 2 * TEMPO_EVERY:
            tempo_bpm = self._asked_tempo[0]  # the music is on its way there
        if not self._nod_start_tempo:
            self._nod_start_tempo = tempo_bpm
        if t - self._last_tempo < TEMPO_EVERY:
            return []
        target = nod_tempo(nod_bpm, tempo_bpm)
        start = self._nod_start_tempo
        target = float(np.clip(target, start * math.exp(-MAX_CHANGE), start * math.exp(MAX_CHANGE)))
        step = float(np.clip(math.log(target / tempo_bpm), -MAX_STEP, MAX_STEP))
        if abs(step) < TEMPO_TOLERANCE:
            return []
        self._last_tempo = t
        self._asked_tempo = (tempo_bpm * math.exp(step), t)
        strength = round(-step / self.allegro_effect, 2)  # faster: a shorter beat period
        coded = (encode(DirectionRequest("allegro", strength, Scope.FROM_NOW)),)
        self._last_count = 1
        return [Decision(coded, f"nodding → following your beat ({nod_bpm:.0f} /min)")]

    def _words(self, gesture: str, nod_bpm: float) -> str:
        if gesture == "shake":
            return SHAKE_WORDS
        if gesture == "nod":
            return f"nodding → following your beat ({nod_bpm:.0f} /min)"
        if self.active:
            return expressions.BY_NAME[self.active].words
        return expressions.NEUTRAL_WORDS
