"""Pairing: the PIN and the one-time link, renewed together, and everyone told the new PIN."""

import time

from appliance.web import pairing as pairing_module
from appliance.web.pairing import Pairing


def test_every_new_pin_is_announced_and_the_link_changes_with_it(tmp_path):
    shown: list[str] = []
    p = Pairing(tmp_path / "paired.json")
    p.on_new_pin = shown.append
    pin, link = p.current_pin(), p.current_link()
    assert p.current_link() == link  # one link at a time, not one per look
    token = p.pair_with_pin(pin, "phone A")
    assert token and p.device_of(token) == "phone A"
    assert shown == [p.current_pin()]
    assert p.current_link() != link
    assert p.pair_with_link(link) is None  # the old link died with the old PIN
    new_link = p.current_link()
    assert p.pair_with_link(new_link, "phone B") and len(shown) == 2  # a use renews both
    assert p.pair_with_link(new_link) is None


def test_an_expired_pin_is_renewed_and_announced(tmp_path, monkeypatch):
    shown: list[str] = []
    p = Pairing()
    p.on_new_pin = shown.append
    old = p.current_pin()
    monkeypatch.setattr(pairing_module, "PIN_LIFETIME", 0.0)
    time.sleep(0.01)
    new = p.current_pin()
    assert shown == [new] and len(new) == 6 and p.current_link()
    assert old  # the first PIN was made before anyone listened


def test_odd_input_is_refused_not_a_crash():
    p = Pairing()
    for odd in ("", "١٢٣٤٥٦", "ü" * 6, "\ud800", "0" * 10_000):
        assert p.pair_with_pin(odd) is None
        assert p.pair_with_link(odd) is None
        assert p.device_of(odd) is None


def test_tokens_survive_a_restart(tmp_path):
    p = Pairing(tmp_path / "paired.json")
    token = p.pair_with_pin(p.current_pin(), "kitchen tablet")
    assert Pairing(tmp_path / "paired.json").device_of(token) == "kitchen tablet"
