"""The understanding desk: in order, bounded, and a flooding phone cannot hold up the others."""

from __future__ import annotations

import threading

from appliance.events import Event, Reply
from appliance.understand import understand
from appliance.understand.desk import PER_SOURCE, Desk
from appliance.understand.intents import Understanding


def test_a_flooding_phone_is_refused_while_another_is_still_heard() -> None:
    gate = threading.Event()
    acted: list[tuple[str, str]] = []
    told: list[Event] = []

    def slow(text: str, language: str | None) -> Understanding:
        gate.wait(10)  # the language model taking its time
        return understand(text, language)

    def act(u: Understanding, who: str, source: str | None, via: str) -> str | None:
        acted.append((who, u.text))
        return None

    desk = Desk(slow, act, lambda u, language: f"ok: {u.text}")
    desk.start()
    try:
        for _ in range(PER_SOURCE):
            assert desk.submit("softer", "en", "flooder", "phone-1", told.append) is None
        refusal = desk.submit("softer", "en", "flooder", "phone-1", told.append)
        assert refusal is not None and "too much" in refusal
        assert desk.submit("pause", "en", "kitchen", "phone-2", told.append) is None
        assert desk.submit("", "en", "kitchen", "phone-2", told.append) == "nothing was said"
        gate.set()
        assert desk.wait_idle(10)
        assert acted == [("flooder", "softer")] * PER_SOURCE + [("kitchen", "pause")]
        assert all(isinstance(e, Reply) and e.understood for e in told)
        # its earlier ones answered, the flooder is heard again
        assert desk.submit("louder", "en", "flooder", "phone-1", told.append) is None
        assert desk.wait_idle(10)
    finally:
        desk.close()
