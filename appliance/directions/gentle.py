"""What feedback does at once: a gentle, lasting direction (pure data).

"Too fast" — from a feedback button or said in words — makes the music a little slower from the
next note on. Feedback is about an aspect (a feature, and whether the listener wants more or
less of it); each aspect has one gentle direction, and each feedback button one aspect.
"""

from __future__ import annotations

GENTLE = 0.5  # strength of the direction feedback gives

# (feature, want) → (direction class, strength)
BY_ASPECT: dict[tuple[str, str], tuple[str, float]] = {
    ("tempo", "less"): ("allegro", -GENTLE),
    ("tempo", "more"): ("allegro", GENTLE),
    ("dynamics", "less"): ("p", GENTLE),
    ("dynamics", "more"): ("f", GENTLE),
    ("articulation", "less"): ("legato", GENTLE),
    ("articulation", "more"): ("staccato", GENTLE),
}

# the feedback buttons' kinds → the aspect each is about
ASPECT_OF_KIND: dict[str, tuple[str, str]] = {
    "too_fast": ("tempo", "less"),
    "too_slow": ("tempo", "more"),
    "too_loud": ("dynamics", "less"),
    "too_soft": ("dynamics", "more"),
    "too_staccato": ("articulation", "less"),
    "too_legato": ("articulation", "more"),
}
