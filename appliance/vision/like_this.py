""" "Play it like this" — words that point at the face: the face's directions instead (pure).

Said while the button is held and the face shows an expression, "like this" (in English,
German, Spanish or Russian) takes the mixture that expression asks for (:mod:`expressions`).
An utterance counts when, its pointing phrase taken out, only a few filler words are left ("play
it like this", "spiel es so", "tócalo así", "играй вот так"); "so leise" or "like a lullaby" are
directions of their own and stay as they are.

The face applies its mixture by itself the moment the expression shows; "like this" said in the
same breath then confirms it (the reply says what it does) without applying it a second time
(:data:`ALREADY`): smiling and saying "like this" is one "gentler", not two.
"""

from __future__ import annotations

import re
import unicodedata

from appliance.understand.intents import DirectIntent, Steer, Understanding

ALREADY = "face (already applied)"  # Understanding.by: say it, do not do it again

POINTING = re.compile(
    r"\b(?:like (?:this|so|my face)|this way|"
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
    understanding: Understanding,
    mixture: tuple[tuple[str, float], ...] | None,
    applied: bool = False,
) -> Understanding:
    """``understanding`` with its intents replaced by the face's ``mixture`` when the words
    point at the face and it showed an expression lately; unchanged otherwise (with no face,
    "genau so" stays the praise the rules read in it). ``applied``: the face has already
    applied that mixture (the result is marked :data:`ALREADY`)."""
    if not mixture or not points_at_face(understanding.text):
        return understanding
    steers = tuple(Steer(cls, strength) for cls, strength in mixture)
    by = ALREADY if applied else "rules+face"
    return Understanding(understanding.text, understanding.language, (DirectIntent(steers),), by)
