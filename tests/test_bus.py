"""The bus: publishing from any thread onto the loop, drop-oldest for a slow subscriber, type
filtering, unsubscribing, and a closed loop."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from appliance.bus import QUEUE_LIMIT, Bus, Subscription
from appliance.events import Action, Event, Position, Problem

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, 10.0))


async def settle() -> None:
    """Let the loop run the callbacks that publishing scheduled."""
    for _ in range(3):
        await asyncio.sleep(0)


def waiting(sub: Subscription) -> list[Event]:
    """Everything queued for ``sub`` now, without waiting."""
    out = []
    while not sub.queue.empty():
        out.append(sub.queue.get_nowait())
    return out


def join(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.join()


def tick(who: int, n: int) -> Action:
    return Action(f"thread {who}", str(n))


def start_publishers(bus: Bus, threads: int, each: int) -> list[threading.Thread]:
    """``threads`` threads that start together and each publish ``each`` numbered events."""
    start = threading.Barrier(threads)

    def publisher(who: int) -> None:
        start.wait()
        for n in range(each):
            bus.publish(tick(who, n))

    workers = [threading.Thread(target=publisher, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    return workers


def test_many_threads_publish_at_once_and_every_event_arrives_once_in_each_threads_order() -> None:
    threads, each = 8, QUEUE_LIMIT // 8  # as many as a queue holds: nothing may be dropped

    async def main() -> list[Event]:
        bus = Bus()
        sub = bus.subscribe()
        workers = start_publishers(bus, threads, each)
        got = [await sub.get() for _ in range(threads * each)]  # read while they publish
        await asyncio.to_thread(join, workers)
        await settle()
        assert sub.queue.empty()
        return got

    got = run(main())
    assert len(got) == len(set(got)) == 8 * (QUEUE_LIMIT // 8)
    for who in range(8):
        mine = [int(e.what) for e in got if isinstance(e, Action) and e.who == f"thread {who}"]
        assert mine == list(range(QUEUE_LIMIT // 8))


def test_a_flood_from_many_threads_keeps_each_threads_order_and_the_newest_event() -> None:
    """More than a queue holds, with nobody reading until the end: the newest events stay."""
    threads, each = 6, 400

    async def main() -> list[Event]:
        bus = Bus()
        sub = bus.subscribe()
        workers = start_publishers(bus, threads, each)
        await asyncio.to_thread(join, workers)
        await settle()
        return waiting(sub)

    got = run(main())
    assert len(got) == QUEUE_LIMIT
    for who in range(threads):
        mine = [int(e.what) for e in got if isinstance(e, Action) and e.who == f"thread {who}"]
        assert mine == sorted(mine)
    last = got[-1]  # the last delivery is some thread's last event, and it was not dropped
    assert isinstance(last, Action) and last.what == str(each - 1)


def test_a_slow_subscriber_loses_its_oldest_events_and_holds_up_nobody() -> None:
    extra = 44

    async def main() -> tuple[list[Event], list[Event]]:
        bus = Bus()
        slow, quick = bus.subscribe(), bus.subscribe()
        seen: list[Event] = []
        for n in range(QUEUE_LIMIT + extra):
            bus.publish(tick(0, n))
            await settle()
            seen += waiting(quick)  # keeps up
        return waiting(slow), seen

    slow, quick = run(main())
    assert [int(e.what) for e in quick if isinstance(e, Action)] == list(range(QUEUE_LIMIT + extra))
    assert [int(e.what) for e in slow if isinstance(e, Action)] == list(
        range(extra, QUEUE_LIMIT + extra)
    )


class Loud(Problem):
    """A subclass: subscribers of Problem get it too."""


def test_subscribers_get_only_the_types_they_asked_for_subclasses_included() -> None:
    events: list[Event] = [Position(1), Problem("a"), Action("x", "y"), Loud("b"), Position(2)]

    async def main() -> dict[str, list[Event]]:
        bus = Bus()
        subs = {
            "all": bus.subscribe(),
            "positions": bus.subscribe(Position),
            "problems": bus.subscribe(Problem),
            "two": bus.subscribe(Position, Action),
        }
        for event in events:
            bus.publish(event)
        await settle()
        return {name: waiting(sub) for name, sub in subs.items()}

    got = run(main())
    assert got["all"] == events
    assert got["positions"] == [Position(1), Position(2)]
    assert got["problems"] == [Problem("a"), Loud("b")]
    assert got["two"] == [Position(1), Action("x", "y"), Position(2)]


def test_a_closed_subscription_gets_nothing_more_and_closing_twice_is_harmless() -> None:
    async def main() -> tuple[list[Event], list[Event]]:
        bus = Bus()
        gone, stays = bus.subscribe(), bus.subscribe()
        bus.publish(Problem("before"))
        await settle()
        gone.close()
        gone.close()
        bus.publish(Problem("after"))
        await settle()
        return waiting(gone), waiting(stays)

    gone, stays = run(main())
    assert gone == [Problem("before")]
    assert stays == [Problem("before"), Problem("after")]


def test_a_subscription_is_an_async_iterator() -> None:
    async def main() -> list[Event]:
        bus = Bus()
        sub = bus.subscribe()

        def publish() -> None:
            for bar in range(3):
                bus.publish(Position(bar))

        threading.Thread(target=publish).start()
        out: list[Event] = []
        async for event in sub:
            out.append(event)
            if len(out) == 3:
                break
        return out

    assert run(main()) == [Position(0), Position(1), Position(2)]


def test_publishing_without_subscribers_or_after_the_loop_closed_is_a_no_op() -> None:
    Bus().publish(Problem("nobody listens, no loop yet"))
    loop = asyncio.new_event_loop()
    bus = Bus(loop)

    async def subscribe() -> Subscription:
        return bus.subscribe()

    sub = loop.run_until_complete(subscribe())
    loop.close()
    bus.publish(Problem("the loop is closed"))  # from the loop's thread
    late = threading.Thread(target=bus.publish, args=(Problem("from a thread"),))
    late.start()
    late.join()
    assert sub.queue.empty()
