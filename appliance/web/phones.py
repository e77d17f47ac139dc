"""The paired phones: who they are, when they paired and were last seen, when their pairing ends.

Only a SHA-256 hash of each session token is kept (the token itself lives on the phone). A
pairing lasts :data:`TOKEN_LIFETIME` after its last use. The file (``paired.json``) is shared
by the running box and the ``appliance phones`` command: every change is a locked
read-modify-write, and readers re-read it when it changes on disk (by mtime, size, inode), so
a phone forgotten on the command line is forgotten by the running box too.

A damaged file does not unpair everyone: each save also writes ``paired.json.bak``; on a
damaged file the backup is used, the damaged file is kept aside and :attr:`PhoneBook.problem`
says what happened (also logged as a warning). The old format (``{"tokens": {token: name}}``,
plain tokens) is migrated to hashes on first read.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from appliance.paths import write_atomically

log = logging.getLogger(__name__)
TOKEN_LIFETIME = 180 * 24 * 3600.0  # seconds after the last use
SEEN_EVERY = 60.0  # seconds: "last seen" is written at most this often per phone
FORMAT = 2


def token_hash(token: str) -> str:
    """What the box keeps of a session token (any string, non-ASCII included)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class Phone:
    id: str  # short, random, for the command line
    name: str
    hash: str  # sha256 of the token, hex
    paired: float  # wall-clock seconds
    last_seen: float | None
    expires: float

    @classmethod
    def from_json(cls, data: Any) -> Phone:
        if not isinstance(data, dict):
            raise ValueError("a phone must be an object")
        phone = cls(
            id=str(data["id"]),
            name=str(data["name"]),
            hash=str(data["hash"]),
            paired=float(data["paired"]),
            last_seen=None if data.get("last_seen") is None else float(data["last_seen"]),
            expires=float(data["expires"]),
        )
        if len(phone.hash) != 64 or not phone.id:
            raise ValueError("a phone's hash or id is malformed")
        return phone


