""" "Play it like this" — words that point at the face: the face's directions instead (pure).

Said while the button is held and the face shows an expression, "like this" (in English,
German, Spanish or Russian) takes the mixture that expression asks for (:mod:`expressions`).
An utterance counts when, its pointing phrase taken out, only a few filler words are left ("play
it like this", "spiel es so", "tócalo así", "играй вот так"); "so leise" or "like a lullaby" are
directions of their own and stay as they are.
"""

from __future__ import annotations

import re
import unicodedata

from appliance.understand.intents import DirectIntent, Steer, Understanding

POINTING = re.compile(
    r"\b(?:like (?:this|that|so|my face)|(?:this|that) way|"
    r"(?:genau |etwa )?so(?: wie (?:das|hier|ich))?|wie das|auf diese (?:art|weise)|"
    r"así|como (?:esto|este|eso)|de (?:esta|esa) (?:manera|forma)|de este modo|"
    r"(?:вот )?так(?:им образом)?|как это|вот так)\b"
)
_FILLER = """please just play it do now the music a bit little more make sound go on piano yes
    bitte spiel spiele es mach mache das jetzt mal musik ein bisschen mehr klavier ja
    por favor toca tócalo tocalo hazlo haz lo la ahora música musica un poco más mas sí si
    пожалуйста играй сыграй сыграйте играйте делай сделай это теперь музыку немного ещё еще
    да ну"""
FILLER = frozenset(_FILLER.split())


def _words(text: str) -> str:
    text = unicodedata.normalize("NFC", text).lower().replace("ё", "е")
    return " ".join(re.sub(r"[^\w\s]", " ", text).split())


def points_at_face(text: str) -> bool:
    """True when ``text`` asks to play the way the face shows ("like this")."""
    words = _words(text)
    if not POINTING.search(words):
        return False
    rest = POINTING.sub(" ", words).split()
    return all(w in FILLER for w in rest)


def with_face(
    understanding: Understanding, mixture: tuple[tuple[str, float], ...] | None
) -> Understanding:
    """``understanding`` with its intents replaced by the face's ``mixture`` when the words
    point at the face; unchanged otherwise. With no expression seen, pointing words ask for
    nothing (rather than a guess from the words "like this")."""
    if not points_at_face(understanding.text):
        return understanding
    if not mixture:
        return Understanding(understanding.text, understanding.language, (), "face")
    steers = tuple(Steer(cls, strength) for cls, strength in mixture)
    return Understanding(
        understanding.text, understanding.language, (DirectIntent(steers),), "rules+face"
    )
