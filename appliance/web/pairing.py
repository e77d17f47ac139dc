"""Who may control the box: a short PIN shown on the box, a one-time link, session tokens.

A phone that shows the PIN (or opens the one-time link from the QR code) gets a session token;
with it, its commands are obeyed. Everyone else may listen. The PIN and the link are shown only
on the box's own screen, or to a paired phone that invites someone. They are replaced together:
after a use, after :data:`PIN_LIFETIME` and after :data:`MAX_FAILURES` wrong PINs; a link
never outlives its PIN. Tokens are kept as hashes in :class:`~appliance.web.phones.PhoneBook`,
last :data:`~appliance.web.phones.TOKEN_LIFETIME` after their last use, and can be revoked
(``appliance phones forget``). Pure logic apart from that file.

How likely is a guessed PIN? The server holds PIN guesses to the limits of
:mod:`appliance.web.ratelimit` (per client: 5 free wrong tries, then waits of 1, 2, 4 … s up
to 10 min, one try forgiven per 10 min; everyone together: 20 wrong tries at once, then one per
5 minutes). A 6-digit PIN is one of 10^6; each guess hits with a chance of at most 1 in
(10^6 - tries). With any number of addresses, at most 20 + T/300 guesses are checked in T
seconds, so (figures from :func:`appliance.web.ratelimit.most_tries`, checked by the tests):

- a PIN's life (10 min): 15 tries from one address, 22 from many; chance ≤ 0.0022 % (1 in 45,000)
- a day: 159 tries from one address, 308 from many; chance ≤ 0.031 % (1 in 3,200)
- a month (30 days): 4,335 tries from one address, 8,660 from many; chance ≤ 0.87 % (1 in 115)

A month-long attack also keeps the PIN unusable for others (the shared bucket is empty), which
the box logs; the QR code's link (128 random bits) is not held to the shared bucket.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from appliance.web.phones import Phone, PhoneBook

PIN_DIGITS = 6
PIN_LIFETIME = 600.0  # seconds; a new PIN after that (or after a use)
MAX_FAILURES = 10  # wrong PINs in a row before a PIN is replaced


@dataclass
class Pairing:
    path: Path | None = None
    pin: str = ""
    pin_made: float = 0.0
    failures: int = 0
    link: str = ""  # the one-time link code in force (replaced with the PIN and after a use)
    # called with the new PIN whenever it changes (after a use, expiry or too many failures),
    # so that every place that shows it can show the current one
    on_new_pin: Callable[[str], None] | None = None
    phones: PhoneBook = field(init=False)

    def __post_init__(self) -> None:
        self.phones = PhoneBook(self.path)
        self.new_pin()

    @property
    def problem(self) -> str | None:
        """What went wrong reading the paired phones (a damaged file), for the console."""
        return self.phones.problem

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
            return self.phones.add(device)
        self.failures += 1
        if self.failures >= MAX_FAILURES:
            self.new_pin()
        return None

    def pair_with_link(self, code: str, device: str = "phone") -> str | None:
        if _same(code, self.current_link()):
            self.new_pin()
            return self.phones.add(device)
        return None

    def device_of(self, token: str | None) -> str | None:
        """The paired device's name for a valid token (its last use noted), else None."""
        phone = self.phone_of(token)
        return None if phone is None else phone.name

    def phone_of(self, token: str | None) -> Phone | None:
        """The paired phone (its id and display name) for a valid token, else None."""
        return self.phones.find(token)

    def still_valid(self, token_hash: str) -> bool:
        """Whether the pairing whose token has this hash (:func:`~appliance.web.phones.token_hash`)
        still holds: False once it is forgotten (even by another process) or expired. Cheap (a
        ``stat`` of the file); for a connection to check before obeying a command."""
        return self.phones.valid(token_hash) is not None

    def refresh(self) -> bool:
        """Re-read the paired phones if the file changed on disk."""
        return self.phones.refresh()


def _same(a: str, b: str) -> bool:
    """Constant-time comparison of any two strings (non-ASCII ones included)."""
    return secrets.compare_digest(
        a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass")
    )
