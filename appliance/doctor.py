"""``appliance doctor``: what is wrong with the box, in plain words, and what to do about it.

Every check is a function returning a :class:`Check` (found, and what to do when it is wrong);
the ones that read the machine are thin, the decisions beside them pure, so that a missing model,
a wrong checksum or a full disk can be tested without breaking the machine.
:func:`health_summary` runs them all, for the command line and the status page alike.
"""

from __future__ import annotations

import ctypes.util
import errno
import importlib
import importlib.util
import shutil
import socket
import sqlite3
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from appliance.errors import ApplianceError
from appliance.paths import data_dir, file_sha256, models_dir

SERVICE = "appliance.service"
HTTPS_PORT = 8443  # `appliance run`'s defaults
HTTP_PORT = 8080
MIN_FREE_BYTES = 200 * 1024 * 1024  # below this the box can no longer keep what it learns
MANIFEST = "SHA256SUMS"  # written beside the shipped models by `make install`
REINSTALL = "run `sudo make install` again (or `make run` in a development clone)"


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"  # works, but worth knowing
    PROBLEM = "problem"  # something is wrong: `appliance doctor` exits non-zero
    SKIPPED = "skipped"  # not checkable here


MARKS = {Status.OK: "✓", Status.WARNING: "!", Status.PROBLEM: "✗", Status.SKIPPED: "-"}


@dataclass(frozen=True)
class Check:
    """One thing checked: what it is, what was found and, when wrong, what to do."""

    name: str
    status: Status
    found: str
    todo: str = ""

    def line(self) -> str:
        text = f"{MARKS[self.status]} {self.name}: {self.found}"
        return f"{text} — {self.todo}" if self.todo else text

    def to_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "status": str(self.status),
            "found": self.found,
            "todo": self.todo,
        }


def ok(name: str, found: str) -> Check:
    return Check(name, Status.OK, found)


def problem(name: str, found: str, todo: str) -> Check:
    return Check(name, Status.PROBLEM, found, todo)


