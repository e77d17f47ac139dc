"""Asking for a listener's taste: "play it the way I like it", "like Grandma likes it" (pure).

A clause (normalised: lower case, fillers removed) that asks for the way someone likes the music
is a :class:`~appliance.understand.intents.TasteIntent`: ``name`` is the display name as said
("grandma"; articles and "my" left out), or None for the speaker's own taste ("the way I like
it", "wie ich es mag", "como me gusta", "как мне нравится"). Whether anyone is called that is
for the box's memory to say.
"""

from __future__ import annotations

import re

from appliance.understand.intents import TasteIntent

_NAME = r"(?P<name>[\w'-]+(?: [\w'-]+)?)"  # one or two words

# Per language: patterns searched in the clause; a ``name`` group names the person, none means
# the speaker.
PATTERNS: dict[str, tuple[str, ...]] = {
    "en": (
        r"\b(?:the way|how|as) (?:i|me) (?:like|love|prefer|want) it\b",
        r"\bmy way\b",
        rf"\b(?:the way|how|like|as) {_NAME} (?:likes|loves|prefers|wants|liked) it\b",
        rf"\b{_NAME}'s way\b",
    ),
    "de": (
        r"\b(?:so )?wie ich es (?:mag|gern habe|gerne habe|liebe)\b",
        r"\bwie es mir gefällt\b",
        rf"\b(?:so )?wie {_NAME} es (?:mag|gern hat|gerne hat|liebt)\b",
        rf"\b(?:so )?wie es {_NAME} (?:mag|gern hat|gerne hat|gefällt)\b",
    ),
    "es": (
        r"\bcomo (?:a mí )?me gusta\b",
        rf"\bcomo (?:le )?gusta a {_NAME}\b",
        rf"\bcomo a {_NAME} le gusta\b",
        rf"\bcomo {_NAME} lo (?:quiere|prefiere)\b",
    ),
    "ru": (
        r"\bкак (?:я люблю|мне нравится|я хочу)\b",
        rf"\bкак (?:любит|нравится|хочет) {_NAME}\b",
        rf"\bкак {_NAME} (?:любит|нравится|хочет)\b",
    ),
}
# Words that mean the speaker, and words left out of a name.
SELF: dict[str, frozenset[str]] = {
    "en": frozenset({"i", "me", "myself"}),
    "de": frozenset({"ich", "mir", "mich"}),
    "es": frozenset({"mí", "mi", "yo"}),
    "ru": frozenset({"я", "мне", "меня"}),
}
_LEFT_OUT: dict[str, tuple[str, ...]] = {
    "en": ("my ", "our ", "the "),
    "de": ("meine ", "mein ", "unsere ", "unser ", "die ", "der ", "den "),
    "es": ("mi ", "la ", "el ", "nuestra ", "nuestro "),
    "ru": ("моя ", "мой ", "моей ", "моему ", "наша ", "наш "),
}


def read_taste(clause: str, code: str) -> TasteIntent | None:
    """The taste ``clause`` asks for in language ``code``, if it asks for one."""
    for pattern in PATTERNS.get(code, ()):
        m = re.search(pattern, clause)
        if m is None:
            continue
        name = m.groupdict().get("name")
        if name is None:
            return TasteIntent(None)
        for word in _LEFT_OUT.get(code, ()):
            if name.startswith(word) and len(name) > len(word):
                name = name[len(word) :]
        name = name.strip()
        if not name or name in SELF.get(code, frozenset()):
            return TasteIntent(None)
        return TasteIntent(name)
    return None
