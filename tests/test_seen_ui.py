"""What the box reads in a face, on the phone: while the talk button is held the box sends that
phone "seen" events (:class:`appliance.events.Seen`, about 4 a second); the page says the
reading in plain words of its language, over the camera, with four bars for the levels, and
hides it again 2 s after the last one.

The events come from a real box over the real data channel (the box's :meth:`Peer.send`), as
its eyes send them; malformed ones are sent as raw text on the same channel. The last test lets
the box's real eyes (appliance.vision) read Chromium's fake camera, which shows no face."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from appliance.events import Seen
from export.webbox import WebBox
from tests.test_web import (  # noqa: F401 - fixtures
    PHONE,
    browser,
    chromium_installed,
    paired_page,
    phone,
    speech_wav,
    wait_for,
)

pytestmark = pytest.mark.browser

EVERY = 0.25  # seconds between the box's readings (about 4 Hz)
FACES = ("smile", "brows", "frown", "pursed")


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    """A box without ears or eyes: the readings the phone gets are the test's own."""
    box = WebBox(tmp_path_factory.mktemp("box"), speech=False)
    box.options.vision = False
    box.start()
    yield box
    box.stop()


def open_phone(box, browser, lang: str):  # noqa: F811
    """A paired phone in ``lang`` on the main view; answers (page, the box's peer for it)."""
    name = f"face {lang}"
    page = paired_page(browser, box, name, lang)
    wait_for(lambda: page.evaluate("window.appliance.state.channel.readyState") == "open")
    peer = wait_for(lambda: next((p for p in box.hub.peers if p.name == name), None))
    wait_for(lambda: peer.channel is not None and peer.channel.readyState == "open")
    return page, peer


async def _send(peer, event) -> None:
    peer.send(event)


async def _send_raw(peer, text: str) -> None:
    peer.channel.send(text)


def see(box, peer, times: int = 2, **fields) -> float:
    """The box reads the same thing ``times`` times, EVERY apart; answers when it last sent."""
    for i in range(times):
        if i:
            time.sleep(EVERY)
        box.call(_send(peer, Seen(**fields)))
    return time.monotonic()


def words(page) -> str:
    return page.inner_text("#seen-words")


