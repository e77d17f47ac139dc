"""Understood intents → the commands the conductor carries out (pure).

One utterance may carry several intents ("stop the music and then play some Bach"); each
becomes zero or more command events, in order:

- select → ``SelectPiece`` (the matched library id, else the words as said; "" any other
  piece);
- transport pause / resume / stop → ``Pause`` / ``Play`` / ``Stop``;
- navigate beginning / phrase / bar N → ``Seek("beginning")`` / ``Seek("phrase")`` /
  ``Seek("bar", N)``; back N bars → ``Seek("back", bars=N)`` (no N: back a phrase);
- feedback → a ``Feedback`` per aspect (tempo less → too_fast, more → too_slow; dynamics
  less → too_loud, more → too_soft; articulation less → too_staccato, more → too_legato), and
  "like" when positive, "dislike" when negative without aspects;
- direct → ``Direct`` with the directions already understood, each with its natural scope;
- control undo / reset → ``Direct`` carrying the control;
- taste → ``TasteOf`` the person named ("" the speaker);
- unknown → nothing (the reply says so).
"""

from __future__ import annotations

from appliance.directions.encoded import encode
from appliance.directions.gentle import ASPECT_OF_KIND
from appliance.directions.words import DirectionRequest, default_scope
from appliance.events import (
    Direct,
    Event,
    Feedback,
    Pause,
    Play,
    Seek,
    SelectPiece,
    Stop,
    TasteOf,
)
from appliance.understand.intents import (
    Control,
    DirectIntent,
    FeedbackIntent,
    Intent,
    Navigate,
    Select,
    TasteIntent,
    Transport,
    Understanding,
)

_FEEDBACK = {aspect: kind for kind, aspect in ASPECT_OF_KIND.items()}
_TRANSPORT: dict[str, Event] = {"pause": Pause(), "resume": Play(), "stop": Stop()}


def events_for(understanding: Understanding) -> list[Event]:
    """The commands that carry out ``understanding``, in order."""
    text, language = understanding.text.strip()[:500], understanding.language
    events: list[Event] = []
    for intent in understanding.intents:
        events += _commands(intent, text, language)
    return events


def _commands(intent: Intent, text: str, language: str) -> list[Event]:
    if isinstance(intent, Select):
        return [SelectPiece((intent.piece or intent.query)[:500])]
    if isinstance(intent, Transport):
        return [_TRANSPORT[intent.action]]
    if isinstance(intent, Navigate):
        if intent.to == "bar":
            return [Seek("bar", intent.bar or 1)]
        if intent.to == "back":
            return [Seek("back", bars=min(intent.bars or 0, 10_000))]
        return [Seek(intent.to)]
    if isinstance(intent, FeedbackIntent):
        kinds = [_FEEDBACK[(a.feature, a.want)] for a in intent.aspects]
        if intent.polarity == "positive":
            kinds.insert(0, "like")
        elif intent.polarity == "negative" and not kinds:
            kinds.append("dislike")
        return [Feedback(kind) for kind in dict.fromkeys(kinds)]
    if isinstance(intent, DirectIntent):
        requests = [
            DirectionRequest(s.cls, s.strength, default_scope(s.cls)) for s in intent.directions
        ]
        return [Direct(text, language, tuple(encode(r) for r in requests))] if requests else []
    if isinstance(intent, Control):
        return [Direct(text, language, (intent.action,))]
    if isinstance(intent, TasteIntent):
        return [TasteOf((intent.name or "")[:100])]
    return []
