"""The transport's states and what happens when a piece ends (types only)."""

from __future__ import annotations

from enum import StrEnum


class Transport(StrEnum):
    PLAYING = "playing"
    PAUSING = "pausing"  # fading out; the engine's own, shown as paused
    PAUSED = "paused"
    STOPPED = "stopped"

    @property
    def shown(self) -> Transport:
        """The state as the user is told it."""
        return Transport.PAUSED if self is Transport.PAUSING else self

    @property
    def moving(self) -> bool:
        """Whether the play clock runs."""
        return self in (Transport.PLAYING, Transport.PAUSING)


class AtEnd(StrEnum):
    """What the box does when a piece has ended."""

    NEXT = "next"  # another random piece
    STOP = "stop"  # stop, back at the piece's start
