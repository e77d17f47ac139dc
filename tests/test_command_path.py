"""The pure parts of the command path: throttling, coalescing a backlog, checking offers and
data-channel messages — fast, and fuzzed with hypothesis (the number of inputs tried is
printed with ``-s`` and kept in the test report)."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from appliance.events import (
    FROM_PHONE,
    Direct,
    Duck,
    Event,
    Feedback,
    Pause,
    Play,
    Seek,
    SelectPiece,
    Volume,
    from_json,
    nesting,
)
from appliance.perform.coalesce import Job, coalesce
from appliance.perform.commands import parse_command
from appliance.perform.throttle import Throttle
from appliance.web.sdp_check import sdp_problem
from tests.clock import Clock

FUZZ = 400  # examples per fuzz test


def test_a_source_gets_its_burst_then_its_rate():
    clock = Clock()
    throttle = Throttle(rate=4.0, burst=10, clock=clock)
    assert [throttle.allow("a") for _ in range(12)] == [True] * 10 + [False] * 2
    assert throttle.allow("b")  # another phone has its own bucket
    clock.now = 0.5  # two commands' worth later
    assert [throttle.allow("a") for _ in range(3)] == [True, True, False]
    clock.now = 100.0
    assert sum(throttle.allow("a") for _ in range(20)) == 10  # never more than the burst


def test_a_flood_of_sources_keeps_the_table_small():
    throttle = Throttle(max_sources=8, clock=Clock())
    for i in range(1000):
        throttle.allow(f"phone {i}")
    assert len(throttle) == 8


def jobs(*events: Event) -> list[Job]:
    return [Job(e, f"who {i}") for i, e in enumerate(events)]


def events_of(steps) -> list[list[Event]]:
    return [[job.event for job in step] for step in steps]


def always(event: SelectPiece) -> bool:
    return True


def test_only_the_last_of_pieces_asked_for_in_a_row_is_loaded():
    steps = coalesce(jobs(*(SelectPiece("") for _ in range(100)), Seek("bar", 3)), always)
    assert events_of(steps) == [[SelectPiece("")], [Seek("bar", 3)]]


def test_a_piece_the_box_will_not_find_does_not_replace_the_one_before():
    steps = coalesce(
        jobs(SelectPiece("bach"), SelectPiece("nonsense")), lambda e: "bach" in e.query
    )
    assert events_of(steps) == [[SelectPiece("bach")], [SelectPiece("nonsense")]]


def test_directions_in_a_row_are_one_step_and_nothing_is_lost():
    backlog = jobs(Direct("softer"), Direct("faster"), Seek("back"), Seek("back"), Direct("undo"))
    steps = coalesce(backlog, always)
    assert events_of(steps) == [
        [Direct("softer"), Direct("faster")],
        [Seek("back")],
        [Seek("back")],  # "back" twice goes back two phrases
        [Direct("undo")],
    ]
    many = coalesce(jobs(*(Direct("softer") for _ in range(40))), always)
    assert [len(s) for s in many] == [16, 16, 8]


def test_repeated_transport_collapses_but_feedback_and_order_stay():
    backlog = jobs(Pause(), Pause(), Play(), Volume(10), Volume(90), Duck(), Duck(),
                   Feedback("like"), Feedback("like"))  # fmt: skip
    assert events_of(coalesce(backlog, always)) == [
        [Pause()], [Play()], [Volume(90)], [Duck()], [Feedback("like")], [Feedback("like")]
    ]  # fmt: skip


KINDS = [Play(), Pause(), Duck(), Volume(5), Volume(50), SelectPiece(""), SelectPiece("x"),
         Seek("back"), Direct("softer"), Direct("undo"), Feedback("like")]  # fmt: skip
BACKLOG = st.lists(st.sampled_from(KINDS), max_size=80)


def report(record_property, name: str, count: int) -> None:
    """Say how many inputs a fuzz test tried (printed with -s, kept in the JUnit report)."""
    record_property(f"fuzz_{name}", count)
    print(f"fuzz {name}: {count} inputs tried")
    assert count >= 100


def test_coalescing_keeps_order_and_every_effect(record_property):
    tried = 0

    @settings(max_examples=FUZZ, deadline=None)
    @given(BACKLOG)
    def check(backlog):
        nonlocal tried
        tried += 1
        steps = coalesce(jobs(*backlog), lambda e: e.query == "")
        kept = [job for step in steps for job in step]
        order = [int(job.who.split()[1]) for job in kept]
        assert order == sorted(order)  # nothing reordered
        events = [job.event for job in kept]
        for kind in (Direct, Seek, Feedback):  # never dropped
            assert sum(isinstance(e, kind) for e in events) == sum(
                isinstance(e, kind) for e in backlog
            )
        for kind in (Play, Pause, Duck, Volume, SelectPiece):  # the last one always stays
            last = [e for e in backlog if isinstance(e, kind)][-1:]
            assert [e for e in events if isinstance(e, kind)][-1:] == last

    check()
    report(record_property, "coalesce", tried)


def test_nesting_is_measured_outside_strings():
    assert nesting('{"type": "direct", "text": "[[[[{{{{"}') == 1
    assert nesting('{"a": "\\"[[["}') == 1
    assert nesting("[[[[[]]]]]") == 5


NAMES = ["type", "text", "language", "query", "target", "bar", "kind", "percent", "pressed",
         "token", "directions", "extra"]  # fmt: skip
EVENT_FIELDS = st.dictionaries(
    st.sampled_from(NAMES),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner),
        max_leaves=8,
    ),
    max_size=5,
)


def test_fuzzed_events_are_taken_or_refused_with_a_reason(record_property):
    tried = 0

    @settings(max_examples=FUZZ, deadline=None)
    @given(
        EVENT_FIELDS,
        st.sampled_from([c.type for c in FROM_PHONE] + ["now_playing", "error", "launch"]),
    )
    def check(fields, kind):
        nonlocal tried
        tried += 1
        message = json.dumps({**fields, "type": fields.get("type", kind)})
        try:
            event = from_json(message)
        except ValueError as exc:
            assert str(exc)
            return
        assert isinstance(event, Event)

    check()
    report(record_property, "protocol", tried)


def test_fuzzed_raw_messages_never_raise_anything_but_a_value_error(record_property):
    tried = 0

    @settings(max_examples=FUZZ, deadline=None)
    @given(st.text(max_size=300) | st.binary(max_size=300).map(lambda b: b.decode("latin-1")))
    def check(text):
        nonlocal tried
        tried += 1
        try:
            from_json(text)
        except ValueError as exc:
            assert str(exc)

    check()
    report(record_property, "raw messages", tried)


def test_fuzzed_command_text_always_has_a_meaning_or_none(record_property):
    tried = 0

    @settings(max_examples=FUZZ, deadline=None)
    @given(st.text(max_size=200))
    def check(text):
        nonlocal tried
        tried += 1
        result = parse_command(text)
        assert result is None or isinstance(result, Event)

    check()
    report(record_property, "command text", tried)


def test_a_browser_offer_passes_and_broken_ones_are_named():
    good = "\r\n".join(
        [
            "v=0", "o=- 1 1 IN IP4 0.0.0.0", "s=-", "t=0 0",
            "m=audio 9 UDP/TLS/RTP/SAVPF 111", "c=IN IP4 0.0.0.0", "a=mid:0",
            "a=ice-ufrag:abcd", "a=ice-pwd:abcdefghijklmnopqrstuv",
            "a=fingerprint:sha-256 AA:BB", "a=setup:actpass",
            "a=candidate:1 1 udp 2122260223 192.168.1.5 54321 typ host generation 0",
            "a=candidate:2 1 tcp 1518280447 192.168.1.5 9 typ host tcptype active",
            "m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "a=mid:1",
        ]
    )  # fmt: skip
    assert sdp_problem(good) == ""
    assert "audio" in sdp_problem(good.replace("m=audio 9 UDP/TLS/RTP/SAVPF 111", "m=video 9 X 1"))
    assert "port" in sdp_problem(good.replace("54321", "70000"))
    assert "media id" in sdp_problem(good.replace("a=mid:1", "a=mid:0"))
    assert "fingerprint" in sdp_problem(good.replace("a=fingerprint:sha-256 AA:BB\r\n", ""))
    assert "lines" in sdp_problem("v=0\r\n" + "a=x\r\n" * 3000)


def test_fuzzed_offers_are_answered_in_words(record_property):
    tried = 0

    @settings(max_examples=FUZZ, deadline=None)
    @given(st.text(max_size=500))
    def check(text):
        nonlocal tried
        tried += 1
        assert isinstance(sdp_problem("v=0\r\n" + text), str)

    check()
    report(record_property, "offers", tried)
