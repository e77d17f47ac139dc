"""Assembling the box's understanding and ears from a playing session.

- The **desk** (:mod:`appliance.understand.desk`): what phones and the console say or type is
  understood there — the rules, the sentence model for free-form descriptions, and the local
  language model (a supervised worker) for what the rules cannot read — and carried out by the
  conductor.
- The **voice** (:mod:`appliance.speech.listening`): phones' microphones → speech recognition
  (a supervised whisper.cpp worker) → the desk.

Either worker may be missing (its model not installed, or turned off): the box says so once and
goes on — without the language model the rules still work; without speech recognition the
phones are told to type instead.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from appliance.directions.descriptors import describe_said
from appliance.errors import ApplianceError
from appliance.events import Duck, Problem
from appliance.perform.session import Session
from appliance.said_memory import SaidMemory
from appliance.speech.listening import Voice
from appliance.speech.prompt import build_prompt
from appliance.speech.recognition import RecognitionWorker
from appliance.understand import understand
from appliance.understand.desk import Desk
from appliance.understand.fallback import Fallback
from appliance.understand.intents import Understanding
from appliance.understand.reply import reply
from appliance.vision.like_this import ALREADY, with_face

log = logging.getLogger(__name__)


@dataclass
class Ears:
    desk: Desk
    voice: Voice | None
    recogniser: RecognitionWorker | None
    fallback: Fallback | None
    said: SaidMemory | None = None  # what was said, to the memory

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Everything said so far understood, acted on and remembered (tests)."""
        if not self.desk.wait_idle(timeout):
            return False
        return self.said is None or self.said.wait_idle(timeout)

    def close(self) -> None:
        if self.voice is not None:
            self.voice.close()
        self.desk.close()
        if self.said is not None:
            self.said.close()
        if self.recogniser is not None:
            self.recogniser.close()
        closer = getattr(self.fallback, "close", None)
        if callable(closer):
            closer()


def open_ears(
    session: Session,
    problem: Callable[[str], None],
    speech: bool = True,
    llm: bool = True,
    asr_threads: int = 2,
    face: Callable[[str | None], tuple[tuple[tuple[str, float], ...], bool] | None] | None = None,
) -> Ears:
    """The desk, and with ``speech`` the voice, for ``session``; what cannot be had is said
    through ``problem`` and left out. ``face``: the directions a phone's user showed with their
    face lately (the box's eyes), which "like this" takes."""
    library, engine, conductor = session.library, session.engine, session.conductor
    fallback = _language_model(problem, eager=speech) if llm else None

    def understood(text: str, language: str | None) -> Understanding:
        def describe(words: str) -> object:
            interpreter = engine.interpreter
            if not interpreter.free_form:
                return None
            return describe_said(interpreter.describer, words, language)

        return understand(text, language, library, describe, fallback)

    def context(understanding: Understanding, source: str | None) -> Understanding:
        seen = face(source) if face is not None else None
        return with_face(understanding, *seen) if seen is not None else understanding

    def act(understanding: Understanding, who: str, source: str | None, via: str) -> str | None:
        if understanding.by == ALREADY:  # "like this" while the face has already done it
            return None
        return conductor.submit_understood(understanding, who, source, via)

    def embedder() -> Callable[[str], np.ndarray] | None:
        reader = session.engine.interpreter.loaded  # never waits for the model to load
        return reader.embedder.embed if reader is not None else None

    remember = SaidMemory(session.memory.utterance, embedder)

    desk = Desk(
        understood,
        act,
        lambda u, lang: reply(u, lang, library),
        context=context,
        remember=remember,
    )
    desk.start()
    if not speech:
        return Ears(desk, None, None, fallback, remember)
    recogniser = _recogniser(problem, asr_threads)

    @functools.cache
    def prompt(language: str) -> str:
        return build_prompt(language, [(p.title, p.composer) for p in library.pieces.values()])

    def duck() -> None:
        conductor.submit(Duck(), "", None)

    voice = Voice(recogniser, desk, duck, prompt)
    voice.start()
    return Ears(desk, voice, recogniser, fallback, remember)


def _recogniser(problem: Callable[[str], None], threads: int) -> RecognitionWorker | None:
    from appliance.speech.whisper_models import model_path

    try:
        model_path("en")
    except ApplianceError as exc:
        problem(f"speech recognition is off: {exc}")
        return None
    worker = RecognitionWorker(threads=threads, on_event=problem)
    worker.start()
    return worker


def _language_model(problem: Callable[[str], None], eager: bool) -> Fallback | None:
    """The language model's client; its worker starts now when ``eager`` (the box with its
    phones), else on the first sentence the rules do not understand (the console alone)."""
    import importlib.util

    from appliance.understand.llm_client import LlmFallback
    from appliance.understand.llm_files import installed_model

    if importlib.util.find_spec("llama_cpp") is None:
        problem("the local language model is off (llama-cpp-python is not installed)")
        return None
    try:
        installed_model()
    except ApplianceError as exc:
        problem(f"the local language model is off: {exc}; the rules still understand")
        return None
    fallback = LlmFallback()
    if eager:
        fallback.start()
    return fallback


def problem_on(session: Session) -> Callable[[str], None]:
    """Say a problem on the session's bus (and in the log)."""

    def say(message: str) -> None:
        log.warning("%s", message)
        if session.bus is not None:
            session.bus.publish(Problem(message))

    return say