def meter(page) -> dict[str, tuple[int, str, str]]:
    """Each bar: (aria-valuenow, its aria-label, the width of its fill)."""
    bars = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll("#seen-meter .seen-row")].map(
          (row) => { const bar = row.querySelector("[role=meter]");
            return [row.dataset.face, [Number(bar.getAttribute("aria-valuenow")),
                    bar.getAttribute("aria-label"), bar.firstElementChild.style.width]]; }))"""
    )
    return {face: (value, label, width) for face, (value, label, width) in bars.items()}


def shown(page) -> bool:
    return page.evaluate("document.querySelector('#seen').classList.contains('shown')")


def test_the_phone_says_what_the_box_reads_in_the_face(box, browser, tmp_path: Path):  # noqa: F811
    page, peer = open_phone(box, browser, "en")
    assert not shown(page) and words(page) == ""
    talk = page.locator("#talk")
    place = "(e) => [e.offsetTop, e.offsetLeft, e.offsetWidth, e.offsetHeight]"
    before = talk.bounding_box()
    assert before is not None
    where = talk.evaluate(place)
    # The live region's text nodes: counted to prove it is not rewritten at every reading.
    page.evaluate(
        """() => { window.liveChanges = 0;
          new MutationObserver((m) => { window.liveChanges += m.length; }).observe(
            document.querySelector('#seen-words'),
            {childList: true, characterData: true, subtree: true}); }"""
    )
    page.mouse.move(before["x"] + 20, before["y"] + 20)
    page.mouse.down()  # the button held, as while the box reads this face

    # A smile, read 4 times with changing levels: the words once, the bars every time.
    for smile in (0.55, 0.6, 0.7, 0.72):
        see(box, peer, times=1, expression="smile", levels=(smile, 0.1, 0.0, 0.05),
            words="smiling → gentler")  # fmt: skip
        time.sleep(EVERY)
    wait_for(lambda: words(page) == "smiling → gentler", timeout=5)
    wait_for(lambda: meter(page)["smile"][0] == 72, timeout=5)
    assert meter(page) == {
        "smile": (72, "smile", "72%"),
        "brows": (10, "eyebrows", "10%"),
        "frown": (0, "frown", "0%"),
        "pursed": (5, "pursed lips", "5%"),
    }
    assert page.evaluate("window.liveChanges") == 1
    assert page.get_attribute("#seen-words", "aria-live") == "polite"
    # the expression read is marked in words and by the bold label, not by colour alone
    assert page.evaluate("document.querySelector('[data-face=smile]').classList.contains('now')")
    assert shown(page) and page.is_visible("#seen-meter")
    wait_for(lambda: page.evaluate("getComputedStyle(document.querySelector('#seen')).opacity")
             == "1", timeout=3)  # fmt: skip
    assert talk.evaluate(place) == where  # the reading came without moving the talk button
    shot = tmp_path / "seen-390x844.png"
    assert page.viewport_size == PHONE
    page.screenshot(path=str(shot))
    print(f"screenshot: {shot}")

    # Raised eyebrows, then a frown flickering for one reading only: the words follow a
    # reading that holds (read twice in a row), not a single one.
    see(box, peer, expression="brows", levels=(0.1, 0.8, 0.0, 0.0))
    wait_for(lambda: words(page) == "eyebrows raised → brighter, growing", timeout=5)
    see(box, peer, times=1, expression="frown", levels=(0.0, 0.2, 0.6, 0.0))
    wait_for(lambda: meter(page)["frown"][0] == 60, timeout=5)
    see(box, peer, times=1, expression="brows", levels=(0.1, 0.8, 0.0, 0.0))
    wait_for(lambda: meter(page)["brows"][0] == 80, timeout=5)
    assert words(page) == "eyebrows raised → brighter, growing"
    see(box, peer, expression="pursed", levels=(0.0, 0.0, 0.1, 0.9))
    wait_for(lambda: words(page) == "pursed lips → very soft", timeout=5)
    see(box, peer, expression="neutral", levels=(0.1, 0.1, 0.1, 0.1))
    wait_for(lambda: words(page) == "calm face → nothing changes", timeout=5)

    # Gestures are said at once and stay readable a moment; a nod's beat only when it moves.
    see(box, peer, times=1, expression="neutral", levels=(0.1, 0.1, 0.1, 0.1), gesture="nod",
        nod_bpm=96.4)  # fmt: skip
    wait_for(lambda: words(page) == "nodding → following your beat (96 /min)", timeout=5)
    see(box, peer, times=1, expression="neutral", levels=(0.1,) * 4, gesture="nod", nod_bpm=98)
    time.sleep(0.3)
    assert words(page) == "nodding → following your beat (96 /min)"
    see(box, peer, times=1, expression="smile", levels=(0.6, 0, 0, 0), gesture="shake")
    wait_for(lambda: words(page) == "head shake → undo", timeout=5)

    # No face: the no-face sentence (once the shake was readable a moment), the bars at zero.
    see(box, peer, times=8, expression="", levels=(), words="no face seen")
    wait_for(lambda: words(page).startswith("no face seen"), timeout=5)
    assert words(page) == "no face seen — hold the phone so the camera sees your face"
    assert [v[0] for v in meter(page).values()] == [0, 0, 0, 0]

    # Malformed readings are taken defensively: levels clamped, wrong types ignored.
    raw = [
        {"type": "seen", "expression": "smile", "levels": [2, -1, "x", None, 5]},
        {"type": "seen", "expression": "smile", "levels": [1.5, -0.5, 0.25]},
    ]
    for event in raw:
        box.call(_send_raw(peer, json.dumps(event)))
        time.sleep(EVERY)
    wait_for(lambda: words(page) == "smiling → gentler", timeout=5)
    assert [v[0] for v in meter(page).values()] == [100, 0, 25, 0]
    raw_send = {"type": "seen", "expression": 7, "levels": "lots", "gesture": [], "nod_bpm": "x"}
    box.call(_send_raw(peer, json.dumps(raw_send)))
    wait_for(lambda: [v[0] for v in meter(page).values()] == [0, 0, 0, 0], timeout=5)
    assert words(page) == "smiling → gentler"  # an expression that is no text says nothing
    nod = '{"type": "seen", "levels": {"0": 1}, "gesture": "nod", "nod_bpm": 1e999}'
    box.call(_send_raw(peer, nod))  # a beat of Infinity: a nod without a number
    wait_for(lambda: words(page) == "nodding → following your beat", timeout=5)
    for _ in range(8):
        unknown = {"type": "seen", "expression": "wink", "levels": [0.3], "words": "winking → ?"}
        box.call(_send_raw(peer, json.dumps(unknown)))
        time.sleep(EVERY)
    # an expression this page does not know: the box's own (English) words
    wait_for(lambda: words(page) == "winking → ?", timeout=5)
    assert [v[0] for v in meter(page).values()] == [30, 0, 0, 0]
    assert page.evaluate("window.appliance.state.channel.readyState") == "open"

    # The button let go: the box stops reading; the reading hides about 2 s after its last one,
    # and its words are gone (the next reading is said again).
    page.mouse.up()
    last = see(box, peer, times=1, expression="smile", levels=(0.5, 0, 0, 0))
    wait_for(lambda: meter(page)["smile"][0] == 50, timeout=5)
    assert shown(page)
    wait_for(lambda: not shown(page), timeout=6, step=0.05)
    waited = time.monotonic() - last
    assert 1.5 < waited < 3.5, waited
    wait_for(lambda: words(page) == "", timeout=3)
    wait_for(
        lambda: (
            page.evaluate("getComputedStyle(document.querySelector('#seen-meter')).visibility")
            == "hidden"
        ),
        3,
    )
    assert not page.is_visible("#seen-meter")
    assert page.evaluate("getComputedStyle(document.querySelector('#seen')).opacity") == "0"
    page.context.close()


def test_the_reading_in_german_and_without_motion(box, browser):  # noqa: F811
    page, peer = open_phone(box, browser, "de")
    page.emulate_media(reduced_motion="reduce")
    see(box, peer, expression="smile", levels=(0.4, 0, 0, 0))
    wait_for(lambda: words(page) == "Lächeln → sanfter", timeout=5)
    assert meter(page) == {
        "smile": (40, "Lächeln", "40%"),
        "brows": (0, "Augenbrauen", "0%"),
        "frown": (0, "Stirnrunzeln", "0%"),
        "pursed": (0, "gespitzte Lippen", "0%"),
    }
    label = page.get_attribute("#seen-meter", "aria-label")
    assert label == "Was die Kamera in deinem Gesicht liest"
    assert page.inner_text("[data-face=pursed] .seen-label").endswith("gespitzte Lippen")
    # no transitions: shown at once, gone at once
    durations = page.evaluate(
        """() => ['#seen', '#seen-meter', '[data-face=smile] [role=meter] > span'].map(
          (s) => getComputedStyle(document.querySelector(s)).transitionDuration)"""
    )
    assert set(durations) == {"0s"}, durations
    assert page.evaluate("getComputedStyle(document.querySelector('#seen')).opacity") == "1"
    see(box, peer, expression="", levels=())
    wait_for(lambda: words(page).startswith("kein Gesicht"), timeout=5)
    assert words(page) == (
        "kein Gesicht zu sehen — halte das Telefon so, dass die Kamera dein Gesicht sieht"
    )
    see(box, peer, times=1, expression="neutral", levels=(0.1,) * 4, gesture="nod", nod_bpm=72)
    wait_for(lambda: words(page) == "Nicken → ich folge deinem Schlag (72 /min)", timeout=5)
    last = time.monotonic()
    wait_for(lambda: not shown(page), timeout=6, step=0.05)
    assert time.monotonic() - last > 1.5
    assert page.evaluate("getComputedStyle(document.querySelector('#seen')).opacity") == "0"
    wait_for(lambda: words(page) == "", timeout=2)
    page.context.close()


def test_the_box_s_own_eyes_see_no_face_in_the_fake_camera(browser, tmp_path: Path):  # noqa: F811
    box = WebBox(tmp_path / "box", speech=False).start()  # with its eyes
    try:
        if any("faces are not read" in p.message for p in box.problems):
            pytest.fail(f"the box has no eyes: {box.problems} (`make run` installs the model)")
        page, _ = open_phone(box, browser, "es")
        talk = page.locator("#talk").bounding_box()
        assert talk is not None
        page.mouse.move(talk["x"] + 20, talk["y"] + 20)
        page.mouse.down()
        no_face = "no veo ninguna cara — sostén el teléfono para que la cámara vea tu cara"
        wait_for(lambda: words(page) == no_face, timeout=60)
        assert shown(page) and [v[0] for v in meter(page).values()] == [0, 0, 0, 0]
        assert meter(page)["pursed"][1] == "labios fruncidos"
        page.mouse.up()  # the box stops reading this face: the reading goes
        wait_for(lambda: not shown(page), timeout=8)
        wait_for(lambda: words(page) == "", timeout=3)
        page.context.close()
    finally:
        box.stop()
