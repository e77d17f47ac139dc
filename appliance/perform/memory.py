"""What the playing box remembers, and the tastes it learns: the store-facing side of a session.

The engine knows nothing of the memory. The session opens it and hands it what happens:

- the command path (:mod:`appliance.perform.conductor`) says when a piece starts (who asked for
  it, its seed, the directions it starts with), what feedback came and from whom, and asks for
  the taste of the person who asked for a piece or whose taste someone asked for;
- the engine's watchers give it each :class:`~appliance.events.DirectionApplied` as it happens
  (with the source it came from: speech, face, button or text);
- the understanding desk gives it each utterance, the box's eyes each face reading, the phones'
  hub each profile (a phone's display name) and, when the settings keep raw audio, the talk.

Every write is :meth:`Store.put`, which never waits: nothing that plays waits for the memory.
Without a store (none could be opened) the box plays on and the tastes are learnt for this
session only.

Tastes (:mod:`appliance.learn.taste`): one per profile (a phone's device id) and one for the
room (everyone's feedback), loaded when the box starts and written back as they change.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from appliance.events import DirectionApplied, Event
from appliance.learn.taste import Taste, from_dict, learn, to_dict
from appliance.library.catalog import Piece
from appliance.perform.feedback import Where
from appliance.store import (
    ROOM,
    AudioClipRow,
    DirectionRow,
    FaceReadingRow,
    FeedbackRow,
    PerformanceRow,
    PieceRow,
    ProfileRow,
    Row,
    SessionRow,
    Store,
    StoreError,
    TasteRow,
    UtteranceRow,
    open_store,
)
from appliance.store.forget import same_name
from appliance.store.rows import MAX_AUDIO_BYTES, SOURCES, new_id

log = logging.getLogger(__name__)

TALK_RATE = 16_000  # raw talk is kept at the speech recogniser's rate


class FaceNumbers(Protocol):
    """What the memory keeps of a face reading (:class:`appliance.vision.features.Reading`)."""

    @property
    def scores(self) -> np.ndarray: ...
    @property
    def yaw(self) -> float: ...
    @property
    def pitch(self) -> float: ...
    @property
    def roll(self) -> float: ...


@dataclass(frozen=True)
class Whose:
    """A taste and whose it is (``name`` as people say it; ``owner``: a device id or ROOM)."""

    owner: str
    name: str
    taste: Taste


def directions_json(described: Iterable[str]) -> list[list[object]]:
    """``DirectionApplied.directions`` ("p +0.50 from_now", "undo") as JSON lists
    ([class, strength, scope], or [control])."""
    out: list[list[object]] = []
    for text in described:
        parts = text.split()
        if len(parts) == 3:
            try:
                out.append([parts[0], float(parts[1]), parts[2]])
                continue
            except ValueError:
                pass
        if parts:
            out.append([text])
    return out


def called(shown: str, said: str) -> bool:
    """Whether a display name ``shown`` is the name ``said`` (ignoring case; a Russian name
    may be said in another case: "бабушке" is "Бабушка")."""
    if same_name(shown, said):
        return True
    a, b = shown.strip().casefold(), said.strip().casefold()
    if not re.search(r"[\u0400-\u04ff]", b) or len(a) < 3:
        return False
    pairs = enumerate(zip(a, b, strict=False))
    common = next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))
    return common >= len(a) - 1 and len(b) - common <= 2 and common >= 3


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class Memory:
    def __init__(self, store: Store | None) -> None:
        self.store = store
        self.session = SessionRow()
        self._lock = threading.Lock()
        self.performance_id: str | None = None  # the performance playing now
        self._performance_clock = 0.0  # the engine's play clock when it started
        self._performance: PerformanceRow | None = None
        self._pieces: set[str] = set()  # pieces written this session
        self._names: dict[str, str] = {}  # a display name (as shown) → its phone's device id
        self._profiles: dict[str, str] = {}  # device id → display name
        self._tastes: dict[str, Taste] = {}  # owner → taste
        self._forgotten = ""  # the store's forgetting mark when the names were read
        if store is not None:
            store.live["sessions"] = self.session.id  # never pruned while it lasts
            self._forgotten = store.forgotten_at()
            self._load(store)
        self._put(self.session)  # the session starts (its end is written on closing)

    @classmethod
    def open(cls) -> tuple[Memory, tuple[str, ...]]:
        """The box's memory (:func:`open_store`), and what went wrong opening it."""
        opening = open_store()
        return cls(opening.store), opening.problems

    def _load(self, store: Store) -> bool:
        """Read the names and tastes from ``store`` and swap them in whole; False when they
        cannot be read (those held stay)."""
        try:
            profiles, tastes = store.all(ProfileRow), store.all(TasteRow)
        except StoreError as exc:
            log.warning("%s", exc)
            return False
        with self._lock:
            self._profiles = {p.device_id: p.name for p in profiles}
            self._names = {p.name: p.device_id for p in profiles if p.name}
            self._tastes = {t.owner: from_dict(t.levels) for t in tastes}
        return True

    def _recheck(self) -> None:
        """Someone was forgotten since the names and tastes were read (``appliance data
        forget`` while the box plays, or the facilitator): once what this box queued is
        written, read them again, so that nothing of the forgotten is written back. They are
        swapped in whole; if they cannot be read, the next call tries again."""
        store = self.store
        if store is None:
            return
        mark = store.forgotten_at()
        if mark == self._forgotten:
            return
        if not _in_event_loop():  # (the event loop, which streams to the phones, never waits)
            try:
                store.flush(timeout=5.0)
            except Exception as exc:  # a writer held up: read what is there
                log.warning("the memory's writer is behind: %s", exc)
        if self._load(store):
            self._forgotten = mark

    def _put(self, row: Row) -> None:
        if self.store is not None:
            self.store.put(row)

    # -- the session -----------------------------------------------------------------------------

    def close(self) -> None:
        """Write the session's end and close the store (what is queued is committed)."""
        if self.store is None:
            return
        self._put(SessionRow(self.session.id, self.session.started, time.time()))
        self.store.close()
        self.store = None

    def new_session(self) -> str:
        """End the session (its end written) and begin another; the ended one's id."""
        ended = self.session
        self._put(SessionRow(ended.id, ended.started, time.time()))
        self.session = SessionRow()
        if self.store is not None:
            self.store.live["sessions"] = self.session.id
        self._put(self.session)
        return ended.id

    def _drop(self, device_ids: Iterable[str]) -> None:
        """Forget the names and tastes of these phones here too."""
        with self._lock:
            for device in device_ids:
                name = self._profiles.pop(device, None)
                if name is not None and self._names.get(name) == device:
                    del self._names[name]
                self._tastes.pop(device, None)

    def forget_unended(self, since: float) -> tuple[str | None, list[str]]:
        """Keep nothing but anonymous feedback of the sessions since ``since`` that no
        facilitator ended (the box stopped or crashed while the room kept nothing); the caller
        waits. (What went wrong or None, the phones forgotten.)"""
        if self.store is None:
            return None, []
        try:
            report = self.store.forget_sessions_since(since, self.session.id)
        except StoreError as exc:
            return str(exc), []
        self._drop(report.devices)
        return None, list(report.devices)

    def forget_session(self, session_id: str, device_ids: list[str]) -> str | None:
        """Keep nothing of a session but anonymous feedback: its rows, and the profiles and
        tastes of ``device_ids``, are forgotten (on the store's writer; the caller waits, so
        never from the music's threads). What went wrong, or None."""
        self._drop(device_ids)
        if self.store is None:
            return None
        try:
            self.store.forget_session(session_id, device_ids)
        except StoreError as exc:
            return str(exc)
        return None

    # -- who ---------------------------------------------------------------------------------------

    def profile(self, device_id: str, name: str) -> None:
        """A phone paired or connected with its display name (written when new or renamed)."""
        if not device_id:
            return
        self._recheck()
        with self._lock:
            known = self._profiles.get(device_id)
            self._profiles[device_id] = name
            if name:
                self._names[name] = device_id
        if known != name:
            self._put(ProfileRow(device_id, name[:100]))

    def device_of(self, who: str) -> str | None:
        """The device id of the phone called ``who`` (the first of several named together), or
        None for the box itself, its console and listeners not paired."""
        first = who.split(", ")[0] if who else ""
        self._recheck()
        with self._lock:
            return self._names.get(first)

    # -- what is played --------------------------------------------------------------------------

    def piece(self, piece: Piece) -> None:
        """A piece loaded: what the memory knows of it (once a session)."""
        if piece.id in self._pieces:
            return
        self._pieces.add(piece.id)
        sha = piece.sha256 if len(piece.sha256) == 64 else ""
        self._put(PieceRow(piece.id, piece.title[:500], piece.composer[:500], sha))

    def performance(
        self,
        piece: Piece,
        seed: int,
        who: str,
        directions: list[list[object]],
        model_version: str | None,
        clock: float,
    ) -> str:
        """A performance started (the piece, its seed, the directions it starts with, the model
        playing it, who asked for it); its id, the current performance from now on."""
        self.piece(piece)
        row = PerformanceRow(
            piece.id,
            session_id=self.session.id,
            profile_id=self.device_of(who),
            seed=int(seed),
            directions=directions,
            model_version=model_version or None,
        )
        return self._begin(row, clock)

    def _begin(self, row: PerformanceRow, clock: float) -> str:
        """``row`` is the performance playing from the engine's ``clock`` on; its id."""
        with self._lock:
            self.performance_id = row.id
            self._performance_clock = clock
            self._performance = row
        if self.store is not None:
            self.store.live["performances"] = row.id
        self._put(row)
        return row.id

    def model_changed(
        self, model_version: str, directions: list[list[object]], clock: float
    ) -> str | None:
        """The model changed while a piece plays: the rest of it is another performance (same
        piece, seed and person; the directions in force; the new model), so that feedback from
        now on is the new model's and each row still tells how its notes were made. Its id, or
        None when nothing was playing."""
        self._recheck()
        with self._lock:
            last = self._performance
            known = last is not None and last.profile_id in self._profiles
        if last is None:
            return None
        row = replace(
            last,
            id=new_id(),
            session_id=self.session.id,  # (a session ended meanwhile: the new one)
            profile_id=last.profile_id if known else None,  # (not someone forgotten since)
            directions=directions,
            model_version=model_version or None,
            started=time.time(),
        )
        return self._begin(row, clock)

    def feedback(self, kind: str, who: str, where: Where, clock: float) -> None:
        """Feedback on the performance playing: its kind, who gave it, the bar as written and
        the seconds of the performance it came at."""
        with self._lock:
            performance, started = self.performance_id, self._performance_clock
        self._put(
            FeedbackRow(
                kind[:40],
                performance_id=performance,
                profile_id=self.device_of(who),
                bar=int(where.bar),
                seconds=max(0.0, float(clock - started)),
            )
        )

    def observe(self, event: Event) -> None:
        """The engine's watcher: each direction applied with a source (speech, face, button,
        text) becomes a row; the box's own (a taste when a piece starts) are the performance's.
        Cheap for every other event: it may be called on the audio side."""
        if not isinstance(event, DirectionApplied) or event.source not in SOURCES:
            return
        self._put(
            DirectionRow(
                event.text[:2000],
                event.source,
                directions_json(event.directions),
                performance_id=self.performance_id,
                profile_id=self.device_of(event.who),
                bar=int(event.from_bar),
            )
        )

    # -- what people say and show ------------------------------------------------------------------

    def utterance(
        self,
        text: str,
        language: str,
        intents: Sequence[object],
        who: str,
        embedding: np.ndarray | None = None,
    ) -> str:
        """Something said or typed (and understood as ``intents``); the utterance's id."""
        row = UtteranceRow(
            text[:2000],
            language[:16],
            list(intents),
            embedding,
            session_id=self.session.id,
            profile_id=self.device_of(who),
        )
        self._put(row)
        return row.id

    def face(self, who: str, scores: np.ndarray, yaw: float, pitch: float, roll: float) -> None:
        """One analysed face (numbers only)."""
        self._put(
            FaceReadingRow(
                scores,
                yaw=float(yaw),
                pitch=float(pitch),
                roll=float(roll),
                performance_id=self.performance_id,
                profile_id=self.device_of(who),
            )
        )

    def face_reading(self, who: str, reading: FaceNumbers) -> None:
        """:meth:`face` for a reading of the box's eyes."""
        self.face(who, reading.scores, reading.yaw, reading.pitch, reading.roll)

    @property
    def keeps_audio(self) -> bool:
        """Whether raw talk is kept (the store's settings; off by default)."""
        return self.store is not None and self.store.settings.keep_audio

    def talk(self, who: str, samples: np.ndarray, rate: int) -> None:
        """A phone's talk (int16 mono at ``rate``), kept at 16 kHz when the settings ask (made
        on a thread of its own: the caller, the event loop, never waits for it)."""
        if self.keeps_audio and len(samples):
            threading.Thread(
                target=self._keep_talk, args=(self.device_of(who), samples, rate), daemon=True
            ).start()

    def _keep_talk(self, device: str | None, samples: np.ndarray, rate: int) -> None:
        from appliance.speech.downsample import Downsampler

        pcm = Downsampler(rate)(np.asarray(samples, np.int16))
        clip = (np.clip(pcm, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()[:MAX_AUDIO_BYTES]
        self._put(AudioClipRow(clip, TALK_RATE, profile_id=device))

    # -- tastes ------------------------------------------------------------------------------------

    def learn(
        self,
        kind: str,
        who: str,
        in_force: Iterable[tuple[str, float]],
        playing: Sequence[float] | None = None,
    ) -> None:
        """Feedback moves the taste of the person who gave it and the room's (``playing``: the
        style playing as a latent vector, for 👍 / 👎)."""
        in_force = tuple(in_force)
        owners = [ROOM]
        device = self.device_of(who)
        if device is not None:
            owners.insert(0, device)
        changed = []
        with self._lock:
            for owner in owners:
                before = self._tastes.get(owner, Taste())
                after = learn(before, kind, in_force, playing)
                if after != before:
                    self._tastes[owner] = after
                    changed.append((owner, after))
        for owner, taste in changed:
            self._put(TasteRow(owner, to_dict(taste)))

    def taste_of(self, who: str) -> Whose | None:
        """The taste of the person called ``who``, when they have one."""
        device = self.device_of(who)
        with self._lock:
            taste = self._tastes.get(device) if device is not None else None
        if taste is None or taste.neutral:
            return None
        return Whose(device or "", who.split(", ")[0], taste)

    def room_taste(self) -> Whose | None:
        self._recheck()
        with self._lock:
            taste = self._tastes.get(ROOM)
        if taste is None or taste.neutral:
            return None
        return Whose(ROOM, "the room", taste)

    def taste_for_piece(self, who: str) -> Whose | None:
        """The taste a piece someone asked for starts with: theirs, else the room's."""
        return self.taste_of(who) or self.room_taste()

    def knows(self, name: str) -> bool:
        """Whether a phone has chosen the display name ``name`` (ignoring case)."""
        self._recheck()
        with self._lock:
            return any(called(shown, name) for shown in self._names)

    def taste_named(self, name: str) -> Whose | None:
        """The taste of the person whose display name is ``name`` (ignoring case; of several
        phones with that name, the taste learnt from most feedback)."""
        self._recheck()
        with self._lock:
            found = [
                (self._tastes[device], shown, device)
                for shown, device in self._names.items()
                if called(shown, name) and device in self._tastes
            ]
        found = [f for f in found if not f[0].neutral]
        if not found:
            return None
        taste, shown, device = max(found, key=lambda f: f[0].feedback)
        return Whose(device, shown, taste)
