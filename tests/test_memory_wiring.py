"""The playing box and its memory: performances, feedback, directions (with their source),
utterances, profiles and face readings are remembered; tastes are learnt at once and played;
the box plays on without a memory. A real box (library, neural renderer, engine, command path,
the understanding desk), its data folder in a temporary directory."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from aiortc import RTCPeerConnection

from appliance.box import Box
from appliance.directions.classes import Scope
from appliance.directions.words import DirectionRequest, ParsedDirections
from appliance.events import (
    DirectionApplied,
    Event,
    Feedback,
    Notice,
    Play,
    Reply,
    SelectPiece,
    Stop,
    to_json,
)
from appliance.learn.taste import directions_of
from appliance.perform.memory import Memory
from appliance.perform.session import PlayOptions, Session
from appliance.store import (
    ROOM,
    AudioClipRow,
    DirectionRow,
    FaceReadingRow,
    FeedbackRow,
    PerformanceRow,
    PieceRow,
    ProfileRow,
    SessionRow,
    Store,
    StoreSettings,
    TasteRow,
    UtteranceRow,
)
from appliance.store.connection import connect
from appliance.vision.features import Reading
from appliance.web.hub import Hub, Peer
from appliance.web.pairing import Pairing
from tests.rigs import Recorder
from tests.test_hub_receive import FakeChannel, FakeConnection

CONSOLE = "console"


def options(folder: Path, piece: str = "bach-bwv846", seed: int = 7) -> PlayOptions:
    return PlayOptions(
        piece=piece,
        seed=seed,
        speaker=False,
        library=folder / "library",
        preload=False,
        nice=None,
        speech=False,
        llm=False,
        vision=False,
    )


class Phones:
    """Phones of the box's hub (its connections stand-ins, as in test_hub_receive)."""

    def __init__(self, box: Box, folder: Path) -> None:
        session = box.session
        self.pairing = Pairing(folder / "paired.json")
        self.hub = Hub(
            session.conductor.submit,
            box.bus,
            session.engine.snapshot,
            cast(Any, None),
            self.pairing,
            on_profile=session.memory.profile,
            keep_talk=session.memory.talk if session.memory.keeps_audio else None,
        )

    def pair(self, name: str) -> tuple[Peer, FakeChannel, str]:
        """A listening phone that pairs (with the PIN) as ``name``; its device id."""
        peer = Peer(cast(RTCPeerConnection, FakeConnection()), f"listener {name}", paired=False)
        self.hub._wire(peer)
        channel = FakeChannel()
        cast(FakeConnection, peer.pc).handlers["datachannel"](channel)
        token = self.pairing.pair_with_pin(self.pairing.current_pin(), name)
        assert token is not None
        assert channel.message(to_json(_authenticate(token))) == [Notice(name, kind="paired")]
        phone = self.pairing.phone_of(token)
        assert phone is not None
        return peer, channel, phone.id


def _authenticate(token: str) -> Event:
    from appliance.events import Authenticate

    return Authenticate(token)


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    folder = tmp_path_factory.mktemp("memory-box")
    before = os.environ.get("APPLIANCE_DATA")
    os.environ["APPLIANCE_DATA"] = str(folder)
    the_box = Box(options(folder), Recorder())
    try:
        asyncio.run(the_box.open())
        the_box.session.start()
        the_box.folder = folder  # type: ignore[attr-defined]
        yield the_box
    finally:
        asyncio.run(the_box.close())
        if before is None:
            os.environ.pop("APPLIANCE_DATA", None)
        else:
            os.environ["APPLIANCE_DATA"] = before


@pytest.fixture(scope="module")
def phones(box: Box, tmp_path_factory: pytest.TempPathFactory) -> Phones:
    return Phones(box, tmp_path_factory.mktemp("phones"))


def store_of(box: Box) -> Store:
    store = box.session.memory.store
    assert store is not None, box.session.problems
    store.flush()
    return store


def idle(box: Box) -> None:
    ears = box.ears
    if ears is not None:
        assert ears.wait_idle(60)
    assert box.session.conductor.wait_idle(60)


def events(box: Box) -> list[Event]:
    return cast(Recorder, box.bus).events


def test_a_performance_per_piece_with_its_model_version_and_seed(box: Box) -> None:
    session = box.session
    store = store_of(box)
    first = store.all(PerformanceRow)
    assert [p.piece_id for p in first] == ["bach-bwv846"]
    version = getattr(session.engine.renderer, "version", None) or None
    assert first[0].seed == 7 and first[0].model_version == version
    assert first[0].session_id == session.memory.session.id and first[0].profile_id is None
    assert store.get(SessionRow, session.memory.session.id) is not None
    piece = store.get(PieceRow, "bach-bwv846")
    assert (
        piece is not None
        and piece.title
        and piece.source_sha256 == (session.library.pieces["bach-bwv846"].sha256)
    )

    assert session.conductor.submit(SelectPiece("maple leaf rag"), CONSOLE) is None
    idle(box)
    store = store_of(box)
    played = store.all(PerformanceRow)
    assert [p.piece_id for p in played][-1] == "joplin-maple-leaf-rag"
    assert played[-1].seed == session.engine.where().seed
    assert played[-1].id == session.memory.performance_id
    assert store.get(PieceRow, "joplin-maple-leaf-rag") is not None


def test_a_model_switched_mid_piece_starts_another_performance(box: Box) -> None:
    """What the model watcher tells when a new version plays on from the next notes: the rest
    of the piece is a performance of that version (same piece, seed and person), and the
    feedback from then on is its feedback."""
    session = box.session
    watch = session.model_watch
    assert watch is not None and watch.on_switch is not None
    before = session.memory.performance_id
    store = store_of(box)
    old = store.get(PerformanceRow, before or "")
    assert old is not None
    watch.on_switch("2026-12-06-test")
    now = session.memory.performance_id
    assert now is not None and now != before
    session.memory.feedback("like", "", session.engine.where(), session.engine.clock)
    store = store_of(box)
    new = store.get(PerformanceRow, now)
    assert new is not None and new.model_version == "2026-12-06-test"
    assert (new.piece_id, new.seed, new.session_id) == (old.piece_id, old.seed, old.session_id)
    assert new.started >= old.started
    liked = [f for f in store.all(FeedbackRow) if f.kind == "like"]
    assert liked and liked[-1].performance_id == now and liked[-1].seconds < 5.0


def test_feedback_rows_name_the_performance_and_bar(box: Box, phones: Phones) -> None:
    session = box.session
    _, channel, device = phones.pair("Aunt Mary")
    time.sleep(0.5)  # a little music
    assert channel.message(to_json(Feedback("too_loud"))) == []
    idle(box)
    store = store_of(box)
    feedback = [f for f in store.all(FeedbackRow) if f.profile_id == device]
    assert [f.kind for f in feedback] == ["too_loud"]
    assert feedback[0].performance_id == session.memory.performance_id
    where = session.engine.where()
    assert 1 <= feedback[0].bar <= where.bar and feedback[0].seconds >= 0.0
    # the gentle direction it made came from a button
    rows = [d for d in store.all(DirectionRow) if d.profile_id == device]
    assert rows and rows[-1].source == "button" and rows[-1].directions[0][0] == "p"
    assert not list(Path(box.folder).rglob("*.jsonl"))  # type: ignore[attr-defined]


def test_a_phone_that_pairs_has_a_profile(box: Box, phones: Phones) -> None:
    _, _, device = phones.pair("Uncle Bob")
    profile = store_of(box).get(ProfileRow, device)
    assert profile is not None and profile.name == "Uncle Bob"


def test_typed_words_are_an_utterance_and_a_direction_from_text(box: Box) -> None:
    ears = box.ears
    assert ears is not None
    told: list[Event] = []
    assert ears.desk.submit("a bit softer please", "en", CONSOLE, None, told.append) is None
    idle(box)
    store = store_of(box)
    said = [u for u in store.all(UtteranceRow) if u.text == "a bit softer please"]
    assert len(said) == 1 and said[0].language == "en"
    assert said[0].intents[0]["kind"] == "direct"
    assert said[0].session_id == box.session.memory.session.id
    applied = [d for d in store.all(DirectionRow) if d.text == "a bit softer please"]
    assert len(applied) == 1 and applied[0].source == "text"
    assert applied[0].performance_id == box.session.memory.performance_id


def test_an_utterance_keeps_its_sentence_embedding_once_the_model_is_in(box: Box) -> None:
    ears = box.ears
    assert ears is not None
    reader = box.session.engine.interpreter.describer  # loads the sentence model (once)
    told: list[Event] = []
    assert ears.desk.submit("gently, like a lullaby", "en", CONSOLE, None, told.append) is None
    idle(box)
    said = [u for u in store_of(box).all(UtteranceRow) if u.text == "gently, like a lullaby"]
    assert len(said) == 1 and said[0].embedding is not None
    expected = reader.embedder.embed("gently, like a lullaby")
    assert said[0].embedding.shape == expected.shape
    assert np.allclose(said[0].embedding, expected, atol=1e-5)


def test_spoken_words_are_a_direction_from_speech(box: Box) -> None:
    ears = box.ears
    assert ears is not None
    ears.desk.submit("a little faster", "en", CONSOLE, None, lambda e: None, via="speech")
    idle(box)
    applied = [d for d in store_of(box).all(DirectionRow) if d.text == "a little faster"]
    assert len(applied) == 1 and applied[0].source == "speech"


def test_face_readings_are_kept_as_numbers(box: Box, phones: Phones) -> None:
    _, _, device = phones.pair("Face")
    scores = np.linspace(0.0, 1.0, 52, dtype=np.float32)
    box.session.memory.face_reading("Face", Reading(1.0, scores, 12.5, -3.0, 1.5, 0.2))
    rows = [r for r in store_of(box).all(FaceReadingRow) if r.profile_id == device]
    assert len(rows) == 1 and rows[0].yaw == 12.5 and rows[0].pitch == -3.0
    assert np.array_equal(rows[0].blendshapes, scores)
    assert rows[0].performance_id == box.session.memory.performance_id


def test_a_face_direction_is_remembered_as_the_faces(box: Box) -> None:
    from functools import partial

    act = partial(box.session.conductor.submit, via="face")
    from appliance.events import Direct

    act(Direct("smiling", "", ("legato +1.00 from_now",)), "Face", "phone-face")
    idle(box)
    rows = [d for d in store_of(box).all(DirectionRow) if d.text == "smiling"]
    assert len(rows) == 1 and rows[0].source == "face"


def test_no_talk_is_kept_unless_asked(box: Box, tmp_path: Path) -> None:
    assert box.session.memory.keeps_audio is False
    assert not list(Path(box.folder).rglob("*.wav"))  # type: ignore[attr-defined]
    with Store.open(tmp_path / "store.sqlite3", StoreSettings(keep_audio=True)) as store:
        memory = Memory(store)
        memory.talk("", np.zeros(48_000, np.int16), 48_000)
        deadline = time.monotonic() + 10
        while not store.all(AudioClipRow) and time.monotonic() < deadline:
            time.sleep(0.05)
            store.flush()
        clips = store.all(AudioClipRow)
        assert len(clips) == 1 and clips[0].sample_rate == 16_000
        assert len(clips[0].samples) == 2 * 16_000
    assert not list(tmp_path.rglob("*.wav"))


def _mean_beat(box: Box, notes: int = 120) -> float:
    """The mean log beat period of the current performance's first notes (higher: slower)."""
    engine = box.session.engine
    with engine._render_lock:
        current = engine.current
        assert current is not None
        current.stream.render_to(min(notes, len(current.score.notes)))
        return float(np.mean(current.stream.expression["log_bp"][8:notes]))


def test_a_taste_learnt_from_feedback_starts_the_next_piece_slower(
    box: Box, phones: Phones
) -> None:
    session = box.session
    conductor, library = session.conductor, session.library
    _, channel, device = phones.pair("Grandma")
    piece = library.pieces["bach-bwv846"]
    assert conductor.submit(Stop(), CONSOLE) is None  # directions then hold from the first note
    idle(box)
    conductor.start_piece(piece, "", seed=11, play=False)  # (the room's taste so far)
    without = _mean_beat(box)
    for _ in range(3):
        assert channel.message(to_json(Feedback("too_fast"))) == []
    idle(box)
    taste = store_of(box).get(TasteRow, device)
    assert taste is not None and taste.levels["tempo"] == -3.0
    assert store_of(box).get(TasteRow, ROOM) is not None

    conductor.start_piece(piece, "Grandma", seed=11, play=False)
    assert any(
        isinstance(e, Notice) and e.message == "playing it the way Grandma likes it"
        for e in events(box)
    )
    assert _mean_beat(box) > without + 0.02  # slower: a longer beat
    last = store_of(box).all(PerformanceRow)[-1]
    assert last.profile_id == device and last.seed == 11
    assert last.directions and last.directions[0][0] == "allegro" and last.directions[0][1] < 0
    assert conductor.submit(Play(), CONSOLE) is None
    idle(box)


def test_the_way_grandma_likes_it_plays_her_taste(box: Box, phones: Phones) -> None:
    ears = box.ears
    assert ears is not None
    test_taste = box.session.memory.taste_named("grandma")
    assert test_taste is not None  # learnt by the test before
    told: list[Event] = []
    ears.desk.submit("play it the way Grandma likes it", "en", CONSOLE, None, told.append)
    idle(box)
    applied = [
        e
        for e in events(box)
        if isinstance(e, DirectionApplied) and e.text == "the way Grandma likes it"
    ]
    assert applied and applied[-1].source == "text"
    expected = directions_of(test_taste.taste)
    assert applied[-1].directions[0].startswith(f"{expected[0][0]} {expected[0][1]:+.2f}")
    assert isinstance(told[-1], Reply) and "Grandma" in told[-1].text

    ears.desk.submit("spiel es so, wie Rumpelstilzchen es mag", "de", CONSOLE, None, told.append)
    idle(box)
    assert isinstance(told[-1], Reply) and not told[-1].understood
    assert "rumpelstilzchen" in told[-1].text


def test_the_way_i_like_it_is_the_speakers_taste(box: Box) -> None:
    ears = box.ears
    assert ears is not None
    ears.desk.submit("как я люблю", "ru", "Grandma", None, lambda e: None)
    idle(box)
    applied = [e for e in events(box) if isinstance(e, DirectionApplied)]
    assert applied[-1].text == "the way Grandma likes it" and applied[-1].who == "Grandma"


def test_without_its_memory_the_box_plays_on_and_says_why(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("APPLIANCE_DATA", str(tmp_path))
    conn = connect(tmp_path / "store.sqlite3")
    conn.execute("PRAGMA user_version = 99")  # a newer box's memory
    conn.close()
    session = Session(options(tmp_path), Recorder())
    try:
        assert session.memory.store is None
        assert any("newer version" in p for p in session.problems)
        session.start()
        assert session.engine.current is not None
        assert session.conductor.submit(Feedback("too_fast"), "someone") is None
        assert session.conductor.wait_idle(60)
        assert session.memory.room_taste() is not None  # learnt for this session only
    finally:
        session.close()


def test_a_direction_row_per_applied_direction_from_the_engine_watcher() -> None:
    memory = Memory(None)  # no store: nothing written, nothing breaks
    memory.observe(DirectionApplied("softer", ("p +0.50 from_now",), 3, 10, "x", "button"))
    memory.observe(DirectionApplied("taste", ("allegro -0.30 from_now",), 1, 0, "", ""))
    assert memory.performance_id is None


def test_direction_requests_round_trip_to_json() -> None:
    from appliance.perform.memory import directions_json

    parsed = ParsedDirections((DirectionRequest("p", 0.5, Scope.FROM_NOW),))
    described = tuple(f"{d.cls} {d.strength:+.2f} {d.scope.value}" for d in parsed.directions)
    assert directions_json(described) == [["p", 0.5, "from_now"]]
    assert directions_json(("undo",)) == [["undo"]]


def test_the_eyes_hand_each_face_they_read_to_the_memory(box: Box, phones: Phones) -> None:
    from appliance.vision.watching import Eyes

    class OneFace:
        """The face-reading worker's answer for a face looking straight at the phone."""

        def faces(self, *args: object, **kwargs: object) -> list[dict[str, Any]]:
            identity = [1.0, 0, 0, 0, 0, 1.0, 0, 0, 0, 0, 1.0, 0, 0, 0, 0, 1.0]
            return [{"scores": {"mouthSmileLeft": 0.4}, "matrix": identity, "area": 0.3}]

        def forget(self, source: str) -> None:
            pass

    _, _, device = phones.pair("Watched")
    memory = box.session.memory
    eyes = Eyes(cast(Any, OneFace()), box.session.conductor.submit, lambda: 0.0)
    eyes.on_reading = memory.face_reading
    watch = eyes.watch("Watched", "phone-watched", lambda e: None)
    watch.offer(np.zeros((480, 640, 3), np.uint8))
    eyes._look(watch)
    rows = [r for r in store_of(box).all(FaceReadingRow) if r.profile_id == device]
    assert len(rows) == 1 and rows[0].blendshapes.shape == (52,)
    assert float(rows[0].blendshapes.max()) == pytest.approx(0.4)


def test_a_person_forgotten_while_the_box_plays_is_not_written_back(
    box: Box, phones: Phones
) -> None:
    """`appliance data forget --user` is another process: the playing box, which holds the
    person's name and taste, reads them again and writes nothing of them back — her next
    feedback starts a taste afresh, under no name."""
    session = box.session
    _, channel, device = phones.pair("Forgetme")
    for _ in range(3):
        assert channel.message(to_json(Feedback("too_fast"))) == []
    idle(box)
    store = store_of(box)
    taste = store.get(TasteRow, device)
    assert taste is not None and taste.levels["tempo"] == -3.0
    assert session.memory.knows("Forgetme")

    with Store.open(store.path) as other:  # as the command line does, beside the box
        assert other.forget_user("Forgetme").profiles == 1
    assert not session.memory.knows("Forgetme")
    assert session.memory.taste_named("Forgetme") is None
    assert channel.message(to_json(Feedback("too_loud"))) == []
    idle(box)
    store = store_of(box)
    profile = store.get(ProfileRow, device)
    assert profile is None or not profile.name  # at most a nameless stand-in for new rows
    taste = store.get(TasteRow, device)
    assert taste is None or taste.levels.get("tempo", 0.0) == 0.0  # the old taste not back


def test_a_liked_style_is_where_that_persons_next_piece_starts(box: Box, phones: Phones) -> None:
    """👍: the style that was playing (as a latent vector) goes into the person's taste, even
    where no direction of hers was in force, and the next piece she asks for starts with it
    added to its latents."""
    session = box.session
    conductor, engine, library = session.conductor, session.engine, session.library
    _, channel, device = phones.pair("Lina")
    piece = library.pieces["bach-bwv846"]
    conductor.start_piece(piece, "", seed=21, play=False)  # (the room's taste, if any)
    playing = engine.style_now()
    assert playing is not None and float(np.linalg.norm(playing)) > 0.05
    assert channel.message(to_json(Feedback("like"))) == []
    idle(box)
    taste = store_of(box).get(TasteRow, device)
    assert taste is not None and len(taste.levels["style"]) == len(playing)
    learnt = np.array(taste.levels["style"])
    assert np.allclose(learnt, 0.3 * playing, atol=1e-3)  # a part of the way towards it

    conductor.start_piece(piece, "Lina", seed=22, play=False)  # another style, her taste added
    vector = engine.style.vector
    assert vector is not None and np.allclose(vector, learnt, atol=1e-3)
    assert any(
        isinstance(e, Notice) and e.message == "playing it the way Lina likes it"
        for e in events(box)
    )
    assert conductor.submit(Play(), CONSOLE) is None
    idle(box)
