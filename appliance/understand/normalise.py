"""Text as the rules read it: one form of writing, and without the words that carry no request.

People wrap what they want in politeness and hesitation ("um, could you maybe play it a bit
softer please?"); the rules should see only "play it a bit softer". :func:`normalise` gives
one way of writing (NFC, lower case, "ё" as "е", straight apostrophes, no sentence punctuation,
commas kept as clause marks); :func:`strip_fillers` then removes the filler and politeness
phrases of one language, as whole words, longest first.

Only words that never carry a request are fillers: "now" or "just" are, "me" (Spanish "me
gusta") and "a" (English article) are not.
"""

from __future__ import annotations

import re
import unicodedata

FILLERS: dict[str, tuple[str, ...]] = {
    "en": (
        "um", "umm", "uh", "uhh", "er", "erm", "hmm", "hm", "mm", "mmm", "ah", "oh",
        "please", "pls", "kindly", "just", "now", "okay", "ok", "hey", "maybe", "perhaps",
        "could you", "can you", "would you", "will you", "could you please", "would you please",
        "do you think you could", "i wonder if you could", "would you mind", "if you could",
        "if you would", "if you don't mind", "for me", "thanks", "thank you", "right",
        "alright", "all right", "piano box", "dear", "actually", "like i said", "you know",
    ),
    "de": (
        "äh", "ähm", "öhm", "hm", "hmm", "mm", "na", "also", "bitte", "bitte schön", "mal",
        "doch", "ja", "jetzt", "einfach", "vielleicht", "eigentlich", "eben", "gerne",
        "gern", "danke", "okay", "ok", "könntest du", "kannst du", "könnten sie", "können sie",
        "würdest du", "würden sie", "magst du", "kann man", "für mich", "so nett",
        "sei so nett", "wärst du so nett", "du", "hey", "nun",
    ),
    "es": (
        "eh", "em", "ehm", "mmm", "mm", "este", "pues", "bueno", "vale", "oye", "venga",
        "por favor", "porfa", "ahora", "ya que", "quizás", "quizá", "gracias", "podrías",
        "puedes", "podría", "puede", "podrías por favor", "serías tan amable de", "para mí",
        "hola", "oh", "ok", "okay",
    ),
    "ru": (
        "э", "эм", "эээ", "ээ", "хм", "мм", "ну", "вот", "пожалуйста", "пожалуй",
        "можешь", "можете", "мог бы", "могла бы", "могли бы", "не мог бы ты",
        "не могла бы ты", "не могли бы вы", "ты", "вы", "давай", "давайте", "ладно",
        "просто", "теперь", "сейчас", "окей", "ок", "спасибо", "будь добр",
        "будьте добры", "для меня", "а", "слушай",
    ),
}  # fmt: skip

_PUNCT = re.compile(r"[!?.¡¿\"“”„«»()\[\]{}…:*]")
_COMMA = re.compile(r"\s*[,;]\s*")
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """One form of writing: NFC, lower case, "ё"→"е", no sentence punctuation; commas and
    semicolons kept (as ", ") since they separate requests."""
    text = unicodedata.normalize("NFC", text).lower().replace("ё", "е")
    text = text.replace("’", "'").replace("‘", "'").replace("`", "'").replace("–", " ")
    text = _PUNCT.sub(" ", text)
    text = _COMMA.sub(" , ", text)
    text = _SPACES.sub(" ", text).strip()
    return text.strip(" ,")


def _filler_pattern(language: str) -> re.Pattern[str]:
    phrases = sorted(FILLERS.get(language, ()), key=len, reverse=True)
    alternatives = "|".join(re.escape(p) for p in phrases)
    return re.compile(r"(?<![\w'-])(?:" + alternatives + r")(?![\w'-])")


_PATTERNS = {lang: _filler_pattern(lang) for lang in FILLERS}


def strip_fillers(text: str, language: str) -> tuple[str, int]:
    """``text`` (normalised) without ``language``'s fillers, and how many words were removed
    (a hint of the language, for guessing it)."""
    pattern = _PATTERNS.get(language)
    if pattern is None:
        return text, 0
    removed = sum(len(m.group(0).split()) for m in pattern.finditer(text))
    out = pattern.sub(" ", text)
    out = re.sub(r"(?:\s*,\s*)+", " , ", out)
    return _SPACES.sub(" ", out).strip(" ,"), removed


def words(text: str) -> list[str]:
    """The words of normalised text (commas dropped)."""
    return [w for w in text.replace(",", " ").split() if w]
