"""`appliance doctor`: each check finds what is wrong and says what to do; the verdict and the
exit status follow."""

from __future__ import annotations

import hashlib
import socket
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from appliance import doctor
from appliance.doctor import Check, Health, PinnedModel, Status

CHECK_ADDRESSES = doctor.check_addresses  # before any test stubs it


def pinned(path: Path, content: bytes = b"weights") -> PinnedModel:
    return PinnedModel("speech model", path, hashlib.sha256(content).hexdigest(), "reinstall")


def test_a_model_with_the_right_checksum_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"weights")
    check = doctor.check_model(pinned(path))
    assert check.status is Status.OK


def test_a_missing_model_file_is_a_problem_with_what_to_do(tmp_path: Path) -> None:
    check = doctor.check_model(pinned(tmp_path / "model.bin"))
    assert check.status is Status.PROBLEM
    assert "is missing" in check.found and check.todo == "reinstall"
    assert check.line().startswith("✗ speech model: ") and "— reinstall" in check.line()
    assert doctor.check_model(PinnedModel("x", None, "0", "install x")).status is Status.PROBLEM


def test_a_model_with_a_wrong_checksum_is_a_problem(tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"weights, damaged")
    check = doctor.check_model(pinned(path))
    assert check.status is Status.PROBLEM and "damaged or another version" in check.found


def test_the_install_checksum_list_finds_a_damaged_or_missing_shipped_model(
    tmp_path: Path,
) -> None:
    (tmp_path / "renderer").mkdir()
    files = {"baselines.json": b"{}", "renderer/encoder.onnx": b"graph"}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    sums = "".join(f"{hashlib.sha256(d).hexdigest()}  {n}\n" for n, d in files.items())
    (tmp_path / doctor.MANIFEST).write_text(sums)
    assert doctor.check_manifest(tmp_path).status is Status.OK
    (tmp_path / "renderer" / "encoder.onnx").write_bytes(b"grap!")
    (tmp_path / "baselines.json").unlink()
    check = doctor.check_manifest(tmp_path)
    assert check.status is Status.PROBLEM
    assert "renderer/encoder.onnx is damaged" in check.found
    assert "baselines.json is missing" in check.found
    assert doctor.check_manifest(tmp_path / "nowhere").status is Status.SKIPPED


def test_the_performance_model_files(tmp_path: Path) -> None:
    assert doctor.check_renderer(tmp_path).status is Status.PROBLEM
    (tmp_path / "baselines.json").write_text("{}")
    assert doctor.check_renderer(tmp_path).status is Status.WARNING  # a baseline plays
    (tmp_path / "renderer").mkdir()
    (tmp_path / "renderer" / "renderer.json").write_text('{"graphs": {"encoder": "e.onnx"}}')
    check = doctor.check_renderer(tmp_path)
    assert check.status is Status.PROBLEM and "e.onnx" in check.found
    (tmp_path / "renderer" / "e.onnx").write_bytes(b"graph")
    assert doctor.check_renderer(tmp_path).status is Status.OK


def test_a_full_disk_is_a_problem(tmp_path: Path) -> None:
    assert doctor.check_disk(tmp_path / "not" / "made" / "yet", min_free=0).status is Status.OK
    check = doctor.check_disk(tmp_path, min_free=1 << 62)  # more than any disk: "full"
    assert check.status is Status.PROBLEM and "free at least" in check.todo


def test_a_port_taken_by_another_program() -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        free = doctor.port_free(port, "127.0.0.1")
        assert free is False
        check = doctor.check_port(port, "phone page", box_runs=False, free=free)
        assert check.status is Status.PROBLEM and "something else" in check.found
        assert doctor.check_port(port, "phone page", box_runs=True, free=free).status is Status.OK
    assert doctor.port_free(port, "127.0.0.1") is True
    assert doctor.check_port(80, "redirect", False, None).status is Status.PROBLEM


def test_sound_outputs_and_midi() -> None:
    assert doctor.check_audio_outputs(lambda: []).status is Status.PROBLEM
    assert doctor.check_audio_outputs(lambda: ["0: pulse"]).status is Status.OK
    assert doctor.check_synthesiser(lambda name: None).status is Status.PROBLEM
    assert doctor.check_midi(lambda: []).status is Status.OK  # MIDI is optional

    def no_sequencer() -> list[str]:
        raise doctor.ApplianceError("no ALSA sequencer")

    assert doctor.check_midi(no_sequencer).status is Status.WARNING


