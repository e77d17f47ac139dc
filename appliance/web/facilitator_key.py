"""The facilitator's PIN and the facilitator's session tokens.

The PIN is set on the box (``appliance facilitator pin``) and kept only as a salted PBKDF2
hash in ``$APPLIANCE_DATA/web/facilitator.json`` (readable by the box alone), like the phones'
pairings. The facilitator's page unlocks with it and gets a token of its own (192 random bits,
kept in memory as a SHA-256 hash, good for :data:`TOKEN_LIFETIME`), never a phone's pairing:
a participant's token is no facilitator's. Guesses are held to the limits of
:mod:`appliance.web.ratelimit` by the server.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from appliance.errors import ApplianceError
from appliance.paths import data_dir, write_atomically
from appliance.web.phones import token_hash

PIN_DIGITS = 8  # a new PIN's length
MIN_DIGITS = 6
ITERATIONS = 200_000
TOKEN_LIFETIME = 12 * 3600.0  # seconds: a working day; then the PIN again
MAX_TOKENS = 16  # facilitator pages unlocked at once (the oldest goes first)


def key_file() -> Path:
    return data_dir() / "web" / "facilitator.json"


def _derive(pin: str, salt: bytes) -> str:
    return hashlib.pbkdf2_hmac("sha256", pin.encode(), salt, ITERATIONS).hex()


def set_pin(pin: str | None = None, path: Path | None = None) -> str:
    """Set the facilitator's PIN (a new random one for None); returns it."""
    if pin is None:
        pin = "".join(secrets.choice("0123456789") for _ in range(PIN_DIGITS))
    pin = pin.strip()
    if not (pin.isascii() and pin.isdigit() and MIN_DIGITS <= len(pin) <= 32):
        raise ApplianceError(f"a facilitator PIN is {MIN_DIGITS} to 32 digits")
    salt = secrets.token_bytes(16)
    data = {"salt": salt.hex(), "hash": _derive(pin, salt), "iterations": ITERATIONS}
    path = path or key_file()
    path.parent.mkdir(parents=True, exist_ok=True)  # (a box that never served a phone yet)
    write_atomically(path, json.dumps(data).encode(), mode=0o600)
    return pin


class FacilitatorKey:
    def __init__(self, path: Path | None = None, clock: Callable[[], float] = time.monotonic):
        self.path = path or key_file()
        self.clock = clock
        self.tokens: dict[str, float] = {}  # token hash → when it stops working
        self._salt: bytes | None = None  # the PIN's salt they were issued under

    @property
    def is_set(self) -> bool:
        return self._stored() is not None

    def _stored(self) -> tuple[bytes, str] | None:
        try:
            data = json.loads(self.path.read_bytes())
            return bytes.fromhex(str(data["salt"])), str(data["hash"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def check(self, pin: str) -> bool:
        """Whether ``pin`` is the facilitator's PIN (read afresh: it may change on the box)."""
        return self.verified(pin) is not None

    def verified(self, pin: str) -> bytes | None:
        """The salt of the PIN ``pin`` was found to be (to :meth:`issue` a token under), or
        None when it is not the facilitator's PIN."""
        stored = self._stored()
        if stored is None or not isinstance(pin, str) or len(pin) > 64:
            return None
        salt, wanted = stored
        return salt if secrets.compare_digest(_derive(pin.strip(), salt), wanted) else None

    def issue(self, salt: bytes | None = None) -> str:
        """A new facilitator token, bound to the PIN whose ``salt`` was checked (default: the
        PIN set now)."""
        now = self.clock()
        if salt is None:
            stored = self._stored()
            salt = stored[0] if stored is not None else None
        if salt != self._salt:  # a new PIN: the tokens of the old one are gone
            self.tokens, self._salt = {}, salt
        self.tokens = {h: t for h, t in self.tokens.items() if t > now}
        while len(self.tokens) >= MAX_TOKENS:
            del self.tokens[min(self.tokens, key=self.tokens.__getitem__)]
        token = secrets.token_urlsafe(24)
        self.tokens[token_hash(token)] = now + TOKEN_LIFETIME
        return token

    def valid(self, token: str | None) -> bool:
        if not token or len(token) > 200:
            return False
        stored = self._stored()  # a new PIN set on the box ends every facilitator's unlock
        if stored is None or stored[0] != self._salt:
            return False
        until = self.tokens.get(token_hash(token))
        return until is not None and until > self.clock()

    def revoke_all(self) -> None:
        self.tokens.clear()
