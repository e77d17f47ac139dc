"""The phone page for everyone (WCAG 2.2 AA), in headless Chromium against a box on loopback:
an axe-core audit (tests/axe_core.py: pinned, fetched from the npm registry, loaded only here)
of every screen, normal and with big buttons, with no serious or critical violation; touch
targets of at least 48 px; text at 200 % without loss; every control reached by the keyboard
and named for screen readers; reduced motion; the big buttons' three choices reaching the
music; every string in four languages. Screenshots: build/screenshots/a11y-*.png."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from appliance.paths import REPO_ROOT
from tests.axe_core import install as install_axe
from tests.test_web import PHONE, quiet_browser, shot, wait_for

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = ("serious", "critical")
MIN_TARGET = 48  # px
INTERACTIVE = "button, input, select, a[href], [tabindex]:not([tabindex='-1'])"
LANGUAGES = ("en", "de", "es", "ru")


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    from export.webbox import WebBox

    box = WebBox(tmp_path_factory.mktemp("box"), speech=False, llm=False, vision=False).start()
    yield box
    box.stop()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    yield from quiet_browser(tmp_path_factory.mktemp("media"))


@pytest.fixture(scope="module")
def axe_source() -> str:
    return install_axe().read_text()


def new_phone(browser, box, name: str = "", lang: str = "", big: bool = False, motion: str = ""):
    """A phone's page (paired as ``name`` when given), on the greeting screen. Phones of
    earlier tests are sent away first (the box takes four per address, and notices a closed
    page only when its connection times out)."""
    for gone in {p.name for p in box.hub.peers}:
        box.call(box.hub.remove(gone))
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True,
        ignore_https_errors=True, reduced_motion=motion or "no-preference",
    )  # fmt: skip
    context.grant_permissions(["camera", "microphone"])
    script = ""
    if name:
        token = box.pairing.pair_with_pin(box.pairing.current_pin(), name)
        script += f"localStorage.setItem('token', '{token}');"
    if lang:
        script += f"localStorage.setItem('lang', '{lang}');"
    if big:
        script += "localStorage.setItem('big', '1');"
    if script:
        context.add_init_script(script)
    page = context.new_page()
    page.goto(box.url)
    page.wait_for_selector("#start")
    return page


def to_main(page) -> None:
    if page.is_visible("#start"):
        page.click("#start")
    page.click("#allow")
    page.wait_for_selector("#main", state="visible")
    wait_for(lambda: page.evaluate("window.appliance.state.paired") is True)
    wait_for(lambda: page.inner_text("#now-playing"))


def audit(page, axe_source: str, where: str) -> list[dict]:
    """axe-core's violations on this page now (printed), each {id, impact, nodes}."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(content=axe_source)
    found = page.evaluate(
        """async (tags) => {
          const result = await axe.run(document, { runOnly: { type: "tag", values: tags } });
          return result.violations.map((v) => ({ id: v.id, impact: v.impact,
            nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) }));
        }""",
        TAGS,
    )
    print(f"\naxe-core {where}: {json.dumps(found) if found else 'no violations'}")
    return found


def blocking(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in BLOCKING]


def small_targets(page) -> list[str]:
    return page.evaluate(
        """([selector, least]) => [...document.querySelectorAll(selector)].filter((el) => {
          const r = el.getBoundingClientRect();
          const seen = r.width > 1 && r.height > 1
            && getComputedStyle(el).visibility !== "hidden" && !el.closest("[hidden]");
          return seen && (r.width < least - 0.5 || r.height < least - 0.5);
        }).map((el) => { const r = el.getBoundingClientRect();
          const name = el.id || el.textContent.trim() || el.outerHTML.slice(0, 60);
          return `${name}: ${Math.round(r.width)}x${Math.round(r.height)}`; })""",
        [INTERACTIVE, MIN_TARGET],
    )


def clipped(page) -> list[str]:
    """Text cut off: the page wider than the screen, or an element's text wider or taller than
    the element where it does not scroll."""
    return page.evaluate(
        """() => {
          const out = [];
          if (document.documentElement.scrollWidth > window.innerWidth + 1)
            out.push(`page ${document.documentElement.scrollWidth} px wide`);
          const all = "button, label, p, h1, h2, li, span, a, select";
          for (const el of document.querySelectorAll(all)) {
            const r = el.getBoundingClientRect();
            if (r.width < 2 || el.closest("[hidden]")) continue;
            if (el.closest(".visually-hidden")) continue;
            const style = getComputedStyle(el);
            const name = el.id || el.textContent.trim().slice(0, 30);
            if (style.overflowX === "visible") {
              if (r.right > window.innerWidth + 1) out.push(`${name} past the right edge`);
              continue;
            }
            if (el.scrollWidth > el.clientWidth + 1 && style.overflowX !== "auto")
              out.push(`${name} cut (${el.scrollWidth} > ${el.clientWidth})`);
          }
          return out;
        }"""
    )