def test_network_certificate_and_store(tmp_path: Path) -> None:
    from appliance.web.certs import ensure_certificate

    assert doctor.check_addresses([]).status is Status.PROBLEM
    assert doctor.check_addresses(["192.168.1.20"]).status is Status.OK
    folder = tmp_path / "web"
    assert doctor.check_certificate(folder).status is Status.OK  # made when the box starts
    ensure_certificate(folder, ["192.168.1.20"])
    assert doctor.check_certificate(folder).status is Status.OK
    later = datetime.now(UTC) + timedelta(days=365 * 30)
    assert doctor.check_certificate(folder, now=later).status is Status.PROBLEM
    (folder / "cert.pem").write_text("not a certificate")
    assert doctor.check_certificate(folder).status is Status.PROBLEM

    store = tmp_path / "store.sqlite3"
    assert doctor.check_store(store).status is Status.OK  # not made yet
    with sqlite3.connect(store) as conn:
        conn.execute("create table t (x)")
    conn.close()
    assert doctor.check_store(store).status is Status.OK
    store.write_bytes(b"this is not a database file, only words" * 100)
    assert doctor.check_store(store).status is Status.PROBLEM


def test_service_states() -> None:
    assert doctor.check_service("").status is Status.SKIPPED
    assert doctor.check_service("active").status is Status.OK
    failed = doctor.check_service("failed")
    assert failed.status is Status.PROBLEM and "journalctl" in failed.todo
    assert doctor.check_service("inactive").status is Status.WARNING


def all_good(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine where everything is in order (the checks that read devices stubbed)."""
    fine = Check("stub", Status.OK, "fine")
    stubbed = ("check_audio_outputs", "check_synthesiser", "check_midi", "check_addresses")
    for name in stubbed:
        monkeypatch.setattr(doctor, name, lambda fine=fine: fine)
    monkeypatch.setattr(doctor, "service_state", lambda: "active")
    monkeypatch.setattr(doctor, "pinned_models", lambda: [])
    monkeypatch.setattr(doctor, "port_free", lambda port: True)
    monkeypatch.setenv("APPLIANCE_DATA", str(tmp_path / "data"))


def test_all_good_exits_zero_and_a_problem_exits_non_zero(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    all_good(monkeypatch, tmp_path)
    health = doctor.health_summary()
    lines: list[str] = []
    assert health.ok, health.lines()
    assert doctor.report(health, lines.append) == 0 and lines[-1] == "all is well"
    assert health.to_dict()["ok"] is True
    assert {"service", "performance model", "disk space", "store"} <= {
        c.name for c in health.checks
    }
    broken = Health((*health.checks, Check("face model", Status.PROBLEM, "missing", "reinstall")))
    lines.clear()
    assert doctor.report(broken, lines.append) == 1
    assert "✗ face model: missing — reinstall" in lines


def test_a_check_that_breaks_is_reported_not_raised() -> None:
    def broken() -> Check:
        raise RuntimeError("boom")

    (check,) = doctor.guarded("audio output", broken)
    assert check.status is Status.PROBLEM and "boom" in check.found


def test_the_doctor_command_exits_with_the_verdict(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from appliance.cli import app

    all_good(monkeypatch, tmp_path)
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "✓ performance model" in result.output and "all is well" in result.output
    monkeypatch.setattr(doctor, "check_addresses", lambda: CHECK_ADDRESSES([]))
    result = CliRunner().invoke(app, ["doctor", "--http-port", "0"])
    assert result.exit_code == 1
    assert "✗ network: no LAN address — connect the box" in result.output
    assert "(redirect)" not in result.output


def test_a_chosen_model_version_that_cannot_play_is_said(monkeypatch: pytest.MonkeyPatch) -> None:
    from appliance.render import registry

    shipped, _ = registry.active_model()
    monkeypatch.setattr(registry, "active_model", lambda: (shipped, "v3 is damaged"))
    check = doctor.check_model_version()
    assert check.status is Status.WARNING and "v3 is damaged" in check.found
