"""Appliance benchmark (``make bench``): the whole box as it runs, measured from outside.

- **Start-up**: ``appliance run`` is started as a process with a stand-in ``$NOTIFY_SOCKET``
  (what systemd gives a ``Type=notify`` service); the time from the process's start to its
  ``READY=1`` — sent once the music plays — is the start-up time, with the box's state already
  there (as after a reboot; a first start, which also builds the library, is shown too).
- **Memory**: with ``--phones`` simulated phones connected (one talking — espeak speech through
  the speech-recognition worker — one holding its button with a real face in its camera for the
  face-reading worker, one typing sentences the rules do not understand for the language model,
  the others listening), the resident memory of every process of the box (the box and each
  worker) is read from ``/proc/PID/smaps_rollup`` once a second and the largest total is kept:
  RSS (pages shared between processes counted in each) and PSS (shared pages divided among
  them). Target: at most 1.5 GB together.
- **Restart**: each worker (speech recognition, language model, face reading) under the box's
  own supervisor is killed with SIGKILL: the time to its new process, and to its model loaded
  and ready for requests again.

The phones run in this process, the box in its own (its memory alone is counted). Both offer
their loopback address as ICE candidate (:func:`export.webbox.loopback_only`): the phones are
on the same machine.

    python -m export.bench_appliance [--phones 8] [--seconds 30]
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aioice.ice
import typer
from rich.console import Console

from appliance.console import run_app
from appliance.errors import ApplianceError
from appliance.paths import REPO_ROOT
from export import face_samples
from export.sim_camera import SimCamera
from export.sim_microphone import SimMicrophone
from export.sim_phone import SimPhone, music_per_second
from export.spoken import espeak
from export.webbox import loopback_only

console = Console()
TARGET_MB = 1536.0
BOX = (
    "import aioice.ice; from export.webbox import loopback_only; "
    "aioice.ice.get_host_addresses = loopback_only; from appliance.cli import main; main()"
)
WORKERS = {
    "appliance.speech.asr_worker": "speech recognition",
    "appliance.understand.llm_worker": "language model",
    "appliance.vision.face_worker": "face reading",
}


# -- the box's processes -----------------------------------------------------------------------


def process_tree(root: int) -> list[int]:
    """``root`` and every process under it."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo += children.get(pid, [])
    return found


def process_name(pid: int) -> str:
    """ "box", or the worker's name, or the command."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [a.decode(errors="replace") for a in argv if a]
    for module, name in WORKERS.items():
        if module in words:
            return name
    return "box" if "run" in words else " ".join(words)[:40]


def memory_kb(pid: int) -> tuple[int, int]:
    """(RSS, PSS) of ``pid`` in kB; (0, 0) when it is gone."""
    rss = pss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    except OSError:
        pass
    return rss, pss


@dataclass
class Memory:
    """The largest total seen, and each process's share at that moment (MB)."""

    rss_mb: float = 0.0
    pss_mb: float = 0.0
    parts: dict[str, tuple[float, float]] = field(default_factory=dict)
    samples: int = 0

    def sample(self, root: int) -> None:
        parts: dict[str, tuple[float, float]] = {}
        for pid in process_tree(root):
            rss, pss = memory_kb(pid)
            if rss:
                name = process_name(pid)
                old = parts.get(name, (0.0, 0.0))
                parts[name] = (old[0] + rss / 1024, old[1] + pss / 1024)
        rss_mb = sum(r for r, _ in parts.values())
        pss_mb = sum(p for _, p in parts.values())
        self.samples += 1
        if rss_mb > self.rss_mb:
            self.rss_mb, self.pss_mb, self.parts = rss_mb, pss_mb, parts


