"""The protocol of a second opinion, for when the rules understand nothing of an utterance.

A local language model (written elsewhere, :mod:`appliance.understand.llm`) answers with
intents in their JSON shapes, read back by :func:`appliance.understand.intents.from_dict`;
``None`` means it could not say in time (``timeout`` seconds) or at all, and the rules' answer
stands.
"""

from __future__ import annotations

from typing import Protocol

from appliance.understand.intents import Intent

TIMEOUT = 1.5  # seconds the box waits for a fallback's answer


class Fallback(Protocol):
    def intents(self, text: str, language: str, timeout: float) -> tuple[Intent, ...] | None:
        """What ``text`` (in ``language``) asks for, or None when it cannot say in time."""
        ...
