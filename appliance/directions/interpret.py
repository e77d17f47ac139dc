"""A request in words → directions: the rules first, then the free-form descriptors.

The word tables (:mod:`appliance.directions.words`) know direction phrases in four languages;
what they do not understand ("like a lullaby", "angry") goes to the descriptor table
(:mod:`appliance.directions.descriptors`), whose sentence model is loaded when first needed — or
ahead of time by :meth:`Interpreter.preload` in the background, as the box does at start, so that
the first free-form request costs milliseconds rather than the model's loading time.
"""

from __future__ import annotations

import contextlib
import threading

from appliance.directions.classes import Scope
from appliance.directions.descriptors import Describer
from appliance.directions.lexicon import LANGUAGES
from appliance.directions.words import ParsedDirections, parse_directions
from appliance.errors import ApplianceError


class Interpreter:
    """Rules first; a free-form reading when the rules understand nothing."""

    def __init__(self, describer: Describer | None = None, free_form: bool = True) -> None:
        self._describer = describer
        self.free_form = free_form
        self._loading = threading.Lock()

    @property
    def ready(self) -> bool:
        """True when a free-form request will not have to wait for the sentence model."""
        return self._describer is not None or not self.free_form

    @property
    def loaded(self) -> Describer | None:
        """The free-form reader when its sentence model is loaded already (else None: asking
        for it would wait for the load)."""
        return self._describer

    @property
    def describer(self) -> Describer:
        with self._loading:  # one load, whoever asks first; the others wait for it
            if self._describer is None:
                self._describer = Describer()
            return self._describer

    def preload(self) -> threading.Thread:
        """Load the sentence model in a background thread (errors are left for first use)."""

        def load() -> None:
            with contextlib.suppress(Exception):  # reported when a request needs the model
                _ = self.describer

        thread = threading.Thread(target=load, name="load-sentence-model", daemon=True)
        thread.start()
        return thread

    def needs_model(self, text: str, language: str | None = None) -> bool:
        """Whether understanding ``text`` will take the sentence model (the rules do not)."""
        return self.free_form and not _rules(text, language).understood

    def interpret(self, text: str, language: str | None = None) -> ParsedDirections:
        parsed = _rules(text, language)
        if parsed.understood or not self.free_form:
            return parsed
        description = self.describer.describe(text)
        if description is None:
            return parsed
        return description.requests(Scope.FROM_NOW)


def _rules(text: str, language: str | None) -> ParsedDirections:
    """The word tables' reading; a language the box does not know is the user's error."""
    if language is not None and language not in LANGUAGES:
        known = ", ".join(LANGUAGES)
        raise ApplianceError(f"the box does not know the language {language!r} ({known})")
    return parse_directions(text, language)
