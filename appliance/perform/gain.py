"""Gain envelopes applied to the music block by block: transport fades, ducking and the volume
(pure)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


class Ramp:
    """A gain that moves linearly to a target over a given time."""

    def __init__(self, value: float = 1.0) -> None:
        self.value = value
        self.target = value
        self.step = 0.0  # per sample

    def to(self, target: float, seconds: float, rate: int) -> None:
        self.target = target
        samples = max(seconds * rate, 1.0)
        self.step = (target - self.value) / samples

    def block(self, frames: int) -> np.ndarray:
        if self.value == self.target:
            return np.full(frames, self.value, np.float32)
        ramp = self.value + self.step * np.arange(1, frames + 1)
        ramp = np.minimum(ramp, self.target) if self.step > 0 else np.maximum(ramp, self.target)
        self.value = float(ramp[-1])
        return ramp.astype(np.float32)

    @property
    def settled(self) -> bool:
        return self.value == self.target


@dataclass
class DuckSettings:
    depth_db: float = -15.0  # how far the music goes down
    attack: float = 0.02  # seconds to get there (well within 50 ms)
    hold: float = 2.5  # seconds after the last voice activity before it comes back
    release: float = 1.5  # seconds to come back


class Ducker:
    """Lowers the music at once when asked, restores it smoothly when no one asked for a while."""

    def __init__(self, rate: int, settings: DuckSettings | None = None) -> None:
        self.rate = rate
        self.settings = settings or DuckSettings()
        self.ramp = Ramp(1.0)
        self.since = float("inf")  # seconds since the last duck request

    def duck(self) -> None:
        self.since = 0.0
        target = db_to_gain(self.settings.depth_db)
        if self.ramp.target != target:
            self.ramp.to(target, self.settings.attack, self.rate)

    def block(self, frames: int) -> np.ndarray:
        self.since += frames / self.rate
        if self.since >= self.settings.hold and self.ramp.target != 1.0:
            self.ramp.to(1.0, self.settings.release, self.rate)
        return self.ramp.block(frames)
