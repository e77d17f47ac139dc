"""A clock the test moves by hand, for the pure modules that take one (throttle, back-off,
pairing)."""


class Clock:
    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
