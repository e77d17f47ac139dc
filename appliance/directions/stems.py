"""Free-form descriptions in Russian: word stems per descriptor.

The sentence model reads English (German and Spanish through shared words) but not Cyrillic, so
for Russian the descriptors are found by their words instead: a request matches a descriptor
when one of its words begins with one of the descriptor's stems, or when it contains one of the
descriptor's phrases (entries with a space). Text is compared in lower case with ё as е. The
stems were chosen so that one does not begin another descriptor's words ("уверенн" does not
match "неуверенн"); words that are also direction phrases ("тише", "медленнее") never get here,
since the rules read them first. Pure Python.
"""

from __future__ import annotations

import re

RUSSIAN_STEMS: dict[str, tuple[str, ...]] = {
    "lullaby": ("колыбельн", "убаюк", "баю-бай", "баюшк", "мама поет"),
    "angry": ("злой", "злая", "злое", "злобн", "злост", "сердит", "гнев", "ярост", "бешен"),
    "dreamy": ("мечтательн", "мечтая", "как во сне", "грез", "в облаках"),
    "sad": ("груст", "печаль", "тоскл", "уныл"),
    "happy": ("весел", "радост", "счастлив", "жизнерадост"),
    "triumphant": ("триумф", "победн", "победоносн", "героич", "ликующ"),
    "playful": ("игрив", "шаловлив", "шутлив", "как дети играют", "озорн"),
    "tender": ("нежн", "ласков", "любящ"),
    "nervous": ("нервн", "тревожн", "беспокойн", "волнуясь"),
    "calm": ("спокойн", "умиротвор", "безмятежн", "мирн"),
    "majestic": ("величеств", "величав", "грандиозн", "царствен"),
    "march": ("марш", "солдат", "военн"),
    "dance": ("танц", "вальс", "пляс"),
    "mysterious": ("таинствен", "загадочн", "мистическ", "в темноте"),
    "dramatic": ("драматич", "страстн", "драма"),
    "nostalgic": ("ностальг", "воспомина", "былое", "о былом"),
    "solemn": ("торжественн", "похорон", "траурн", "серьезн"),
    "excited": ("взволнован", "возбужд", "восторж", "энергичн", "полный энергии"),
    "lazy": ("ленив", "сонн", "воскресное утро"),
    "hesitant": ("нерешительн", "неуверенн", "робк", "застенчив"),
    "confident": ("уверенн", "смел", "решительн", "напористо"),
    "delicate": ("хрупк", "деликатн", "как стекло", "утонченн"),
    "flowing": ("текуч", "плавн", "как вода", "как река", "струящ", "льющ"),
    "bouncy": ("прыгуч", "упруг", "подпрыг", "скачущ", "вприпрыжку"),
    "heavy": ("тяжел", "грузн", "как слон"),
    "airy": ("воздушн", "невесом", "перышк", "как пух"),
    "romantic": ("романтич", "влюблен", "томлен"),
    "mechanical": ("механич", "как машина", "как робот", "роботизир"),
    "intimate": ("интимн", "шепот", "шепч", "только для меня"),
    "brilliant": ("блестящ", "виртуозн", "бравурн"),
    "urgent": ("срочн", "спеша", "спешн", "торопл", "в спешке"),
    "fading": ("угаса", "затиха", "исчеза", "замира"),
    "building": ("нараста", "растущ", "наращива"),
    "prayer": ("молитв", "гимн", "благоговейн", "набожн"),
    "storm": ("буря", "бури", "бурю", "бурн", "гроза", "грозы", "шторм"),
    "raindrops": ("дожд", "капл", "капель"),
    "music box": ("шкатулк", "заводн", "часовой механизм"),
    "ghostly": ("призрачн", "жутк", "привиден", "зловещ"),
    "sunrise": ("рассвет", "восход", "утро", "утрен", "пробужд"),
    "night": ("ночн", "ночь", "лунн", "ноктюрн"),
    "jazzy": ("джаз", "свинг"),
    "tired": ("устал", "утомл", "изнурен"),
    "proud": ("горд", "благородн", "с достоинством"),
    "scared": ("испуга", "страх", "страшн", "боязлив", "боится"),
    "festive": ("праздн", "вечеринк"),
    "farewell": ("прощ", "конец истории", "до свидания"),
}

_WORD = re.compile(r"[а-яa-z-]+")


def normalise(text: str) -> str:
    return text.lower().replace("ё", "е")


def stem_hits(text: str, stems: dict[str, tuple[str, ...]] = RUSSIAN_STEMS) -> dict[str, int]:
    """Per descriptor, how many of its stems or phrases ``text`` contains (only those found)."""
    clean = normalise(text)
    words = _WORD.findall(clean)
    hits: dict[str, int] = {}
    for name, entries in stems.items():
        count = sum(
            (entry in clean) if " " in entry else any(w.startswith(entry) for w in words)
            for entry in entries
        )
        if count:
            hits[name] = count
    return hits