class PhoneBook:
    def __init__(self, path: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self.phones: dict[str, Phone] = {}  # hash → phone
        self.problem: str | None = None  # what went wrong reading the file, for the console
        self._seen: tuple[int, int, int] | None = None  # the file's stamp when last read
        self.refresh()

    # -- questions ---------------------------------------------------------------------------

    def find(self, token: str | None) -> Phone | None:
        """The paired phone a token belongs to (not expired), its last use noted; else None."""
        if not token:
            return None
        key = token_hash(token)
        phone = self.valid(key)
        if phone is None:
            return None
        now = self.clock()
        if phone.last_seen is None or now - phone.last_seen >= SEEN_EVERY:
            self._change(lambda phones: _touch(phones, key, now))
        return self.phones.get(key)

    def valid(self, key: str) -> Phone | None:
        """The phone with this token hash if its pairing still holds (re-reads the file if it
        changed: a phone forgotten on the command line is not valid any more)."""
        self.refresh()
        phone = self.phones.get(key)
        if phone is None or phone.expires <= self.clock():
            return None
        return phone

    def listing(self) -> list[Phone]:
        self.refresh()
        now = self.clock()
        return sorted((p for p in self.phones.values() if p.expires > now), key=lambda p: p.paired)

    # -- changes -----------------------------------------------------------------------------

    def add(self, name: str) -> str:
        """Pair a new phone: returns its session token (only its hash is kept)."""
        token = secrets.token_urlsafe(24)
        now = self.clock()
        phone = Phone(
            id=secrets.token_hex(3),
            name=name[:40] or "phone",
            hash=token_hash(token),
            paired=now,
            last_seen=now,
            expires=now + TOKEN_LIFETIME,
        )
        self._change(lambda phones: phones.__setitem__(phone.hash, phone))
        return token

    def forget(self, who: str | None) -> list[Phone]:
        """Forget the phones named ``who`` (a name or an id), or every phone for None."""
        gone: list[Phone] = []

        def drop(phones: dict[str, Phone]) -> None:
            for key, phone in list(phones.items()):
                if who is None or who in (phone.id, phone.name):
                    gone.append(phones.pop(key))

        self._change(drop)
        return gone

    # -- the file ----------------------------------------------------------------------------

    def refresh(self) -> bool:
        """Re-read the file if it changed on disk since it was last read; True if it did."""
        stamp = self._stamp()
        if stamp == self._seen:
            return False
        with self._lock():
            self._load()
        return True

    def _stamp(self) -> tuple[int, int, int] | None:
        if self.path is None:
            return None
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _change(self, edit: Callable[[dict[str, Phone]], None]) -> None:
        with self._lock():
            if self._stamp() != self._seen:
                self._load()  # another process changed it: edit the latest
            edit(self.phones)
            now = self.clock()
            self.phones = {k: p for k, p in self.phones.items() if p.expires > now}
            self._save()

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        if self.path is None:
            yield
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _load(self) -> None:
        """Read the file (holding the lock); on damage fall back to the backup."""
        if self.path is None or not self.path.exists():
            self.phones, self._seen = {}, None
            return
        try:
            self.phones, migrated = _parse(self.path.read_bytes(), self.clock())
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self._recover(f"{type(exc).__name__}: {exc}")
            return
        self._seen = self._stamp()
        if migrated:
            log.info("%s: tokens now kept as hashes", self.path)
            self._save()

    def _recover(self, why: str) -> None:
        assert self.path is not None
        damaged = self.path.with_name(f"{self.path.name}.damaged-{int(self.clock())}")
        os.replace(self.path, damaged)
        backup = _backup_of(self.path)
        try:
            self.phones, _ = _parse(backup.read_bytes(), self.clock())
            self.problem = (
                f"the list of paired phones ({self.path}) was damaged ({why}); "
                f"restored {len(self.phones)} phone(s) from its backup; "
                f"the damaged file is kept as {damaged.name}"
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.phones = {}
            self.problem = (
                f"the list of paired phones ({self.path}) was damaged ({why}) and so is its "
                f"backup ({type(exc).__name__}); every phone must pair again; "
                f"the damaged file is kept as {damaged.name}"
            )
        log.warning("%s", self.problem)
        self._save()

    def _save(self) -> None:
        if self.path is None:
            return
        data = json.dumps(
            {"format": FORMAT, "phones": [asdict(p) for p in self.phones.values()]}, indent=1
        ).encode()
        try:
            for target in (self.path, _backup_of(self.path)):
                write_atomically(target, data, mode=0o600)  # tokens' hashes: the box's only
        except OSError as exc:  # a full disk: the phones stay paired while the box runs
            self.problem = (
                f"the list of paired phones could not be saved ({exc.strerror or exc}): "
                "they stay paired until the box restarts; free some disk space"
            )
            log.warning("%s", self.problem)
        self._seen = self._stamp()


def _touch(phones: dict[str, Phone], key: str, now: float) -> None:
    phone = phones.get(key)
    if phone is not None:
        phone.last_seen = now
        phone.expires = now + TOKEN_LIFETIME


def _parse(raw: bytes, now: float) -> tuple[dict[str, Phone], bool]:
    """Phones from the file's bytes; True if they came in the old format (plain tokens)."""
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    if "phones" in data:
        phones = [Phone.from_json(item) for item in data["phones"]]
        return {p.hash: p for p in phones}, False
    old = data["tokens"]
    if not isinstance(old, dict):
        raise ValueError("tokens must be an object")
    migrated = [
        Phone(secrets.token_hex(3), str(name)[:40], token_hash(str(token)), now, None,
              now + TOKEN_LIFETIME)
        for token, name in old.items()
    ]  # fmt: skip
    return {p.hash: p for p in migrated}, True


def _backup_of(path: Path) -> Path:
    return path.with_name(path.name + ".bak")
