"""The performance directions a score can carry, as small fixed vocabularies.

Indices into these tuples are what the note table stores; -1 means "no marking in force".
"""

from __future__ import annotations

DYNAMICS: tuple[str, ...] = ("ppp", "pp", "p", "mp", "mf", "f", "ff", "fff")
IMPULSIVE: tuple[str, ...] = ("none", "sforzando", "fortepiano")
TEMPO_WORDS: tuple[str, ...] = (
    "grave",
    "largo",
    "lento",
    "adagio",
    "larghetto",
    "andante",
    "andantino",
    "moderato",
    "allegretto",
    "allegro",
    "vivace",
    "presto",
    "prestissimo",
)
TEMPO_CHANGES: tuple[str, ...] = ("none", "accelerando", "ritardando", "a_tempo")
ARTICULATIONS: tuple[str, ...] = ("staccato", "tenuto", "accent", "fermata", "legato")

# Typical beats per minute of each tempo word (beat = the time signature's beat unit).
TEMPO_WORD_BPM: dict[str, float] = {
    "grave": 40.0,
    "largo": 50.0,
    "lento": 54.0,
    "adagio": 66.0,
    "larghetto": 63.0,
    "andante": 84.0,
    "andantino": 92.0,
    "moderato": 104.0,
    "allegretto": 112.0,
    "allegro": 132.0,
    "vivace": 150.0,
    "presto": 172.0,
    "prestissimo": 200.0,
}
DEFAULT_QUARTER_BPM = 100.0

_DYNAMIC_ALIASES = {"pppp": "ppp", "ffff": "fff", "sotto voce": "pp", "mezza voce": "mp"}
_SFORZANDO = ("sf", "sfz", "sffz", "fz", "rf", "rfz", "sfp", "sfzp")
_FORTEPIANO = ("fp", "pf")
_ACCEL = ("accel", "stringendo", "string", "stretto", "piu mosso", "più mosso", "incalzando")
_RIT = ("rit", "rall", "allarg", "slent", "calando", "morendo", "meno mosso", "smorz")
_A_TEMPO = ("a tempo", "tempo i", "tempo primo", "tempo 1", "a_tempo", "tempo")


def _clean(text: str | None) -> str:
    return (text or "").strip().lower().replace(".", "").replace("_", " ")


def dynamic_index(text: str | None) -> int:
    """Index into DYNAMICS for a dynamics word, or -1 if it is not one."""
    word = _clean(text)
    word = _DYNAMIC_ALIASES.get(word, word)
    return DYNAMICS.index(word) if word in DYNAMICS else -1


def impulsive_index(text: str | None) -> int:
    """Index into IMPULSIVE (0 when the word is no accent-like dynamic)."""
    word = _clean(text).replace(" ", "")
    if word in _FORTEPIANO:
        return IMPULSIVE.index("fortepiano")
    if word in _SFORZANDO:
        return IMPULSIVE.index("sforzando")
    return 0


def tempo_change_index(text: str | None, default: str = "none") -> int:
    """Index into TEMPO_CHANGES for a tempo-change word (accel., rit., a tempo)."""
    words = _clean(text)
    for prefixes, name in ((_A_TEMPO, "a_tempo"), (_ACCEL, "accelerando"), (_RIT, "ritardando")):
        if any(words.startswith(p) for p in prefixes):
            return TEMPO_CHANGES.index(name)
    return TEMPO_CHANGES.index(default)


def articulation_flags(names: list[str] | None) -> dict[str, bool]:
    """Map MusicXML articulation names to the ARTICULATIONS flags."""
    found = {n.lower() for n in names or []}
    return {
        "staccato": bool(found & {"staccato", "staccatissimo", "spiccato", "detached-legato"}),
        "tenuto": bool(found & {"tenuto", "detached-legato"}),
        "accent": bool(found & {"accent", "strong-accent", "marcato"}),
    }
