"""Pairing: the PIN and the one-time link, renewed together, and everyone told the new PIN."""

import time

from appliance.web import pairing as pairing_module
from appliance.web.pairing import Pairing
from tests.clock import Clock


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


def test_too_many_wrong_pins_replace_the_pin_and_the_link(tmp_path):
    shown: list[str] = []
    p = Pairing(tmp_path / "paired.json")
    p.on_new_pin = shown.append
    pin, link = p.current_pin(), p.current_link()
    wrong = "x" * len(pin)
    for _ in range(pairing_module.MAX_FAILURES - 1):
        assert p.pair_with_pin(wrong) is None
    assert p.current_pin() == pin and shown == []  # not yet
    assert p.pair_with_pin(wrong) is None
    assert p.current_pin() != pin and shown == [p.current_pin()] and p.failures == 0
    assert p.pair_with_pin(pin) is None and p.pair_with_link(link) is None


def test_the_link_expires_with_its_pin(monkeypatch):
    p = Pairing()
    link = p.current_link()
    monkeypatch.setattr(pairing_module, "PIN_LIFETIME", 0.0)
    time.sleep(0.01)
    assert p.pair_with_link(link) is None
    monkeypatch.setattr(pairing_module, "PIN_LIFETIME", 600.0)
    assert p.current_link() != link and p.pin_expires_in() > 590
    assert p.pair_with_link(p.current_link(), "phone C")


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


# -- the paired phones: hashed, lasting, revocable, and a damaged file is not the end ------------

import json  # noqa: E402

import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from appliance.web import phones as phones_module  # noqa: E402
from appliance.web.phones import TOKEN_LIFETIME, PhoneBook, token_hash  # noqa: E402


def test_only_a_hash_of_each_token_is_stored(tmp_path):
    path = tmp_path / "paired.json"
    p = Pairing(path)
    token = p.pair_with_pin(p.current_pin(), "kitchen tablet")
    text = path.read_text() + (tmp_path / "paired.json.bak").read_text()
    assert token not in text and token_hash(token) in text
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert p.still_valid(token_hash(token)) and not p.still_valid(token_hash(token + "x"))


def test_a_pairing_lasts_its_lifetime_after_the_last_use(tmp_path):
    clock = Clock(1_700_000_000.0)
    book = PhoneBook(tmp_path / "paired.json", clock)
    token = book.add("phone A")
    clock.now += TOKEN_LIFETIME - 10
    assert book.find(token) is not None  # used: it lasts another lifetime from now
    clock.now += TOKEN_LIFETIME - 10
    phone = book.find(token)
    assert phone is not None and phone.last_seen == clock.now
    clock.now += TOKEN_LIFETIME + 1
    assert book.find(token) is None and book.listing() == []


def test_forgetting_on_the_command_line_reaches_the_running_box(tmp_path):
    path = tmp_path / "paired.json"
    box = Pairing(path)
    a = box.pair_with_pin(box.current_pin(), "phone A")
    b = box.pair_with_pin(box.current_pin(), "phone B")
    cli = PhoneBook(path)  # another process: `appliance phones forget "phone A"`
    assert [p.name for p in cli.forget("phone A")] == ["phone A"]
    assert not box.still_valid(token_hash(a)) and box.device_of(a) is None
    assert box.device_of(b) == "phone B"
    by_id = PhoneBook(path).listing()[0].id
    assert [p.name for p in PhoneBook(path).forget(by_id)] == ["phone B"]
    assert box.device_of(b) is None and box.phones.listing() == []


def test_the_box_noting_a_use_does_not_bring_back_a_forgotten_phone(tmp_path):
    path = tmp_path / "paired.json"
    clock = Clock(1_700_000_000.0)
    box = PhoneBook(path, clock)
    a, b = box.add("A"), box.add("B")
    PhoneBook(path, clock).forget(None)  # --all, while the box still holds both in memory
    clock.now += 3600
    assert box.find(b) is None and box.find(a) is None
    assert json.loads(path.read_text())["phones"] == []


def test_old_files_with_plain_tokens_are_migrated(tmp_path):
    path = tmp_path / "paired.json"
    path.write_text(json.dumps({"tokens": {"old-token-1": "phone A", "old-token-2": "phone B"}}))
    p = Pairing(path)
    assert p.device_of("old-token-1") == "phone A" and p.device_of("old-token-2") == "phone B"
    assert "old-token" not in path.read_text()
    assert "old-token" not in (tmp_path / "paired.json.bak").read_text()
    assert json.loads(path.read_text())["format"] == 2


@pytest.mark.parametrize("damage", [b"", b"{", b"\xff\xfe", b"[]", b'{"phones": [{"id": 1}]}'])
def test_a_damaged_file_falls_back_to_its_backup_and_says_so(tmp_path, damage, caplog):
    path = tmp_path / "paired.json"
    first = Pairing(path)
    token = first.pair_with_pin(first.current_pin(), "kitchen tablet")
    path.write_bytes(damage)
    p = Pairing(path)
    assert p.device_of(token) == "kitchen tablet"
    assert p.problem and "restored 1 phone(s) from its backup" in p.problem
    assert "damaged" in caplog.text
    assert list(tmp_path.glob("paired.json.damaged-*"))  # kept for a look
    assert Pairing(path).problem is None  # repaired


def test_a_damaged_file_and_backup_unpair_everyone_but_say_so(tmp_path):
    path = tmp_path / "paired.json"
    first = Pairing(path)
    token = first.pair_with_pin(first.current_pin(), "kitchen tablet")
    path.write_text("garbage")
    (tmp_path / "paired.json.bak").write_text("garbage too")
    p = Pairing(path)
    assert p.device_of(token) is None
    assert p.problem and "every phone must pair again" in p.problem


def test_the_running_box_notices_damage_on_disk(tmp_path):
    path = tmp_path / "paired.json"
    box = Pairing(path)
    token = box.pair_with_pin(box.current_pin(), "phone A")
    path.write_text("{broken")
    assert box.device_of(token) == "phone A" and box.problem


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=80), st.text(max_size=80))
def test_fuzz_any_text_is_refused_without_a_crash(guess, name):
    COUNTS["pairing"] += 1
    p = FUZZ_PAIRING
    pin = p.current_pin()
    assert (p.pair_with_pin(guess, name) is not None) == (guess.strip() == pin)
    assert p.pair_with_link(guess, name) is None  # 128 random bits: never by chance
    assert p.device_of(guess) is None and not p.still_valid(guess)


FUZZ_PAIRING = Pairing()
COUNTS = {"pairing": 0}


def test_fuzz_counts_are_reported(capsys):
    with capsys.disabled():
        print(f"\nhypothesis: {COUNTS['pairing']} inputs tried on Pairing (PIN, link, token)")
    assert COUNTS["pairing"] >= 100
    assert phones_module.TOKEN_LIFETIME == 180 * 24 * 3600.0
