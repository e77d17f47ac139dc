"""The initial prompt that biases speech recognition towards the box's own vocabulary.

Why: Whisper reads the prompt as "the text that came before", so naming the pieces, composers,
commands and directions the box understands makes it likelier to write "Debussy" or "leiser"
than a sound-alike. But a long list of words also leaks into the transcript ("… fortissimo,")
and turns it into a comma-separated list: measured on 16 espeak-ng utterances a language
(``tests/utterances``, base/tiny.en q8_0, reduced context), a 100-byte prompt gave word error
rates en 31.9 %, de 58.5 %, es 76.3 %, ru 105.8 % against 39.1/64.6/89.8/105.8 % for 400 bytes
and 34.8/61.5/72.9/115.4 % for none. So the prompt is short: the commands first (they are what
people say most, and a library's titles alone would fill the budget), then the composers'
surnames, then direction words, then titles, capped in UTF-8 bytes (which also bounds the token
count for any script: a byte-level BPE token is at least one byte; whisper keeps at most ~224
and drops the oldest beyond that).
"""

from __future__ import annotations

from collections.abc import Iterable

from appliance.directions.lexicon import LANGUAGES

# Measured best of 100/200/400 bytes (see above); ~224 tokens is whisper's hard limit.
MAX_PROMPT_BYTES = 100

COMMANDS: dict[str, tuple[str, ...]] = {
    "en": (
        "play", "pause", "stop", "faster", "slower", "softer", "louder",
        "from the beginning", "bar",
    ),
    "de": (
        "spiel", "Pause", "Stopp", "schneller", "langsamer", "leiser", "lauter",
        "von vorne", "Takt",
    ),
    "es": (
        "toca", "pausa", "para", "más rápido", "más lento", "más suave", "más fuerte",
        "desde el principio", "compás",
    ),
    "ru": (
        "играй", "пауза", "стоп", "быстрее", "медленнее", "тише", "громче",
        "с начала", "такт",
    ),
}  # fmt: skip


def _direction_words(language: str) -> list[str]:
    """The language's direction phrases, one per direction class in turn (so that every class
    gets its first, most common word before any class gets a second), then its first undo and
    reset phrases."""
    lexicon = LANGUAGES.get(language)
    if lexicon is None:
        return []
    by_class: dict[str, list[str]] = {}
    for phrase, (name, _strength) in lexicon.directions.items():
        by_class.setdefault(name, []).append(phrase)
    rounds = max((len(phrases) for phrases in by_class.values()), default=0)
    interleaved = [
        phrases[i] for i in range(rounds) for phrases in by_class.values() if i < len(phrases)
    ]
    return [*interleaved, *lexicon.undo[:1], *lexicon.reset[:1]]


def _pieces(pieces: Iterable[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """The composers' surnames (short, and each covers many titles), and the titles."""
    composers: list[str] = []
    titles: list[str] = []
    for title, composer in pieces:
        if composer.split():
            composers.append(composer.split()[-1])
        if title.strip():
            titles.append(title.strip())
    return composers, titles


def build_prompt(
    language: str,
    pieces: Iterable[tuple[str, str]] = (),
    max_bytes: int = MAX_PROMPT_BYTES,
) -> str:
    """A comma-separated list of the words to listen for in ``language``: the commands, the
    composers' surnames from ``pieces`` ((title, composer) pairs), direction words, titles —
    each once (case-insensitively), as many as fit in ``max_bytes`` of UTF-8. Empty when
    nothing fits or the language is unknown and no pieces are given."""
    chosen: list[str] = []
    seen: set[str] = set()
    size = 0
    composers, titles = _pieces(pieces)
    commands = COMMANDS.get(language, ())
    for phrase in [*commands, *composers, *_direction_words(language), *titles]:
        key = phrase.casefold()
        if key in seen:
            continue
        cost = len(phrase.encode("utf-8")) + (2 if chosen else 0)  # ", " between phrases
        if size + cost > max_bytes:
            continue  # a shorter phrase further on may still fit
        chosen.append(phrase)
        seen.add(key)
        size += cost
    return ", ".join(chosen)
