"""What the box says back, in the user's language: what it heard → what it will do.

"Softer, a little slower", "Playing Maple Leaf Rag", "Pausing", "Back to bar 12", "Thanks —
noted: too fast; a little slower from here", and for what it did not understand: "Sorry, I
didn't understand “…” — try “softer” or “play some Chopin”". Directions are worded by the
shared table of :mod:`appliance.directions.plain` (the phone page says them the same way);
feedback acts as gently as the feedback buttons (:mod:`appliance.perform.feedback`).
"""

from __future__ import annotations

from typing import Any

from appliance.directions.gentle import BY_ASPECT
from appliance.directions.plain import LITTLE, MUCH, table
from appliance.library.catalog import Library
from appliance.understand.intents import (
    Control,
    DirectIntent,
    FeedbackIntent,
    Intent,
    Navigate,
    Select,
    Steer,
    TasteIntent,
    Transport,
    Understanding,
)

# What an aspect of feedback does at once, as the feedback buttons do (too fast → slower).
_ACTS: dict[tuple[str, str], Steer] = {
    aspect: Steer(cls, strength) for aspect, (cls, strength) in BY_ASPECT.items()
}

WORDS: dict[str, dict[str, Any]] = {
    "en": {
        "playing": "Playing {piece}", "missing": "I don't have “{query}” in the library",
        "another": "Another piece", "pause": "Pausing", "resume": "Playing on",
        "stop": "Stopping", "beginning": "From the beginning", "back": "Back a phrase",
        "back_bars": "Back {bars} bars", "back_bar": "Back one bar", "bar": "Back to bar {bar}",
        "phrase": "This phrase again", "undo": "Undone", "reset": "Back to normal",
        "thanks": "Thank you!", "noted": "Thanks — noted", "from_here": "from here",
        "aspects": {
            ("tempo", "less"): "too fast", ("tempo", "more"): "too slow",
            ("dynamics", "less"): "too loud", ("dynamics", "more"): "too soft",
            ("articulation", "less"): "too choppy", ("articulation", "more"): "too blurred",
        },
        "taste": "The way {name} likes it", "my_taste": "The way you like it",
        "unknown": "Sorry, I didn't understand “{text}” — try “softer” or “play some Chopin”",
    },
    "de": {
        "playing": "Ich spiele {piece}", "missing": "„{query}“ ist nicht in der Bibliothek",
        "another": "Ein anderes Stück", "pause": "Pause", "resume": "Weiter geht's",
        "stop": "Ich höre auf", "beginning": "Von vorne", "back": "Eine Phrase zurück",
        "back_bars": "{bars} Takte zurück", "back_bar": "Einen Takt zurück",
        "bar": "Zurück zu Takt {bar}", "phrase": "Diese Phrase noch einmal",
        "undo": "Rückgängig gemacht", "reset": "Wieder normal", "thanks": "Danke!",
        "noted": "Danke — notiert", "from_here": "ab hier",
        "aspects": {
            ("tempo", "less"): "zu schnell", ("tempo", "more"): "zu langsam",
            ("dynamics", "less"): "zu laut", ("dynamics", "more"): "zu leise",
            ("articulation", "less"): "zu abgehackt", ("articulation", "more"): "zu verwaschen",
        },
        "taste": "So, wie {name} es mag", "my_taste": "So, wie du es magst",
        "unknown": "Entschuldigung, das habe ich nicht verstanden: „{text}“ — versuch „leiser“ "
        "oder „spiel etwas von Chopin“",
    },
    "es": {
        "playing": "Tocando {piece}", "missing": "No tengo «{query}» en la biblioteca",
        "another": "Otra pieza", "pause": "En pausa", "resume": "Sigo tocando",
        "stop": "Paro", "beginning": "Desde el principio", "back": "Una frase atrás",
        "back_bars": "{bars} compases atrás", "back_bar": "Un compás atrás",
        "bar": "Al compás {bar}", "phrase": "Esta frase otra vez", "undo": "Deshecho",
        "reset": "Vuelta a lo normal", "thanks": "¡Gracias!", "noted": "Gracias — anotado",
        "from_here": "desde aquí",
        "aspects": {
            ("tempo", "less"): "demasiado rápido", ("tempo", "more"): "demasiado lento",
            ("dynamics", "less"): "demasiado fuerte", ("dynamics", "more"): "demasiado suave",
            ("articulation", "less"): "demasiado cortado",
            ("articulation", "more"): "demasiado borroso",
        },
        "taste": "Como le gusta a {name}", "my_taste": "Como te gusta",
        "unknown": "Perdona, no he entendido «{text}» — prueba «más suave» o «toca algo de "
        "Chopin»",
    },
    "ru": {
        "playing": "Играю {piece}", "missing": "«{query}» нет в библиотеке",
        "another": "Другая пьеса", "pause": "Пауза", "resume": "Продолжаю",
        "stop": "Останавливаюсь", "beginning": "С начала", "back": "На фразу назад",
        "back_bars": "На {bars} такта назад", "back_bar": "На такт назад",
        "bar": "К такту {bar}", "phrase": "Эту фразу ещё раз", "undo": "Отменено",
        "reset": "Как обычно", "thanks": "Спасибо!", "noted": "Спасибо — учтено",
        "from_here": "дальше",
        "aspects": {
            ("tempo", "less"): "слишком быстро", ("tempo", "more"): "слишком медленно",
            ("dynamics", "less"): "слишком громко", ("dynamics", "more"): "слишком тихо",
            ("articulation", "less"): "слишком отрывисто",
            ("articulation", "more"): "слишком смазанно",
        },
        "taste": "Так, как нравится: {name}", "my_taste": "Так, как тебе нравится",
        "unknown": "Извините, я не понял «{text}» — попробуйте «тише» или «сыграй Шопена»",
    },
}  # fmt: skip


