"""A request in words → directions: the rules first, then the free-form descriptors.

The word tables (:mod:`appliance.directions.words`) know direction phrases in four languages;
what they do not understand ("like a lullaby", "angry") goes to the descriptor table
(:mod:`appliance.directions.descriptors`), whose sentence model is loaded only when first needed.
"""

from __future__ import annotations

from appliance.directions.classes import Scope
from appliance.directions.descriptors import Describer
from appliance.directions.words import ParsedDirections, parse_directions


class Interpreter:
    """Rules first; a free-form reading when the rules understand nothing."""

    def __init__(self, describer: Describer | None = None, free_form: bool = True) -> None:
        self._describer = describer
        self.free_form = free_form

    @property
    def describer(self) -> Describer:
        if self._describer is None:
            self._describer = Describer()
        return self._describer

    def interpret(self, text: str, language: str | None = None) -> ParsedDirections:
        parsed = parse_directions(text, language)
        if parsed.understood or not self.free_form:
            return parsed
        description = self.describer.describe(text)
        if description is None:
            return parsed
        return description.requests(Scope.FROM_NOW)