@dataclass(frozen=True)
class Health:
    """Every check's result; ``ok`` when none found a problem."""

    checks: tuple[Check, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return all(c.status is not Status.PROBLEM for c in self.checks)

    @property
    def problems(self) -> list[Check]:
        return [c for c in self.checks if c.status is Status.PROBLEM]

    def lines(self) -> list[str]:
        return [c.line() for c in self.checks]

    def to_dict(self) -> dict[str, object]:
        return {"ok": self.ok, "checks": [c.to_dict() for c in self.checks]}


def guarded(name: str, check: Callable[[], Check | list[Check]]) -> list[Check]:
    """A check's results; a check that fails in an unforeseen way is a problem line too."""
    try:
        got = check()
    except Exception as exc:  # the doctor must finish and say what it found
        return [problem(name, f"could not be checked ({exc})", "see the message above")]
    return got if isinstance(got, list) else [got]


# Sound


def check_audio_outputs(list_devices: Callable[[], list[str]] | None = None) -> Check:
    name = "audio output"
    if list_devices is None:
        from appliance.audio.speaker import list_devices as speakers

        list_devices = speakers
    try:
        devices = list_devices()
    except ApplianceError as exc:
        return problem(name, str(exc), "install Debian's libportaudio2 (`make install` does)")
    if not devices:
        return problem(
            name,
            "no sound output found",
            "plug in speakers or headphones and check `aplay -l` lists a card; the service's "
            "user must be in the audio group",
        )
    return ok(name, f"{len(devices)} found ({devices[0]}…)")


def check_synthesiser(find: Callable[[str], str | None] = ctypes.util.find_library) -> Check:
    name = "synthesiser"
    if find("fluidsynth") is None:
        return problem(name, "FluidSynth is not installed", "install Debian's libfluidsynth3")
    from appliance.soundfont import find_soundfont

    try:
        font = find_soundfont()
    except ApplianceError as exc:
        return problem(name, "FluidSynth has no piano sound", str(exc))
    return ok(name, f"FluidSynth with {font.name}")


def check_midi(list_ports: Callable[[], list[str]] | None = None) -> Check:
    """MIDI out is only for a digital piano: its absence is never a problem."""
    name = "MIDI"
    if list_ports is None:
        from appliance.audio.midi_out import list_ports as midi_ports

        list_ports = midi_ports
    try:
        ports = list_ports()
    except ApplianceError:
        return Check(
            name, Status.WARNING, "no MIDI system (ALSA sequencer) here",
            "only needed for a digital piano: `modprobe snd-seq` or plug in a MIDI interface",
        )  # fmt: skip
    if not ports:
        return ok(name, "no MIDI output ports (only needed for a digital piano)")
    return ok(name, f"{len(ports)} output port(s): {', '.join(ports)}")


# Models


@dataclass(frozen=True)
class PinnedModel:
    """A model file pinned by its SHA-256 (``path`` None: the package holding it is missing)."""

    what: str
    path: Path | None
    sha256: str
    how: str


def check_model(model: PinnedModel) -> Check:
    if model.path is None:
        return problem(model.what, "missing (its package is not installed)", model.how)
    if not model.path.is_file():
        return problem(model.what, f"{model.path} is missing", model.how)
    if file_sha256(model.path) != model.sha256:
        return problem(model.what, f"{model.path} is damaged or another version", model.how)
    return ok(model.what, "present, checksum right")


def pinned_models() -> list[PinnedModel]:
    """The model files the box checks before using them: voice activity, speech, the language
    model and the face model (the runtime pins them; the doctor checks the same pins)."""
    from appliance.speech import vad
    from appliance.speech.whisper_models import CONVERSIONS, HOW_TO_INSTALL, INSTALLED, whisper_dir
    from appliance.understand import llm_files
    from appliance.vision import face_model

    spec = importlib.util.find_spec("silero_vad")
    vad_path = None
    if spec is not None and spec.submodule_search_locations:
        vad_path = Path(next(iter(spec.submodule_search_locations))) / "data" / "silero_vad.onnx"
    how_llm = "install it with `make install` (or `python -m export.llm_model install`)"
    models = [PinnedModel("voice-activity model", vad_path, vad.MODEL_SHA256, REINSTALL)]
    for name in INSTALLED:
        model = CONVERSIONS[name]
        path = whisper_dir() / model.file_name
        models.append(PinnedModel(f"speech model {name}", path, model.sha256, HOW_TO_INSTALL))
    models.append(
        PinnedModel("language model", llm_files.model_path(), llm_files.MODEL_SHA256, how_llm)
    )
    models.append(
        PinnedModel("face model", face_model.model_path(), face_model.MODEL_SHA256, face_model.HOW)
    )
    return models


def check_renderer(folder: Path | None = None) -> Check:
    """The shipped performance model: the neural renderer's files (else a baseline plays)."""
    import json

    name = "performance model"
    folder = folder or models_dir()
    meta = folder / "renderer" / "renderer.json"
    try:
        graphs = json.loads(meta.read_text())["graphs"]
    except (OSError, ValueError, KeyError, TypeError):
        if (folder / "baselines.json").is_file():
            return Check(
                name, Status.WARNING, "the neural renderer is missing: a simpler one plays",
                REINSTALL,
            )  # fmt: skip
        return problem(name, f"no performance model in {folder}", REINSTALL)
    missing = [str(g) for g in graphs.values() if not (folder / "renderer" / str(g)).is_file()]
    if missing:
        return problem(name, f"the neural renderer lacks {', '.join(missing)}", REINSTALL)
    return ok(name, "the neural renderer is there")


def check_model_version() -> Check:
    """The renderer version chosen to play (``appliance model use``) is there and whole."""
    name = "performance model version"
    try:
        registry = importlib.import_module("appliance.render.registry")
        version, trouble = registry.active_model()
    except (ImportError, AttributeError):
        return Check(name, Status.SKIPPED, "this version has no model versions")
    if trouble:
        return Check(
            name, Status.WARNING, str(trouble),
            "`appliance model list` shows the versions; `appliance model use` picks one",
        )  # fmt: skip
    return ok(name, f"{version.version} plays")


def check_manifest(folder: Path | None = None) -> Check:
    """The shipped models against the checksums written when they were installed."""
    name = "shipped models"
    folder = folder or models_dir()
    manifest = folder / MANIFEST
    if not manifest.is_file():
        return Check(name, Status.SKIPPED, "no checksum list (not installed with `make install`)")
    bad = []
    lines = [line.split(None, 1) for line in manifest.read_text().splitlines() if line.strip()]
    for digest, relative in lines:
        path = folder / relative
        if not path.is_file():
            bad.append(f"{relative} is missing")
        elif file_sha256(path) != digest:
            bad.append(f"{relative} is damaged")
    if bad:
        return problem(name, "; ".join(bad), REINSTALL)
    return ok(name, f"{len(lines)} files, checksums right")


# Network


def port_free(port: int, host: str = "0.0.0.0") -> bool | None:
    """Whether ``port`` could be listened on now (None: not allowed, e.g. below 1024)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except PermissionError:
            return None
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def check_port(port: int, what: str, box_runs: bool, free: bool | None) -> Check:
    name = f"port {port} ({what})"
    if free is None:
        return problem(name, "not allowed to listen on it", "use a port above 1024")
    if free:
        return ok(name, "free for the box")
    if box_runs:
        return ok(name, "in use by the box (the service runs)")
    return problem(
        name,
        "something else is listening on it",
        f"stop the other program (`ss -ltnp 'sport = :{port}'` shows which), or give "
        "`appliance run` another port",
    )


def check_addresses(addresses: Sequence[str] | None = None) -> Check:
    name = "network"
    if addresses is None:
        from appliance.web.addresses import reachable_addresses

        addresses = reachable_addresses()
    if not addresses:
        return problem(
            name, "no LAN address", "connect the box to the Wi-Fi or network the phones use"
        )
    return ok(name, f"phones reach it at {', '.join(addresses[:3])}")


def check_certificate(folder: Path | None = None, now: datetime | None = None) -> Check:
    from cryptography import x509

    name = "certificate"
    path = (folder or data_dir() / "web") / "cert.pem"
    todo = f"delete {path} and restart the box: it makes a new one"
    if not path.exists():
        return ok(name, "not made yet (the box makes one when it starts)")
    try:
        cert = x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        return problem(name, f"{path} cannot be read ({exc})", todo)
    ends = cert.not_valid_after_utc
    if ends <= (now or datetime.now(UTC)):
        return problem(name, f"expired on {ends:%Y-%m-%d}", todo)
    return ok(name, f"valid until {ends:%Y-%m-%d}")


# Storage


def check_disk(folder: Path | None = None, min_free: int = MIN_FREE_BYTES) -> Check:
    name = "disk space"
    folder = folder or data_dir()
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    found = f"{free / 1e9:.1f} GB free for {folder}"
    if free < min_free:
        return problem(
            name, found, f"free at least {min_free / 1e6:.0f} MB (old recordings, added pieces)"
        )
    return ok(name, found)


def check_store(path: Path | None = None) -> Check:
    """The box's database opens and is whole (read only: nothing is changed or moved)."""
    name = "store"
    if path is None:
        try:
            settings = importlib.import_module("appliance.store.settings")
            path = Path(settings.store_path())
        except (ImportError, AttributeError):
            return Check(name, Status.SKIPPED, "this version has no store")
    if not path.exists():
        return ok(name, "not made yet (the box makes it when it starts)")
    todo = f"stop the box and move {path} aside: it starts a new one"
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            verdict = conn.execute("PRAGMA quick_check").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return problem(name, f"{path} cannot be opened ({exc})", todo)
    if not verdict or verdict[0] != "ok":
        return problem(name, f"{path} is damaged", todo)
    return ok(name, f"{path} opens and is whole")


# The service


def service_state(run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run) -> str:
    """``systemctl is-active``'s answer ("" when systemd does not run here)."""
    if not Path("/run/systemd/system").is_dir() or shutil.which("systemctl") is None:
        return ""
    done = run(["systemctl", "is-active", SERVICE], capture_output=True, text=True, timeout=10)
    return done.stdout.strip() or "unknown"


def check_service(state: str) -> Check:
    name = "service"
    if not state:
        return Check(name, Status.SKIPPED, "systemd is not running here")
    if state in ("active", "reloading"):
        return ok(name, "running")
    if state == "activating":
        return ok(name, "starting")
    if state == "failed":
        return problem(
            name,
            "it stopped with an error",
            "`journalctl -u appliance -n 50` says why; `sudo systemctl restart appliance`",
        )
    return Check(
        name, Status.WARNING, f"not running ({state})",
        "`sudo make install` installs it; `sudo systemctl start appliance` starts it",
    )  # fmt: skip


def health_summary(
    https_port: int = HTTPS_PORT, http_port: int = HTTP_PORT, models: bool = True
) -> Health:
    """Every check, in the order shown. ``models=False`` leaves out hashing the model files
    (a second or so), e.g. for a status page asked often."""
    state = service_state()
    runs = state in ("active", "activating", "reloading")
    checks: list[Check] = []
    steps: list[tuple[str, Callable[[], Check | list[Check]]]] = [
        ("service", lambda: check_service(state)),
        ("audio output", check_audio_outputs),
        ("synthesiser", check_synthesiser),
        ("MIDI", check_midi),
        ("performance model", check_renderer),
        ("performance model version", check_model_version),
    ]
    if models:
        steps.append(("shipped models", check_manifest))
        steps.append(("models", lambda: [check_model(m) for m in pinned_models()]))
    for port, what in ((https_port, "phone page"), (http_port, "redirect")):
        if port:
            steps.append((f"port {port}", _port_step(port, what, runs)))
    steps += [
        ("network", check_addresses),
        ("certificate", check_certificate),
        ("disk space", check_disk),
        ("store", check_store),
    ]
    for name, step in steps:
        checks.extend(guarded(name, step))
    return Health(tuple(checks))


def _port_step(port: int, what: str, runs: bool) -> Callable[[], Check]:
    return lambda: check_port(port, what, runs, port_free(port))


def report(health: Health, echo: Callable[[str], object] = print) -> int:
    """Print one line per check, then the verdict; the exit status (1: something is wrong)."""
    for line in health.lines():
        echo(line)
    wrong = health.problems
    if wrong:
        echo(f"{len(wrong)} problem(s): see the lines marked ✗")
        return 1
    echo("all is well")
    return 0