def directions_in_words(steers: tuple[Steer, ...], language: str) -> str:
    """ "softer, a little slower" — the phone page's wording of directions."""
    words = table().get(language) or table()["en"]
    parts = []
    for s in steers:
        said = str(words["classes"][s.cls]["+" if s.strength >= 0 else "-"])
        if abs(s.strength) < LITTLE:
            said = str(words["little"]).format(words=said)
        elif abs(s.strength) > MUCH:
            said = str(words["much"]).format(words=said)
        if said not in parts:
            parts.append(said)
    return str(words["joiner"]).join(parts)


def _one(intent: Intent, w: dict[str, Any], language: str, library: Library | None) -> str:
    if isinstance(intent, Select):
        if not intent.query and intent.piece is None:
            return str(w["another"])
        piece = library.pieces.get(intent.piece) if library and intent.piece else None
        if piece is not None:
            return str(w["playing"]).format(piece=piece.title)
        if intent.piece is not None:
            return str(w["playing"]).format(piece=intent.piece)
        return str(w["missing"]).format(query=intent.query)
    if isinstance(intent, Transport):
        return str(w[intent.action])
    if isinstance(intent, Navigate):
        if intent.to == "back" and intent.bars:
            return str(w["back_bar" if intent.bars == 1 else "back_bars"]).format(bars=intent.bars)
        if intent.to == "bar":
            return str(w["bar"]).format(bar=intent.bar)
        return str(w[intent.to])
    if isinstance(intent, FeedbackIntent):
        if not intent.aspects:
            return str(w["thanks"] if intent.polarity == "positive" else w["noted"])
        heard = ", ".join(w["aspects"][(a.feature, a.want)] for a in intent.aspects)
        acts = tuple(_ACTS[(a.feature, a.want)] for a in intent.aspects)
        return f"{w['noted']}: {heard}; {directions_in_words(acts, language)} {w['from_here']}"
    if isinstance(intent, DirectIntent):
        return directions_in_words(intent.directions, language)
    if isinstance(intent, Control):
        return str(w[intent.action])
    if isinstance(intent, TasteIntent):
        if intent.name is None:
            return str(w["my_taste"])
        return str(w["taste"]).format(name=intent.name[:1].upper() + intent.name[1:])
    return ""


def reply(understanding: Understanding, language: str, library: Library | None = None) -> str:
    """One friendly line for ``understanding``, in ``language`` (English when unknown)."""
    w = WORDS.get(language) or WORDS["en"]
    if not understanding.understood:
        return str(w["unknown"]).format(text=understanding.text.strip())
    parts = [p for p in (_one(i, w, language, library) for i in understanding.intents) if p]
    return ". ".join(p[:1].upper() + p[1:] for p in parts)
