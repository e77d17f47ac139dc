"""What the box understood, in plain words of the listener's language.

"like a lullaby" → “like a lullaby”: softer, smoother, a little slower — from bar 12.

The words live in one table, ``web/plain.json``, read by the console here and by the phone page
(``web/app.js``), so that both say the same. Directions arrive machine-readable, as the
:class:`~appliance.events.DirectionApplied` event carries them: ``"p +1.00 from_now"`` or a
control (``"undo"``, ``"reset"``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from typing import Any

from appliance.paths import REPO_ROOT

TABLE = REPO_ROOT / "web" / "plain.json"
LITTLE = 0.75  # |strength| below this: "a little"
MUCH = 1.5  # above this: "much"


@cache
def table() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(TABLE.read_text(encoding="utf-8"))
    return data


def _words(cls: str, strength: float, words: dict[str, Any]) -> str:
    said = str(words["classes"][cls]["+" if strength >= 0 else "-"])
    size = abs(strength)
    if size < LITTLE:
        return str(words["little"]).format(words=said)
    if size > MUCH and not said.startswith(str(words["much"]).split()[0]):
        return str(words["much"]).format(words=said)
    return said


def describe(directions: Sequence[str], bar: int, text: str = "", language: str = "en") -> str:
    """One line: what was asked (quoted), what the box does, and from where."""
    words = table().get(language) or table()["en"]
    parts: list[str] = []
    scope = "from_now"
    for item in directions:
        fields = item.split()
        if len(fields) == 1 and fields[0] in ("undo", "reset"):
            parts.append(str(words[fields[0]]).format(bar=bar))
            scope = ""
            continue
        if len(fields) != 3 or fields[0] not in words["classes"]:
            continue
        cls, strength, scope = fields[0], float(fields[1]), fields[2]
        parts.append(_words(cls, strength, words))
    line = str(words["joiner"]).join(parts)
    if scope in ("here", "from_now", "until_told"):
        line += " — " + str(words[scope]).format(bar=bar)
    said = str(words["said"]).format(text=text.strip()) if text.strip() else ""
    line = line[:1].upper() + line[1:] if not said else line
    return f"{said}: {line}" if said else line
