"""`appliance phones list / forget`: what is paired, and revoking it (also for a running box)."""

import json

from typer.testing import CliRunner

from appliance.cli import app
from appliance.web.pairing import Pairing
from appliance.web.server import pairing_store


def test_list_and_forget_by_name_id_and_all(tmp_path, monkeypatch):
    monkeypatch.setenv("APPLIANCE_DATA", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "200")
    box = Pairing(pairing_store())  # the running box
    tokens = {name: box.pair_with_pin(box.current_pin(), name) for name in ("A", "B", "C")}
    runner = CliRunner()
    listed = runner.invoke(app, ["phones", "list"])
    assert listed.exit_code == 0 and "3 paired phone(s)" in listed.output
    assert all(name in listed.output for name in "ABC") and "expires" in listed.output
    assert all(token not in listed.output for token in tokens.values())

    assert runner.invoke(app, ["phones", "forget", "A"]).output.startswith("forgot A (")
    assert box.device_of(tokens["A"]) is None and box.device_of(tokens["B"]) == "B"
    phone_id = next(p["id"] for p in json.loads(pairing_store().read_text())["phones"]
                    if p["name"] == "B")  # fmt: skip
    assert "forgot B" in runner.invoke(app, ["phones", "forget", phone_id]).output
    missing = runner.invoke(app, ["phones", "forget", "nobody"])
    assert missing.exit_code == 1 and "no paired phone" in str(missing.exception or missing.output)
    assert runner.invoke(app, ["phones", "forget"]).exit_code != 0
    assert "1 phone(s) forgotten" in runner.invoke(app, ["phones", "forget", "--all"]).output
    assert box.device_of(tokens["C"]) is None


def test_list_says_when_the_file_was_damaged(tmp_path, monkeypatch):
    monkeypatch.setenv("APPLIANCE_DATA", str(tmp_path))
    box = Pairing(pairing_store())
    box.pair_with_pin(box.current_pin(), "kitchen tablet")
    pairing_store().write_text("{oops")
    out = CliRunner().invoke(app, ["phones", "list"]).output
    assert "warning" in out and "restored 1 phone(s)" in out and "kitchen tablet" in out
