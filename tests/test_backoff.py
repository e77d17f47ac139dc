"""Repeated problems are reported less and less often; retries back off."""

import time

from appliance.backoff import Quieter, retry_delay
from appliance.events import Problem
from tests.clock import Clock
from tests.rigs import Rig


def said_over(quieter: Quieter, clock: Clock, seconds: float, step: float = 0.01) -> int:
    said = 0
    end = clock.now + seconds
    while clock.now < end:
        said += quieter.should_say("render")
        clock.now += step
    return said


def test_a_fault_on_every_block_is_said_a_handful_of_times_a_minute():
    clock = Clock()
    quieter = Quieter(clock=clock)
    assert said_over(quieter, clock, 60.0) <= 8  # 100 a second before: 6,000
    assert said_over(quieter, clock, 600.0) <= 16  # then at most once a minute
    quieter.over("render")
    assert quieter.should_say("render")  # a new fault is said at once
    assert quieter.should_say("other")  # and another problem has its own count


def test_after_a_quiet_while_the_next_fault_is_said_at_once():
    clock = Clock()
    quieter = Quieter(clock=clock)
    said_over(quieter, clock, 30.0)
    clock.now += 200.0
    assert quieter.should_say("render")


def test_retries_back_off_to_a_second():
    assert retry_delay(1) == 0.01
    assert retry_delay(3) == 0.04
    assert retry_delay(50) == 1.0


def test_a_broken_renderer_does_not_flood_the_phones(library, synth):
    rig = Rig(library, synth)
    rig.select("bach-bwv846", seed=1)

    def broken(*args, **kwargs):
        raise RuntimeError("renderer on fire")

    rig.engine.current.stream.render_next = broken  # every render fails
    rig.engine.start()
    time.sleep(2.0)
    rig.engine.close()
    problems = [e for e in rig.bus.events if isinstance(e, Problem)]
    assert 1 <= len(problems) <= 3  # 200 before (one per 10 ms)
