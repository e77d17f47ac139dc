"""The facilitator's page in real headless Chromium with two participants' phones (the phone
page, paired, hearing the music over WebRTC) against the box on loopback: unlocking with the
facilitator's PIN, the ceiling against a participant's "volume 100" and "fff" (measured at the
sink), hands off for one phone, calm, the microphone off, removing a phone, the summary saved as
PNG and PDF, ending the session, and the page's words in four languages."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from appliance.audio.ceiling import ceiling_amplitude
from appliance.audio.sinks import MemorySink
from appliance.web.facilitator_key import set_pin
from export.webbox import WebBox
from tests.test_web import CHROMIUM, SHOTS, launch_chromium, paired_page, shot, wait_for

PIN = "97531864"
TABLET = {"width": 820, "height": 1180}
CHECK_WORDS = """() => {
  const out = [];
  for (const el of document.querySelectorAll("[data-i18n]")) {
    for (const lang of Object.keys(TEXT)) {
      if (!TEXT[lang][el.dataset.i18n]) out.push(`${lang}: no ${el.dataset.i18n}`);
    }
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    if (!text || /^[\\d\\s%]+$/.test(text)) continue;
    const free = "select, script, output, [data-i18n], [data-computed], .phones, .said";
    if (node.parentElement.closest(free)) continue;
    out.push(`no key for text: ${text}`);
  }
  return out;
}"""


@pytest.fixture(scope="module", autouse=True)
def chromium_installed():
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it")


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    box = WebBox(tmp_path_factory.mktemp("room"), speech=False, vision=False).start()
    facilitator = box.box.facilitator
    assert facilitator is not None
    set_pin(PIN, facilitator.key.path)
    yield box
    box.stop()
    facilitator.rules_path.unlink(missing_ok=True)
    facilitator.key.path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    import wave

    from playwright.sync_api import sync_playwright

    wav = tmp_path_factory.mktemp("media") / "quiet.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48_000)
        w.writeframes(np.zeros(48_000, "<i2").tobytes())
    with sync_playwright() as p:
        browser = launch_chromium(p, wav)
        yield browser
        browser.close()


def command(page, text: str) -> None:
    page.fill("#command", text)
    page.press("#command", "Enter")


def set_slider(page, selector: str, value: int) -> None:
    page.eval_on_selector(
        selector,
        "(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); "
        "el.dispatchEvent(new Event('change')); }",
        value,
    )


def phone_item(page, name: str):
    return page.locator("#fac-phones li", has_text=name)


def test_a_facilitator_and_two_participants(box, browser):
    engine, hub = box.session.engine, box.hub
    facilitator = box.box.facilitator
    ann = paired_page(browser, box, "Ann")
    bea = paired_page(browser, box, "Bea", lang="de")
    wait_for(lambda: sum(p.paired for p in hub.peers) == 2)

    context = browser.new_context(viewport=TABLET, ignore_https_errors=True, accept_downloads=True)
    page = context.new_page()
    page.goto(box.url + "facilitator")
    page.wait_for_selector("#fac-unlock")
    assert page.evaluate(CHECK_WORDS) == []
    shot(page, "facilitator-1-unlock")
    page.fill("#fac-pin", box.pairing.current_pin())  # a phone's PIN is not the facilitator's
    page.click("#fac-unlock")
    page.wait_for_selector("#fac-unlock-error", state="visible")
    page.fill("#fac-pin", PIN)
    page.click("#fac-unlock")
    page.wait_for_selector("#room", state="visible")
    wait_for(lambda: page.locator("#fac-phones li").count() == 2)
    shot(page, "facilitator-2-room")

    # the ceiling, against a participant asking for everything at once
    sink = MemorySink()
    box.session.producer.audio_sinks.append(sink)
    try:
        set_slider(page, "#fac-ceiling", 35)
        wait_for(lambda: engine.ceiling == 35)
        for text in ("volume 100", "fff", "louder"):
            command(ann, text)
        wait_for(lambda: engine.asked_volume == 100)
        assert engine.volume == 35
        start = len(sink.blocks)
        time.sleep(3.0)
        peak = float(np.abs(np.concatenate(sink.blocks[start:])).max())
    finally:
        box.session.producer.audio_sinks.remove(sink)
    limit = ceiling_amplitude(35)
    assert limit is not None
    print(f"browser: ceiling 35 % allows {limit:.4f}; measured at the sink {peak:.4f}")
    assert 0.005 < peak <= limit + 1e-6
    assert ann.evaluate("window.appliance.level()") > 0.0005  # the phone still hears music

    # hands off for Ann only: her page says so, Bea still conducts
    phone_item(page, "Ann").locator("[data-action=lock]").click()
    wait_for(lambda: phone_item(page, "Ann").get_attribute("class") == "locked")
    command(ann, "softer")
    wait_for(lambda: "hands off" in ann.inner_text("#said"))
    shot(ann, "facilitator-3-phone-hands-off")
    pauses = engine.state
    bea.click("#playpause")
    wait_for(lambda: engine.state == "paused")
    bea.click("#playpause")
    wait_for(lambda: engine.state == "playing")
    assert pauses == "playing"
    phone_item(page, "Ann").locator("[data-action=lock]").click()  # hands on again
    wait_for(lambda: not facilitator.rules.locked)

    # calm in one tap; the microphone off for the room
    page.click("#fac-calm")
    wait_for(lambda: {"p", "adagio", "legato"} <= {r.cls for r in engine.steering.active})
    wait_for(lambda: "calm" in page.inner_text("#fac-said"))
    page.select_option("#fac-microphone", "off")
    wait_for(lambda: facilitator.rules.microphone == "off")
    shot(page, "facilitator-4-controls")

    # Bea is asked to leave: her pairing is gone
    bea_hash = next(p.token_hash for p in hub.peers if p.name == "Bea")
    phone_item(page, "Bea").locator("[data-action=remove]").click()
    wait_for(lambda: [p.name for p in hub.peers if p.paired] == ["Ann"])
    assert not box.pairing.still_valid(bea_hash)
    wait_for(lambda: page.locator("#fac-phones li").count() == 1)

    # the summary so far, saved as a picture
    with page.expect_download() as download:
        page.click("#fac-png")
    png = Path(download.value.path()).read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000

    # the end of the session: every phone sent away, the summary of it saved as PDF
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#fac-end")
    wait_for(lambda: hub.peers == [])
    wait_for(lambda: page.locator("#fac-last").is_visible())
    with page.expect_download() as download:
        page.click("#fac-last-pdf")
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF") and len(pdf) > 5_000
    summary = facilitator.last
    assert summary is not None and {"Ann", "Bea"} <= set(summary.who_asked())
    print(f"browser: summary PNG {len(png)} bytes, PDF {len(pdf)} bytes")
    shot(page, "facilitator-5-ended")
    (SHOTS / "facilitator-summary.png").write_bytes(png)  # to be looked at

    # the page in another language (chosen on the unlock screen, kept like the phone's)
    page.evaluate("localStorage.setItem('lang', 'ru')")
    page.reload()
    page.wait_for_selector("#room", state="visible")
    assert page.evaluate(CHECK_WORDS) == []
    assert page.inner_text("#fac-end") == "Завершить сессию"
    shot(page, "facilitator-6-russian")

    # a participant's page cannot reach the facilitator's actions, even from the browser
    ann_page = browser.new_context(ignore_https_errors=True).new_page()
    ann_page.goto(box.url)
    status = ann_page.evaluate(
        """async () => (await fetch('/api/facilitator/act', {method: 'POST',
             headers: {'Content-Type': 'application/json'},
             body: JSON.stringify({action: 'ceiling', percent: 100})})).status"""
    )
    assert status == 403 and facilitator.rules.ceiling == 35
    for action, body in (("ceiling", {"percent": 100}), ("microphone", {"policy": "held"})):
        page.evaluate("([a, b]) => window.facilitator.act(a, b)", [action, body])
    wait_for(lambda: engine.ceiling == 100 and facilitator.rules.microphone == "held")
