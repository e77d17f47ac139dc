"""The facilitator's page in real headless Chromium with two participants' phones (the phone
page, paired, hearing the music over WebRTC) against the box on loopback: unlocking with the
facilitator's PIN, the ceiling against a participant's "volume 100" and "fff" (measured at the
sink), hands off for one phone, calm, the microphone off, removing a phone, the summary saved as
PNG and PDF, ending the session, and the page's words in four languages."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

from appliance.audio.ceiling import ceiling_amplitude
from appliance.audio.sinks import MemorySink
from appliance.paths import REPO_ROOT
from appliance.perform.room import RoomRules
from appliance.web.facilitator_key import set_pin
from export.webbox import WebBox
from tests.axe_core import install as install_axe
from tests.test_accessibility import audit, blocking, used_keys
from tests.test_web import CHROMIUM, SHOTS, paired_page, phone, quiet_browser, shot, wait_for

PIN = "97531864"
RULES_AS_SHIPPED = (
    ("ceiling", {"percent": 100}),
    ("lock_all", {"on": False}),
    ("approval", {"on": False}),
    ("microphone", {"policy": "held"}),
    ("camera", {"policy": "held"}),
    ("keep", {"what": "feedback"}),
)
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
    const free =
      "select, script, output, [data-i18n], [data-computed], [translate=no], .phones, .said";
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
    yield from quiet_browser(tmp_path_factory.mktemp("media"))


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
    axe_source = install_axe().read_text()
    assert audit(page, axe_source, "facilitator, unlock") == []
    shot(page, "facilitator-1-unlock")
    page.fill("#fac-pin", box.pairing.current_pin())  # a phone's PIN is not the facilitator's
    page.click("#fac-unlock")
    page.wait_for_selector("#fac-unlock-error", state="visible")
    page.fill("#fac-pin", PIN)
    page.click("#fac-unlock")
    page.wait_for_selector("#room", state="visible")
    wait_for(lambda: page.locator("#fac-phones li").count() == 2)
    shot(page, "facilitator-2-room")
    # the facilitator's page is held to the phone page's rules: every key of its script in
    # four languages, and axe-core finds nothing of any impact (the room and its health)
    page.wait_for_selector("#fac-health li")
    # every key its script names (t("…") and the "facSomething" held in variables); their four
    # languages are the phone page's test
    script = (REPO_ROOT / "web" / "facilitator.js").read_text()
    asked = sorted({*used_keys("facilitator.js"), *re.findall(r'"(fac[A-Z]\w*)"', script)})
    assert len(asked) > 15
    assert page.evaluate("(keys) => keys.filter((k) => !(k in TEXT.en))", asked) == []
    assert page.evaluate(CHECK_WORDS) == []
    assert audit(page, axe_source, "facilitator, room") == []

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

    # hands off for Ann only: her page says so (her controls locked), Bea still conducts
    phone_item(page, "Ann").locator("[data-action=lock]").click()
    wait_for(lambda: phone_item(page, "Ann").get_attribute("class") == "locked")
    wait_for(lambda: "this phone" in ann.inner_text("#room-rules"))
    assert ann.is_disabled("#command") and ann.get_attribute("#talk", "aria-disabled") == "true"
    ann.dispatch_event("#talk", "pointerdown")  # held all the same: refused, and said why
    wait_for(lambda: "Hands off" in ann.inner_text("#said"))
    shot(ann, "facilitator-3-phone-hands-off")
    pauses = engine.state
    bea.click("#playpause")
    wait_for(lambda: engine.state == "paused")
    bea.click("#playpause")
    wait_for(lambda: engine.state == "playing")
    assert pauses == "playing"
    phone_item(page, "Ann").locator("[data-action=lock]").click()  # hands on again
    wait_for(lambda: not facilitator.rules.locked)
    wait_for(lambda: not ann.is_disabled("#command"))

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
    bea.wait_for_selector("#gone", state="visible")  # her page says so, in German
    assert bea.inner_text("#gone-title") == "Dieses Telefon wurde gebeten zu gehen"

    # the summary so far, saved as a picture
    with page.expect_download() as download:
        page.click("#fac-png")
    png = Path(download.value.path()).read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000

    # the end of the session: every phone sent away, the summary of it saved as PDF
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#fac-end")
    wait_for(lambda: hub.peers == [])
    ann.wait_for_selector("#gone", state="visible")
    assert ann.inner_text("#gone-title") == "The session has ended"
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
    page.wait_for_selector("#fac-health li")  # the check also meets the health lines (box's words)
    assert page.evaluate(CHECK_WORDS) == []
    summaries = page.evaluate("[TEXT.ru.facHealthOk, TEXT.ru.facHealthWrong]")
    assert page.inner_text("#fac-health-said") in summaries
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


def test_big_buttons_and_a_screen_reader_under_the_facilitators_rules(box, browser):
    """The issue's room: a facilitator, one phone in big buttons (in Spanish) and one used by
    roles and accessible names alone (in German: what a screen reader announces). The ceiling
    holds against "Louder" pressed again and again (at the sink); hands off, the microphone and
    the camera off, and the session's end are shown on both phones in their languages."""
    engine, hub = box.session.engine, box.hub
    facilitator = box.box.facilitator
    page = browser.new_context(viewport=TABLET, ignore_https_errors=True).new_page()
    page.goto(box.url + "facilitator")
    page.fill("#fac-pin", PIN)
    page.click("#fac-unlock")
    page.wait_for_selector("#room", state="visible")
    for action, body in RULES_AS_SHIPPED:  # whatever an earlier test left
        page.evaluate("([a, b]) => window.facilitator.act(a, b)", [action, body])
    wait_for(lambda: facilitator.rules.public() == RoomRules().public())

    eva = paired_page(browser, box, "Eva", lang="es")
    eva.get_by_role("button", name="Botones grandes").click()
    # the screen reader's phone: every step by role and accessible name
    context = phone(browser)
    context.add_init_script("localStorage.setItem('lang', 'de')")
    finn = context.new_page()
    finn.goto(box.url)
    finn.get_by_role("button", name="Los").click()
    finn.get_by_role("button", name="Kamera und Mikrofon erlauben").click()
    finn.get_by_role("textbox", name="PIN vom Bildschirm des Klaviers").fill(
        box.pairing.current_pin()
    )
    finn.get_by_role("button", name="Koppeln", exact=True).click()
    wait_for(lambda: sum(p.paired for p in hub.peers) == 2)
    rules = finn.get_by_role("status", name="Regeln des Raums")
    talk = finn.get_by_role("button", name="Zum Sprechen halten")
    talk.wait_for()
    wait_for(lambda: page.locator("#fac-phones li").count() == 2)

    # a ceiling of 30 %, and "Louder" pressed again and again on the big buttons
    set_slider(page, "#fac-ceiling", 30)
    wait_for(lambda: engine.ceiling == 30)
    wait_for(lambda: "30 %" in rules.inner_text())
    sink = MemorySink()
    box.session.producer.audio_sinks.append(sink)
    try:
        louder = eva.get_by_role("button", name="Más fuerte")
        for _ in range(4):
            louder.click()
            time.sleep(0.3)
        wait_for(lambda: any(r.cls == "f" for r in engine.steering.active))
        start = len(sink.blocks)
        time.sleep(2.5)
        peak = float(np.abs(np.concatenate(sink.blocks[start:])).max())
    finally:
        box.session.producer.audio_sinks.remove(sink)
    limit = ceiling_amplitude(30)
    assert limit is not None
    print(f"\nbig buttons: ceiling 30 % allows {limit:.4f}; measured at the sink {peak:.4f}")
    assert 0.003 < peak <= limit + 1e-6

    # the screen reader's phone conducts a direction; it is told in the live list
    finn.get_by_role("textbox", name="Schreib, was du möchtest").fill("langsamer")
    finn.keyboard.press("Enter")
    activity = finn.get_by_role("list", name="Wer hat was getan")
    wait_for(lambda: "langsamer" in activity.inner_text(), timeout=30)

    # hands off: both phones locked, said in their languages; then given back
    page.click("#fac-handsoff")
    wait_for(lambda: facilitator.rules.locked_all)
    wait_for(lambda: "Hände weg" in rules.inner_text())
    locked = finn.get_by_role("button", name="Hände weg – gerade nicht")
    assert locked.get_attribute("aria-disabled") == "true"
    assert locked.get_attribute("aria-describedby") == "room-rules"  # the reason, for the reader
    assert finn.get_by_role("textbox", name="Schreib, was du möchtest").is_disabled()
    wait_for(lambda: louder.is_disabled())
    assert "Manos fuera" in eva.get_by_role("status", name="Las reglas de la sala").inner_text()
    assert eva.get_by_role("button", name="Manos fuera por ahora").is_visible()
    shot(eva, "room-1-hands-off-big-buttons")
    shot(finn, "room-2-hands-off")
    axe = install_axe().read_text()
    assert blocking(audit(finn, axe, "hands off")) == []
    page.click("#fac-handsoff")
    wait_for(lambda: not louder.is_disabled())
    talk.wait_for()
    assert "Hände weg" not in rules.inner_text()

    # the microphone off: the talk button says so, and held it sends no sound
    page.select_option("#fac-microphone", "off")
    wait_for(lambda: facilitator.rules.microphone == "off")
    camera_only = finn.get_by_role(
        "button", name="Halten, um dein Gesicht zu zeigen (Mikrofon aus)"
    )
    camera_only.wait_for()
    assert "Mikrofon ist in diesem Raum aus" in rules.inner_text()
    camera_only.focus()
    finn.keyboard.down("Space")
    sending = "(kind) => window.appliance.state.%s.some((t) => t.kind === kind && t.enabled)"
    wait_for(lambda: finn.evaluate(sending % "sentVideo", "video"))  # the camera, while held
    assert not finn.evaluate(sending % "stream.getTracks()", "audio")
    shot(finn, "room-3-microphone-off")
    finn.keyboard.up("Space")
    # and the camera off too: the camera panel says so, no picture goes, the button cannot be held
    page.select_option("#fac-camera", "off")
    wait_for(lambda: facilitator.rules.camera == "off")
    finn.get_by_role("button", name="Mikrofon und Kamera sind aus").wait_for()
    assert finn.get_by_text("Die Kamera ist in diesem Raum aus").is_visible()
    assert not finn.evaluate(sending % "stream.getTracks()", "video")
    assert not finn.evaluate(sending % "sentVideo", "video")
    finn.evaluate("window.scrollTo(0, 0)")  # the camera panel in view
    shot(finn, "room-4-microphone-and-camera-off")

    # the end of the session: both phones say so, and offer to pair again
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#fac-end")
    wait_for(lambda: hub.peers == [])
    ended = finn.get_by_role("heading", name="Die Sitzung ist zu Ende")
    ended.wait_for()
    assert finn.evaluate("document.activeElement.id") == "gone-title"  # read out at once
    eva.get_by_role("heading", name="La sesión ha terminado").wait_for()
    assert eva.get_by_role("button", name="Vincular de nuevo").is_visible()
    shot(eva, "room-5-ended")
    assert blocking(audit(eva, axe, "session ended, big buttons")) == []
    finn.get_by_role("button", name="Neu koppeln").click()
    assert finn.get_by_role("textbox", name="PIN vom Bildschirm des Klaviers").is_visible()
    assert finn.evaluate("localStorage.getItem('token')") is None  # its pairing is gone

    for action, body in RULES_AS_SHIPPED:
        page.evaluate("([a, b]) => window.facilitator.act(a, b)", [action, body])
    wait_for(lambda: engine.ceiling == 100 and facilitator.rules.camera == "held")
    for p in (eva, finn, page):
        p.context.close()
