"""The room's rules, as one facilitator sets them (pure): a volume ceiling, hands off, who may
conduct, the camera and the microphone, and what is kept after the session.

Phones are known here by the hash of their pairing's token (a phone that reconnects is the same
phone). The phones' hub asks :meth:`RoomRules.refusal` before it carries out a command, and
:attr:`RoomRules.microphone` / :attr:`RoomRules.camera` before it listens or looks.
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass, field
from typing import Any

from appliance.directions.classes import Scope
from appliance.directions.encoded import encode
from appliance.directions.words import DirectionRequest

MEDIA = ("off", "held")  # off: ignored by the box; held: used while the talk button is held
KEEP = ("feedback", "everything")  # after the session: anonymous feedback only, or all of it
CALM_STRENGTH = 0.5  # gentle: half of a plain "softer"
CALM = tuple(
    encode(DirectionRequest(cls, CALM_STRENGTH, Scope.FROM_NOW))
    for cls in ("p", "adagio", "legato")
)  # soft, slow, legato: the "calm" preset, as the conductor applies directions
LOCKED_ALL = "hands off: the facilitator has paused conducting from phones for now"
LOCKED_ONE = "hands off: the facilitator has paused conducting from this phone for now"
WAITING = "waiting: the facilitator will let this phone conduct in a moment"


@dataclass
class RoomRules:
    ceiling: int = 100  # percent: the highest volume (100: none)
    locked_all: bool = False
    locked: set[str] = field(default_factory=set)  # phones (token hashes) with hands off
    approval: bool = False  # phones that join wait until the facilitator lets them conduct
    approved: set[str] = field(default_factory=set)
    microphone: str = "held"
    camera: str = "held"
    keep: str = "feedback"

    def refusal(self, phone: str) -> str | None:
        """Why a command from this phone is not carried out now (None: it is)."""
        if self.locked_all:
            return LOCKED_ALL
        if phone in self.locked:
            return LOCKED_ONE
        if self.approval and phone not in self.approved:
            return WAITING
        return None

    def waiting(self, phone: str) -> bool:
        return self.approval and phone not in self.approved

    def set(self, name: str, value: Any) -> None:
        """Change one rule from the facilitator's page; ``ValueError`` says what is wrong."""
        if name == "ceiling":
            self.ceiling = percent(value)
        elif name == "locked_all":
            self.locked_all = _flag(value)
        elif name == "approval":
            self.approval = _flag(value)
        elif name in ("microphone", "camera"):
            if value not in MEDIA:
                raise ValueError(f"{name} must be one of {', '.join(MEDIA)}")
            setattr(self, name, value)
        elif name == "keep":
            if value not in KEEP:
                raise ValueError(f"keep must be one of {', '.join(KEEP)}")
            self.keep = value
        else:
            raise ValueError(f"no room rule called {name[:40]!r}")

    def public(self) -> dict[str, Any]:
        """What every phone and the facilitator's page may know (no phone's identity)."""
        return {
            "ceiling": self.ceiling,
            "locked_all": self.locked_all,
            "approval": self.approval,
            "microphone": self.microphone,
            "camera": self.camera,
            "keep": self.keep,
        }

    def to_json(self) -> dict[str, Any]:
        """What is kept between starts of the box (the lasting rules, not who is locked)."""
        return {k: v for k, v in self.public().items() if k != "locked_all"}

    @classmethod
    def from_json(cls, data: Any) -> RoomRules:
        rules = cls()
        if isinstance(data, dict):
            for name in ("ceiling", "approval", "microphone", "camera", "keep"):
                if name in data:
                    with contextlib.suppress(ValueError):  # damaged: the default stays
                        rules.set(name, data[name])
        return rules


def describe(rules: RoomRules) -> str:
    """The room's rules in plain words, for the phones."""
    media = {"off": "off", "held": "on while the button is held"}
    parts = [
        f"microphone {media[rules.microphone]}",
        f"camera {media[rules.camera]}",
    ]
    if rules.ceiling < 100:
        parts.append(f"volume at most {rules.ceiling} %")
    if rules.locked_all:
        parts.append("hands off")
    return ", ".join(parts)


def percent(value: Any) -> int:
    """A volume from a hostile client: a finite number, held to 0–100."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("a volume is a number from 0 to 100")
    return max(0, min(round(value), 100))


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("expected true or false")
    return value
