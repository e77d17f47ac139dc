"""Who may control the box: a short PIN shown on the box, one-time links, session tokens.

A phone that shows the PIN (or opens a one-time link from the QR code) gets a session token;
with it, its commands are obeyed. Everyone else may listen. Pure logic; the server keeps one
``Pairing`` and persists its tokens in the data folder so that paired phones stay paired.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PIN_DIGITS = 6
PIN_LIFETIME = 600.0  # seconds; a new PIN after that (or after a use)
MAX_FAILURES = 10  # wrong PINs in a row before a PIN is replaced


@dataclass
class Pairing:
    path: Path | None = None
    pin: str = ""
    pin_made: float = 0.0
    failures: int = 0
    tokens: dict[str, str] = field(default_factory=dict)  # token → device name
    link: str = ""  # the one-time link code in force (replaced with the PIN and after a use)
    # called with the new PIN whenever it changes (after a use, expiry or too many failures),
    # so that every place that shows it can show the current one
    on_new_pin: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        if self.path is not None and self.path.exists():
            try:
                self.tokens = dict(json.loads(self.path.read_text())["tokens"])
            except (OSError, ValueError, KeyError, TypeError):
                self.tokens = {}
        self.new_pin()

    def new_pin(self) -> str:
        """A new PIN (and a new one-time link with it)."""
        self.pin = "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS))
        self.pin_made = time.monotonic()
        self.failures = 0
        self.link = secrets.token_urlsafe(16)
        if self.on_new_pin is not None:
            self.on_new_pin(self.pin)
        return self.pin

    def current_pin(self) -> str:
        if time.monotonic() - self.pin_made > PIN_LIFETIME:
            self.new_pin()
        return self.pin

    def current_link(self) -> str:
        """The one-time pairing link code in force: it lasts as long as the PIN and is replaced
        with it (after a use, expiry or too many failures)."""
        self.current_pin()
        return self.link

    def pin_expires_in(self) -> float:
        return max(0.0, PIN_LIFETIME - (time.monotonic() - self.pin_made))

    def pair_with_pin(self, pin: str, device: str = "phone") -> str | None:
        """A session token for the right PIN (the PIN is then replaced), else None."""
        if _same(pin.strip(), self.current_pin()):
            self.new_pin()
            return self._issue(device)
        self.failures += 1
        if self.failures >= MAX_FAILURES:
            self.new_pin()
        return None

    def pair_with_link(self, code: str, device: str = "phone") -> str | None:
        if _same(code, self.current_link()):
            self.new_pin()
            return self._issue(device)
        return None

    def device_of(self, token: str | None) -> str | None:
        """The paired device's name for a valid token, else None."""
        if not token:
            return None
        for known, device in self.tokens.items():
            if _same(known, token):
                return device
        return None

    def _issue(self, device: str) -> str:
        token = secrets.token_urlsafe(24)
        self.tokens[token] = device[:40] or "phone"
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"tokens": self.tokens}))
            tmp.chmod(0o600)
            tmp.replace(self.path)
        return token


def _same(a: str, b: str) -> bool:
    """Constant-time comparison of any two strings (non-ASCII ones included)."""
    return secrets.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )
