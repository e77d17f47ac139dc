"""The one ordered command path: order, transport never held up, errors reported, piece end,
feedback — with the real engine, renderer and FluidSynth."""

import threading
import time

from appliance.directions.interpret import Interpreter
from appliance.events import (
    Action,
    Command,
    Direct,
    DirectionApplied,
    Feedback,
    Moved,
    NowPlaying,
    Pause,
    Problem,
    Seek,
    SelectPiece,
)
from appliance.perform.conductor import Conductor, piece_end_policy
from appliance.perform.memory import Memory
from appliance.perform.transport import AtEnd
from appliance.store import FeedbackRow, PerformanceRow, Store
from tests.rigs import Rig


class HeldDescriber:
    """Free-form understanding that takes as long as the test says (a busy or loading box)."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.asked = threading.Event()

    def describe(self, text):
        self.asked.set()
        self.gate.wait(20)
        return None


def kinds(events, *types):
    return [e for e in events if isinstance(e, types)]


def conductor_for(rig, **kw):
    conductor = Conductor(rig.engine, rig.bus, **kw)
    conductor.start()
    return conductor


def held_box(library, synth, **kw):
    """The Bach prelude playing, its free-form understanding held until the test lets go."""
    held = HeldDescriber()
    rig = Rig(library, synth)
    rig.engine.interpreter = Interpreter(describer=held)
    rig.select("bach-bwv846", seed=1)
    return held, rig, conductor_for(rig, **kw)


def test_commands_from_several_sources_apply_in_the_order_given(library, synth):
    rig = Rig(library, synth)
    conductor = conductor_for(rig)
    try:
        conductor.submit(SelectPiece("maple leaf rag"), "phone A")
        conductor.submit(Command("bar 9"), "phone B")
        conductor.submit(Direct("softer"), "console")
        conductor.submit(SelectPiece("no such piece at all"), "phone A")
        conductor.submit(Seek("bar", 9999), "phone B")
        conductor.submit(Direct("undo"), "console")
        assert conductor.wait_idle(60)
    finally:
        conductor.close()
    seen = kinds(rig.bus.events, NowPlaying, Moved, DirectionApplied, Problem)
    assert isinstance(seen[0], NowPlaying) and seen[0].piece_id == "joplin-maple-leaf-rag"
    assert isinstance(seen[1], Moved) and seen[1].bar == 9
    assert isinstance(seen[2], DirectionApplied) and seen[2].text == "softer"
    assert seen[2].who == "console"
    assert isinstance(seen[3], Problem) and "no piece" in seen[3].message
    assert isinstance(seen[4], Problem) and "no bar 9999" in seen[4].message
    assert isinstance(seen[5], DirectionApplied) and seen[5].directions == ("undo",)
    who = [(a.who, a.what) for a in kinds(rig.bus.events, Action)]
    assert who[:3] == [("phone A", "play maple leaf rag"), ("phone B", "bar 9"),
                       ("console", "“softer”")]  # fmt: skip
    assert rig.engine.piece.id == "joplin-maple-leaf-rag"


def test_a_slow_direction_never_holds_up_transport_and_is_not_overtaken(library, synth):
    held, rig, conductor = held_box(library, synth)
    try:
        conductor.submit(Direct("like a lullaby"), "phone A")
        assert held.asked.wait(10)
        conductor.submit(Direct("faster"), "phone B")
        started = time.monotonic()
        conductor.submit(Pause(), "phone B")
        while rig.engine.state == "playing" and time.monotonic() - started < 2:
            time.sleep(0.005)
        assert rig.engine.state in ("pausing", "paused")  # at once, while "lullaby" waits
        assert time.monotonic() - started < 0.5
        assert not kinds(rig.bus.events, DirectionApplied)  # "faster" waits its turn
        held.gate.set()
        assert conductor.wait_idle(30)
    finally:
        held.gate.set()
        conductor.close()
    order = kinds(rig.bus.events, DirectionApplied, Problem)
    assert isinstance(order[0], Problem) and "lullaby" in order[0].message
    assert isinstance(order[1], DirectionApplied) and order[1].text == "faster"


def test_a_piece_asked_for_before_a_pause_is_loaded_but_not_started(library, synth):
    held, rig, conductor = held_box(library, synth)
    try:
        conductor.submit(Direct("like a storm"), "a")  # holds the ordered path
        assert held.asked.wait(10)
        conductor.submit(SelectPiece("maple leaf rag"), "a")
        conductor.submit(Pause(), "b")
        time.sleep(0.2)
        held.gate.set()
        assert conductor.wait_idle(30)
    finally:
        held.gate.set()
        conductor.close()
    assert rig.engine.piece.id == "joplin-maple-leaf-rag"
    assert rig.engine.state != "playing"


def test_errors_of_any_kind_become_problems_and_the_path_goes_on(library, synth):
    rig = Rig(library, synth)
    conductor = conductor_for(rig)

    def broken(event):
        raise RuntimeError("disk on fire")

    rig.engine.handlers[Seek] = broken
    try:
        conductor.submit(SelectPiece("bach-bwv846"), "a")
        conductor.submit(Seek("beginning"), "a")
        conductor.submit(Direct("softer", language="xx"), "a")
        conductor.submit(Direct("softer"), "a")
        assert conductor.wait_idle(60)
    finally:
        conductor.close()
    problems = [p.message for p in kinds(rig.bus.events, Problem)]
    assert any("disk on fire" in p for p in problems)
    assert any("does not know the language 'xx'" in p for p in problems)
    assert kinds(rig.bus.events, DirectionApplied)


def test_a_full_queue_refuses_with_a_problem_and_keeps_the_rest(library, synth):
    held, rig, conductor = held_box(library, synth, limit=4)
    try:
        accepted = [conductor.submit(Direct("like rain"), "a") is None for _ in range(8)]
        held.gate.set()
        assert conductor.wait_idle(30)
    finally:
        held.gate.set()
        conductor.close()
    assert accepted.count(False) >= 3 and accepted[0]
    idle = Conductor(rig.engine, limit=4)  # not started: nothing is taken off its queues
    assert [idle.submit(Pause()) is None for _ in range(5)] == [True] * 4 + [False]  # transport too
    assert any("too many" in p.message for p in kinds(rig.bus.events, Problem))


def test_feedback_acts_at_once_and_is_remembered(library, synth, tmp_path):
    rig = Rig(library, synth)
    with Store.open(tmp_path / "store.sqlite3") as store:
        memory = Memory(store)
        memory.profile("dev-a", "phone A")
        conductor = conductor_for(rig, memory=memory)
        try:
            conductor.submit(SelectPiece("bach-bwv846"), "a")
            conductor.submit(Feedback("too_loud"), "phone A")
            conductor.submit(Feedback("like"), "phone A")
            assert conductor.wait_idle(60)
        finally:
            conductor.close()
        applied = kinds(rig.bus.events, DirectionApplied)
        assert len(applied) == 1 and applied[0].directions == ("p +0.50 from_now",)
        assert applied[0].source == "button"
        store.flush()
        remembered = store.all(FeedbackRow)
        assert [r.kind for r in remembered] == ["too_loud", "like"]
        performance = store.get(PerformanceRow, remembered[0].performance_id or "")
        assert performance is not None and performance.piece_id == "bach-bwv846"
        assert remembered[0].profile_id == "dev-a"
    assert not list(tmp_path.rglob("*.jsonl"))


def test_the_end_of_a_piece_is_a_command_on_the_ordered_path(library, synth):
    rig = Rig(library, synth)
    conductor = conductor_for(rig)
    rig.engine.on_end = piece_end_policy(conductor, AtEnd.NEXT)
    try:
        rig.select("schoenberg-op19-6", seed=1)  # the shortest shipped piece
        for _ in range(600):  # up to 60 s of music
            rig.run(0.1)
            if len(kinds(rig.bus.events, NowPlaying)) > 1:
                break
        assert conductor.wait_idle(30)
    finally:
        conductor.close()
    playing = kinds(rig.bus.events, NowPlaying)
    assert len(playing) == 2 and playing[1].piece_id != "schoenberg-op19-6"


def test_a_description_while_the_model_loads_says_one_moment_then_applies(library, synth):
    from appliance.events import Notice

    rig = Rig(library, synth)
    rig.engine.interpreter = Interpreter()  # nothing loaded yet
    rig.select("bach-bwv846", seed=1)
    conductor = conductor_for(rig)
    try:
        conductor.submit(Direct("like a lullaby"), "phone A")
        conductor.submit(Direct("undo"), "phone A")
        assert conductor.wait_idle(120)
    finally:
        conductor.close()
    seen = kinds(rig.bus.events, Notice, DirectionApplied)
    assert isinstance(seen[0], Notice) and seen[0].kind == "loading"
    assert [e.text for e in seen[1:]] == ["like a lullaby", "undo"]
    assert rig.engine.interpreter.ready
