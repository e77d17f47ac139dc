"""What the box's ears say when there is no text to understand, in the phone's language."""

from __future__ import annotations

DIDNT_CATCH = {
    "en": "Sorry, I didn't catch that — please say it again.",
    "de": "Entschuldigung, das habe ich nicht verstanden — bitte sag es noch einmal.",
    "es": "Perdona, no lo he entendido — dilo otra vez, por favor.",
    "ru": "Извините, я не расслышал — повторите, пожалуйста.",
}
NOTHING_HEARD = {
    "en": "I didn't hear anything — hold the button while you speak.",
    "de": "Ich habe nichts gehört — halte den Knopf, während du sprichst.",
    "es": "No he oído nada — mantén el botón mientras hablas.",
    "ru": "Я ничего не услышал — держите кнопку, пока говорите.",
}
NOT_AVAILABLE = {
    "en": "Speech recognition is not available on this box right now — please type it instead.",
    "de": "Die Spracherkennung ist auf dieser Box gerade nicht verfügbar — bitte tippe es ein.",
    "es": "El reconocimiento de voz no está disponible ahora — escríbelo, por favor.",
    "ru": "Распознавание речи сейчас недоступно — пожалуйста, напишите текстом.",
}


def said(table: dict[str, str], language: str) -> str:
    return table.get(language, table["en"])
