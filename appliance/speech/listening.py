"""The box's ears: while a phone's talk button is held, its microphone → utterances → text.

:class:`Listening` is one hold of the button, fed the phone's audio frames on the event loop:
it downsamples them to 16 kHz, asks the voice-activity model about each 32-ms piece and
follows the utterance (:mod:`appliance.speech.segmenter`). The music is ducked the moment
speech starts. While the person speaks, the speech so far is recognised about once a second
and shown on their phone; when they pause, the speech so far is recognised at once, so that
when the pause turns out to be the end (or the button is released) the text is usually
already there. The final text goes to the understanding desk (:mod:`appliance.understand.desk`)
and the phone is told what was heard and what the box will do.

Recognition runs in the supervised worker (:mod:`appliance.speech.recognition`), one request
at a time, from one thread here: the final text of an utterance goes first, then what was said
during a pause, then the live transcripts. When the worker cannot answer (it died or hung: it
is restarted), the phone is told "didn't catch that — please say it again".
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from appliance.events import Event, Heard, Reply
from appliance.speech.downsample import Downsampler
from appliance.speech.recognition import Heard as Recognised
from appliance.speech.replies import DIDNT_CATCH, NOT_AVAILABLE, NOTHING_HEARD, said
from appliance.speech.segmenter import Mark, Segmenter
from appliance.speech.vad import CHUNK, VoiceActivity

log = logging.getLogger(__name__)

PARTIAL_EVERY = 1.0  # seconds of speech between live transcripts
# After the button is let go, the last words are still on their way (the network, the jitter
# buffer): listening goes on until the speaker is heard to be quiet, for this long at most.
GRACE = 0.6
LANGUAGES = ("en", "de", "es", "ru")

Tell = Callable[[Event], None]


class Recogniser(Protocol):
    def transcribe(
        self, audio: np.ndarray, language: str, prompt: str = "", timeout: float | None = None
    ) -> Recognised | None: ...


class Understander(Protocol):
    def submit(
        self,
        text: str,
        language: str | None,
        who: str,
        source: str | None,
        tell: Tell,
        via: str = "text",
    ) -> str | None: ...


FINAL, PAUSE, PARTIAL = 0, 1, 2  # priorities (lowest first)
_order = itertools.count()


@dataclass
class Utterance:
    """One utterance of one hold: what was recognised of it so far."""

    listening: Listening
    number: int
    started: float  # monotonic time speech was heard
    at_pause: tuple[int, str] | None = None  # (samples, text) recognised during a pause
    final_sent: bool = False
    partial_queued: bool = False  # a live transcript waits: no second one (the worker is behind)


@dataclass(order=True)
class _Job:
    priority: int
    order: int
    utterance: Utterance | None = field(compare=False)  # None: stop working
    audio: np.ndarray = field(compare=False)


class Voice:
    def __init__(
        self,
        recogniser: Recogniser | None,
        understander: Understander,
        duck: Callable[[], None],
        prompt: Callable[[str], str] = lambda language: "",
        default_language: str = "en",
    ) -> None:
        self.recogniser = recogniser
        self.understander = understander
        self.duck = duck
        self.prompt = prompt
        self.default_language = default_language
        self._jobs: queue.PriorityQueue[_Job] = queue.PriorityQueue()
        self._vads: list[VoiceActivity] = []
        self._vad_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.busy: int | None = None  # the kind of recognition under way (tests, benchmarks)
        self.onsets: list[float] = []  # perf_counter times speech was heard (benchmarks)
        self.last_final: np.ndarray | None = None  # the last utterance's audio (diagnostics)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="recognition", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._jobs.put(_Job(-1, -1, None, np.zeros(0)))
        if self._thread is not None:
            self._thread.join(timeout=3.0)

    # -- the event-loop side ---------------------------------------------------------------------

    def listen(self, who: str, source: str | None, language: str, tell: Tell) -> Listening:
        """A hold of the talk button by ``who`` speaking ``language`` ("" for the box's)."""
        language = language if language in LANGUAGES else self.default_language
        return Listening(self, who, source, language, tell, self._take_vad())

    def said(
        self,
        text: str,
        language: str,
        who: str,
        source: str | None,
        tell: Tell,
        via: str = "text",
    ) -> None:
        """Typed text from a phone: understood like speech."""
        refusal = self.understander.submit(text, language or None, who, source, tell, via)
        if refusal is not None:
            tell(Reply(refusal, text, False))

    def _take_vad(self) -> VoiceActivity:
        with self._vad_lock:
            vad = self._vads.pop() if self._vads else VoiceActivity()
        vad.reset()
        return vad

    def give_back(self, vad: VoiceActivity) -> None:
        with self._vad_lock:
            if len(self._vads) < 8:
                self._vads.append(vad)

    def queue(self, priority: int, utterance: Utterance, audio: np.ndarray) -> None:
        self._jobs.put(_Job(priority, next(_order), utterance, audio))

    # -- the recognition thread ------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            utterance = job.utterance
            if utterance is None:
                return
            try:
                self._do(job, utterance)
            except Exception:
                log.exception("recognition failed")
                if job.priority == FINAL:
                    listening = utterance.listening
                    listening.tell(Reply(said(DIDNT_CATCH, listening.language), "", False))

    def _do(self, job: _Job, utterance: Utterance) -> None:
        listening = utterance.listening
        if job.priority == PARTIAL:
            utterance.partial_queued = False
        if job.priority == PARTIAL and (utterance.final_sent or listening.newer(utterance)):
            return  # a live transcript nobody will see
        if job.priority == PAUSE and utterance.final_sent:
            return
        if job.priority == FINAL and utterance.at_pause is not None:
            samples, said = utterance.at_pause
            if samples == len(job.audio):  # nothing was said after the pause
                self._final(utterance, said)
                return
        if job.priority == FINAL:
            self.last_final = job.audio
        self.busy = job.priority
        try:
            text = self._recognise(job.audio, listening.language)
        finally:
            self.busy = None
        if job.priority == FINAL:
            self._final(utterance, text)
        elif text is not None and job.priority == PAUSE:
            utterance.at_pause = (len(job.audio), text)
        if text and not utterance.final_sent:
            listening.tell(Heard(text, final=False))

    def _recognise(self, audio: np.ndarray, language: str) -> str | None:
        if self.recogniser is None:
            return None
        heard = self.recogniser.transcribe(audio, language, self.prompt(language))
        return None if heard is None else heard.text.strip()

    def _final(self, utterance: Utterance, text: str | None) -> None:
        utterance.final_sent = True
        listening = utterance.listening
        if not text:
            listening.tell(Heard("", final=True))
            why = DIDNT_CATCH if self.recogniser is not None else NOT_AVAILABLE
            listening.tell(Reply(said(why, listening.language), "", False))
            return
        listening.tell(Heard(text, final=True))
        self.said(
            text, listening.language, listening.who, listening.source, listening.tell, "speech"
        )


class Listening:
    """One hold of the talk button (event-loop side: cheap work only)."""

    def __init__(
        self,
        voice: Voice,
        who: str,
        source: str | None,
        language: str,
        tell: Tell,
        vad: VoiceActivity,
    ) -> None:
        self.voice = voice
        self.who, self.source, self.language, self.tell = who, source, language, tell
        self._vad = vad
        self._down: Downsampler | None = None
        self._buffer = np.zeros(0, np.float32)
        self._segmenter = Segmenter()
        self._utterance: Utterance | None = None
        self._numbers = itertools.count(1)
        self._last_partial = 0.0
        self._release_by: float | None = None  # when listening stops after the release
        self.utterances = 0
        self.closed = False

    def newer(self, utterance: Utterance) -> bool:
        return self._utterance is not None and self._utterance.number > utterance.number

    def feed(self, samples: np.ndarray, channels: int, rate: int) -> None:
        """Take one frame of the phone's microphone (int16, interleaved ``channels``)."""
        if self.closed:
            return
        if self._down is None or self._down.rate != rate:
            self._down = Downsampler(rate)
        self._buffer = np.concatenate([self._buffer, self._down(samples, channels)])
        while len(self._buffer) >= CHUNK and not self.closed:
            piece, self._buffer = self._buffer[:CHUNK], self._buffer[CHUNK:]
            self._piece(piece)
        if self._release_by is not None and time.monotonic() >= self._release_by:
            self.finish()

    @property
    def released(self) -> bool:
        return self._release_by is not None

    def release(self) -> None:
        """The button is let go: what is being said ends when the speaker is heard to be
        quiet — at once when they are already — or after :data:`GRACE` at most."""
        if self.closed or self._release_by is not None:
            return
        self._release_by = time.monotonic() + GRACE
        if not self._segmenter.speaking or self._segmenter.paused:
            self.finish()

    def finish(self) -> None:
        """Listening is over: the utterance under way (if any) is complete."""
        if self.closed:
            return
        self.closed = True
        if self._segmenter.speaking:
            self._end()
        elif self.utterances == 0:
            self.tell(Reply(said(NOTHING_HEARD, self.language), "", False))
        self.voice.give_back(self._vad)

    def _piece(self, piece: np.ndarray) -> None:
        marks = self._segmenter.feed(piece, self._vad(piece))
        for mark in marks:
            if mark is Mark.STARTED:
                self.voice.duck()
                self.voice.onsets.append(time.perf_counter())
                self.utterances += 1
                self._utterance = Utterance(self, next(self._numbers), time.monotonic())
                self._last_partial = 0.0
                self.tell(Heard("", final=False))
            elif mark is Mark.PAUSED and self._utterance is not None:
                if self._release_by is not None:  # let go, and now quiet: that was all
                    self.finish()
                    return
                self.voice.queue(PAUSE, self._utterance, self._segmenter.speech())
            elif mark is Mark.RESUMED and self._utterance is not None:
                self._utterance.at_pause = None
            elif mark is Mark.ENDED:
                self._end()
                if self._release_by is not None:
                    self.finish()
                    return
                self._segmenter = Segmenter()  # the button may still be held: listen again
                self._vad.reset()
                return
        seconds = self._segmenter.seconds
        if self._segmenter.speaking and seconds - self._last_partial >= PARTIAL_EVERY:
            self._last_partial = seconds
            utterance = self._utterance
            if utterance is not None and not utterance.partial_queued:
                utterance.partial_queued = True
                self.voice.queue(PARTIAL, utterance, self._segmenter.speech())

    def _end(self) -> None:
        if self._utterance is not None:
            self.voice.queue(FINAL, self._utterance, self._segmenter.speech())