def test_every_screen_passes_the_audit_normal_and_with_big_buttons(box, browser, axe_source):
    page = new_phone(browser, box, "Audit phone")
    assert blocking(audit(page, axe_source, "greeting")) == []
    page.click("#start")
    assert blocking(audit(page, axe_source, "camera and microphone")) == []
    to_main(page)
    found = audit(page, axe_source, "main view")
    assert blocking(found) == []
    assert small_targets(page) == []
    shot(page, "a11y-main")
    page.evaluate("window.scrollTo(0, document.querySelector('#more').offsetTop)")
    shot(page, "a11y-main-lower")
    page.evaluate("window.scrollTo(0, 0)")
    # big buttons: only the talk button and three large choices
    page.get_by_role("button", name="Big buttons").click()
    assert page.get_attribute("#big-mode", "aria-pressed") == "true"
    for hidden in ("#camera-half", "#more", "#playpause", "#command"):
        assert not page.is_visible(hidden), hidden
    choices = page.locator("#big-choices button")
    assert choices.count() == 3 and all(choices.nth(i).is_visible() for i in range(3))
    assert all(choices.nth(i).bounding_box()["height"] >= 96 for i in range(3))
    assert blocking(audit(page, axe_source, "big buttons")) == []
    assert small_targets(page) == []
    shot(page, "a11y-big")
    page.context.close()
    # a phone that never paired: the pairing screen
    page = new_phone(browser, box)
    page.click("#start")
    page.click("#listen-only")
    page.wait_for_selector("#pin", state="visible")
    assert blocking(audit(page, axe_source, "pairing")) == []
    assert small_targets(page) == []
    page.context.close()


def test_text_at_200_percent_keeps_everything(box, browser, axe_source):
    """The phone's text size at 200 % (Chromium's default font size doubled, as a phone's
    setting does): the text doubles, nothing is cut, nothing runs off the side."""
    for big in (False, True):
        page = new_phone(browser, box, f"Large text {int(big)}", big=big)
        cdp = page.context.new_cdp_session(page)
        cdp.send("Page.setFontSizes", {"fontSizes": {"standard": 32, "fixed": 26}})
        page.reload()
        page.wait_for_selector("#start")
        size = page.evaluate("getComputedStyle(document.querySelector('#hello')).fontSize")
        assert size == "57.6px", size  # 1.6rem of 36 px (was 28.8 px)
        assert clipped(page) == []
        to_main(page)
        assert clipped(page) == []
        assert blocking(audit(page, axe_source, f"200 % text{' big buttons' if big else ''}")) == []
        for lang in LANGUAGES:  # the longest words too (Russian, Spanish)
            page.evaluate(f"state.lang = '{lang}'; translate()")
            assert clipped(page) == [], lang
        page.evaluate("state.lang = 'en'; translate()")
        name = "a11y-text200-big" if big else "a11y-text200"
        page.evaluate("window.scrollTo(0, 0)")
        shot(page, name)
        if not big:
            page.evaluate("window.scrollTo(0, document.querySelector('#more').offsetTop)")
            shot(page, f"{name}-lower")
        page.context.close()