# -- the box as a process --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RunningBox:
    """``appliance run`` as the service runs it (no speakers here: the phones hear it), with a
    stand-in for systemd's notification socket."""

    def __init__(self, data: Path) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="bench-appliance-"))
        self.notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify.bind(str(self.folder / "notify"))
        self.log = self.folder / "box.txt"
        self.port = free_port()
        env = {**os.environ, "APPLIANCE_DATA": str(data), "COLUMNS": "200"}
        env["NOTIFY_SOCKET"] = str(self.folder / "notify")
        for name in ("WATCHDOG_USEC", "WATCHDOG_PID"):
            env.pop(name, None)
        command = [sys.executable, "-c", BOX, "run", "--no-speaker", "--no-advertise"]
        command += ["--https-port", str(self.port), "--http-port", str(free_port())]
        with self.log.open("w") as out:
            self.started = time.monotonic()
            self.proc = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )
        self.url = f"https://127.0.0.1:{self.port}/"

    def wait_ready(self, timeout: float = 300.0) -> float:
        """Seconds from the process's start to READY=1."""
        self.notify.settimeout(1.0)
        deadline = self.started + timeout
        while time.monotonic() < deadline:
            try:
                message = self.notify.recv(4096).decode(errors="replace")
            except TimeoutError:
                if self.proc.poll() is not None:
                    raise ApplianceError(f"the box ended: {self.shown()[-2000:]}") from None
                continue
            if "READY=1" in message.splitlines():
                return time.monotonic() - self.started
        raise ApplianceError(f"the box was not ready in {timeout:.0f} s")

    def shown(self) -> str:
        return self.log.read_text(errors="replace")

    def pin(self, not_this: str = "", timeout: float = 10.0) -> str:
        """The PIN the box shows now (a new one after each pairing)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pins = re.findall(r"PIN to pair a phone(?: is now)?: (\d+)", self.shown())
            if pins and pins[-1] != not_this:
                return str(pins[-1])
            time.sleep(0.1)
        raise ApplianceError("the box showed no PIN")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.communicate("quit\n", timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.notify.close()


# -- phones --------------------------------------------------------------------------------------


async def _pair(box: RunningBox, phone: SimPhone, last_pin: str) -> str:
    pin = box.pin(not_this=last_pin)
    if not await phone.pair(box.url, pin):
        raise ApplianceError(f"{phone.name} could not pair")
    return pin


async def _talk(phone: SimPhone, mic: SimMicrophone, speech: Any, until: float) -> int:
    """Say ``speech`` over and over, holding the button; how many times."""
    said = 0
    while time.monotonic() < until - 5:
        phone.send({"type": "talk", "pressed": True, "language": "en"})
        await asyncio.sleep(0.2)
        await asyncio.sleep(mic.say(speech, 16_000) + 0.3)
        phone.send({"type": "talk", "pressed": False})
        said += 1
        await asyncio.sleep(2.0)
    return said


async def _show_face(phone: SimPhone, until: float) -> None:
    """Hold the button (pressed again every 20 s: a hold lasts 30 s at most)."""
    while time.monotonic() < until:
        phone.send({"type": "talk", "pressed": True, "language": "en"})
        await asyncio.sleep(min(20.0, max(0.0, until - time.monotonic())))
        phone.send({"type": "talk", "pressed": False})
        await asyncio.sleep(0.3)


async def _type(phone: SimPhone, until: float) -> None:
    sentences = ["purple elephants dance on a tuesday", "could you make it sound like rain"]
    n = 0
    while time.monotonic() < until - 3:
        phone.send({"type": "command", "text": sentences[n % 2], "language": "en"})
        n += 1
        await asyncio.sleep(4.0)


async def _sample(box: RunningBox, memory: Memory, until: float) -> None:
    while time.monotonic() < until:
        memory.sample(box.proc.pid)
        await asyncio.sleep(1.0)


async def play_with_phones(box: RunningBox, phones: int, seconds: float) -> dict[str, Any]:
    aioice.ice.get_host_addresses = loopback_only
    frames, _ = face_samples.read_video(face_samples.sample("single_face.mp4"), max_frames=30)
    mic = SimMicrophone()
    talker = SimPhone("talker", address="127.0.0.51", microphone=mic)
    face = SimPhone("face", address="127.0.0.52", camera=SimCamera(frames, fps=30.0))
    typist = SimPhone("typist", address="127.0.0.53")
    listeners = [SimPhone(f"listener {i}", address=f"127.0.0.{60 + i}") for i in range(phones - 3)]
    pin = ""
    for phone in (talker, face, typist):
        pin = await _pair(box, phone, pin)
    everyone = [talker, face, typist, *listeners]
    for phone in everyone:
        await phone.join(box.url, timeout=60.0)
    speech = espeak("please play a little softer", "en-us", 150, Path(tempfile.mkdtemp()) / "s.wav")
    memory = Memory()
    begun, start = time.perf_counter(), time.monotonic()
    until = start + seconds
    said, *_ = await asyncio.gather(
        _talk(talker, mic, speech, until),
        _show_face(face, until),
        _type(typist, until),
        _sample(box, memory, until),
    )
    ended = time.perf_counter()
    heard = [e for e in talker.events if e.get("type") == "heard" and e.get("final")]
    seen = [e for e in face.events if e.get("type") == "seen"]
    replies = [e for e in typist.events if e.get("type") == "reply"]
    music = [min(music_per_second(p.frames, begun + 1, ended - 1) or [0]) for p in everyone]
    for phone in everyone:
        await phone.close()
    return {
        "memory": memory,
        "said": said,
        "heard": len(heard),
        "seen": len(seen),
        "replies": len(replies),
        "music_min": min(music),
    }


# -- restarts ------------------------------------------------------------------------------------


def restart_times() -> dict[str, tuple[float, float]]:
    """Per worker, under the box's supervisor: seconds from SIGKILL to its new process and to
    its model loaded again."""
    from appliance.speech.recognition import RecognitionWorker
    from appliance.understand.llm_client import LlmFallback
    from appliance.vision.landmarks import FaceWorker
    from appliance.workers.supervisor import Worker

    asr, llm, faces = RecognitionWorker(), LlmFallback(), FaceWorker()
    workers: list[Worker] = [asr.worker, llm.worker, faces.worker]
    out: dict[str, tuple[float, float]] = {}
    try:
        asr.start()
        llm.start()
        faces.start()
        for worker in workers:
            if not worker.wait_ready(180.0):
                raise ApplianceError(f"the {worker.name} worker did not start")
        for worker in workers:
            pid = worker.pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            killed = time.monotonic()
            while worker.pid in (None, pid) and time.monotonic() - killed < 30:
                time.sleep(0.005)
            new = time.monotonic() - killed
            worker.wait_ready(180.0)
            out[worker.name] = (new, time.monotonic() - killed)
    finally:
        asr.close()
        llm.close()
        faces.close()
    return out


# -- the report ----------------------------------------------------------------------------------


def run(phones: int, seconds: float) -> bool:
    data = Path(tempfile.mkdtemp(prefix="bench-appliance-data-"))
    face_samples.samples_dir()
    console.print(f"[bold]Appliance benchmark[/bold]: {phones} phones, {seconds:.0f} s")
    first = RunningBox(data)
    try:
        first_ready = first.wait_ready()
        console.print(f"  first start (the library built): READY=1 after {first_ready:.1f} s")
        time.sleep(10.0)  # the workers load their models
        played = asyncio.run(play_with_phones(first, phones, seconds))
    finally:
        first.stop()
    again = RunningBox(data)
    try:
        ready = again.wait_ready()
    finally:
        time.sleep(2.0)
        again.stop()
    memory: Memory = played["memory"]
    mark = {True: "[green]✓[/green]", False: "[red]✗[/red]"}
    ok = memory.pss_mb <= TARGET_MB
    console.print(f"  start-up to music (READY=1, state present): {ready:.1f} s")
    console.print(
        f"  memory of all the box's processes with {phones} phones, speech and vision active "
        f"(largest of {memory.samples} samples): RSS {memory.rss_mb:.0f} MB, "
        f"PSS {memory.pss_mb:.0f} MB (target ≤ {TARGET_MB:.0f} MB) {mark[ok]}"
    )
    for name, (rss, pss) in sorted(memory.parts.items(), key=lambda kv: -kv[1][0]):
        console.print(f"    {name:<20} RSS {rss:6.0f} MB   PSS {pss:6.0f} MB")
    console.print(
        f"  while measured: {played['said']} utterances said, {played['heard']} heard; "
        f"{played['seen']} face readings shown; {played['replies']} replies to typed text; "
        f"fewest music frames a second at a phone: {played['music_min']} (50: no gap)"
    )
    for name, (new, loaded) in restart_times().items():
        console.print(
            f"  {name} worker killed (SIGKILL): new process after {new:.2f} s "
            f"{mark[new < 2.0]}, its model loaded after {loaded:.1f} s"
        )
    return ok


app = typer.Typer(add_completion=False, help=__doc__)


@app.command()
def main_cmd(
    phones: int = typer.Option(8, help="phones connected (at least 3)"),
    seconds: float = typer.Option(30.0, help="how long the memory is watched"),
) -> None:
    """Measure and print the figures against the targets."""
    if not run(max(3, phones), seconds):
        raise typer.Exit(1)


def main() -> None:
    run_app(app)


if __name__ == "__main__":
    main()
