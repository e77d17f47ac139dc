"""A paired phone invites someone: it shows the box's PIN and QR code; a listener cannot."""

from __future__ import annotations

from tests.test_web import (  # noqa: F401 - fixtures
    box,
    browser,
    chromium_installed,
    paired_page,
    phone,
    shot,
    speech_wav,
    wait_for,
)


def test_a_paired_phone_shows_the_pin_to_invite_someone(box, browser):  # noqa: F811
    page = paired_page(browser, box, "inviting phone")
    page.click("#invite")
    page.wait_for_selector("#invitation", state="visible")
    assert page.inner_text("#invite-pin") == box.pairing.current_pin()
    assert page.locator("#invite-qr svg").count() == 1
    page.locator("#invitation").scroll_into_view_if_needed()
    shot(page, "7-invite")
    page.context.close()

    listener = phone(browser).new_page()
    listener.goto(box.url)
    listener.click("#start")
    listener.click("#listen-only")
    listener.click("#skip-pair")
    wait_for(lambda: listener.evaluate("window.appliance.state.pc.connectionState") == "connected")
    assert listener.is_disabled("#invite")
    listener.context.close()