def test_every_control_is_reached_by_the_keyboard_and_named(box, browser):
    page = new_phone(browser, box, "Keyboard phone")
    to_main(page)
    wanted = page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)].filter((el) =>
             el.getClientRects().length && !el.disabled && !el.closest("[hidden]")
             && getComputedStyle(el).visibility !== "hidden")
           .map((el) => el.outerHTML.slice(0, 80))""",
        INTERACTIVE,
    )
    page.evaluate("document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)")
    reached, unnamed = [], []
    for _ in range(len(wanted) + 10):
        page.keyboard.press("Tab")
        here = page.evaluate(
            """() => { const el = document.activeElement;
              if (!el || el === document.body) return null;
              return [el.outerHTML.slice(0, 80), (el.ariaLabel || el.labels?.[0]?.textContent
                || el.textContent || el.placeholder || "").trim()]; }"""
        )
        if here is None:
            continue
        reached.append(here[0])
        if not here[1]:
            unnamed.append(here[0])
    assert [w for w in wanted if w not in reached] == []
    assert unnamed == []
    # the talk button is held with the keyboard too (Space), and says so
    engine = box.session.engine
    page.focus("#talk")
    page.keyboard.down("Space")
    wait_for(lambda: page.get_attribute("#talk", "aria-pressed") == "true", timeout=5)
    wait_for(lambda: engine.ducker.ramp.target < 1.0, timeout=5)
    page.keyboard.up("Space")
    assert page.get_attribute("#talk", "aria-pressed") == "false"
    page.context.close()


def test_a_screen_reader_user_pairs_and_conducts_by_names_alone(box, browser):
    """Every step found by role and accessible name (what a screen reader announces), in
    German; the answer lands in a live region."""
    page = new_phone(browser, box, lang="de")
    page.get_by_role("button", name="Los").click()
    page.get_by_role("button", name="Nur zuhören").click()
    page.get_by_role("textbox", name="PIN vom Bildschirm des Klaviers").fill(
        box.pairing.current_pin()
    )
    page.get_by_role("button", name="Koppeln", exact=True).click()
    wait_for(lambda: page.evaluate("window.appliance.state.paired") is True)
    # typed at once: what is sent while the connection still opens goes when it opens
    page.get_by_role("textbox", name="Schreib, was du möchtest").fill("langsamer")
    page.keyboard.press("Enter")
    said = page.locator("#said")
    try:
        wait_for(lambda: "langsamer" in said.inner_text(), timeout=30)
    except AssertionError:
        raise AssertionError(f"the page said {said.inner_text()!r}") from None
    assert said.get_attribute("aria-live") == "polite"
    assert page.get_by_role("region", name="Bedienung").is_visible()
    page.context.close()


def test_big_buttons_reach_the_music_and_are_remembered(box, browser):
    page = new_phone(browser, box, "Big phone", big=True)
    to_main(page)
    assert page.evaluate("document.body.classList.contains('big')")  # remembered on this phone
    seen: list[str] = []
    for name, words in (("Softer", "softer"), ("Louder", "louder"), ("Calmer", "slower")):
        button = page.get_by_role("button", name=name)
        button.focus()
        page.keyboard.press("Enter")  # by keyboard; a tap works the same
        wait_for(lambda w=words: w in page.inner_text("#said"), timeout=30)
        seen.append(page.inner_text("#said"))
    print("\nbig buttons said:", seen)
    assert seen[0].startswith("“softer”: softer")
    page.get_by_role("button", name="Big buttons").click()  # back to everything
    assert page.evaluate("localStorage.getItem('big')") == "0"
    assert page.is_visible("#more")
    page.context.close()


def test_reduced_motion_is_respected(box, browser):
    page = new_phone(browser, box, "Still phone", motion="reduce")
    to_main(page)
    durations = page.evaluate(
        """() => ["#seen", ".seen-bar > span", "#talk"].map((s) =>
             getComputedStyle(document.querySelector(s)).transitionDuration)"""
    )
    assert all(set(d.replace(" ", "").split(",")) == {"0s"} for d in durations), durations
    page.evaluate("document.querySelector('#talk').classList.add('active')")
    assert page.evaluate("getComputedStyle(document.querySelector('#talk')).transform") == "none"
    page.context.close()


def used_keys(*scripts: str) -> list[str]:
    keys: set[str] = set()
    for name in scripts:
        source = (REPO_ROOT / "web" / name).read_text()
        keys |= set(re.findall(r"\bt\(\"(\w+)\"", source))
        keys |= set(re.findall(r"\bkey: \"(\w+)\"", source))
    return sorted(keys)


def test_every_string_in_four_languages_on_the_phone_and_the_wall(box, browser):
    check = (Path(__file__).parent / "i18n_check.js").read_text()
    page = new_phone(browser, box, "Words phone", big=True)
    to_main(page)
    assert page.evaluate(check, used_keys("app.js")) == []
    for lang in LANGUAGES:
        page.select_option("#language", lang) if page.is_visible("#language") else None
        page.evaluate(f"localStorage.setItem('lang', '{lang}')")
    page.context.close()
    wall = browser.new_context(ignore_https_errors=True).new_page()
    wall.route("**/api/display", lambda route: route.abort())  # the page's own words only
    for lang in LANGUAGES:
        wall.goto(f"{box.url}display?lang={lang}")
        wall.wait_for_selector("#offline", state="visible")
        assert wall.evaluate(check, used_keys("display.js")) == [], lang
        assert wall.evaluate("document.documentElement.lang") == lang
    wall.context.close()
