"""A private PulseAudio server with a null sink, and a recorder of what it plays.

For tests and benchmarks on machines without a sound card (and for running the box headless):
the server lives in a temporary folder, sounddevice reaches it through PortAudio's ALSA "pulse"
device (``PULSE_SERVER`` points at the private socket), and ``parec`` records the sink's monitor.
Needs Debian's pulseaudio, pulseaudio-utils and libasound2-plugins.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import numpy as np

from appliance.audio.format import RATE
from appliance.errors import ApplianceError

SINK = "appliance_null"


class NullSink:
    """``with NullSink() as pulse:`` — a running PulseAudio whose only output is a null sink."""

    def __init__(self, rate: int = RATE) -> None:
        self.rate = rate
        self.folder = Path(tempfile.mkdtemp(prefix="pulse-"))
        self.socket = self.folder / "native"
        self._proc: subprocess.Popen[bytes] | None = None
        self._saved: dict[str, str | None] = {}

    @property
    def env(self) -> dict[str, str]:
        return {
            "PULSE_SERVER": f"unix:{self.socket}",
            "PULSE_RUNTIME_PATH": str(self.folder),
            "PULSE_SINK": SINK,
        }

    def start(self) -> NullSink:
        exe = shutil.which("pulseaudio")
        if exe is None:
            raise ApplianceError("pulseaudio is not installed (Debian: pulseaudio)")
        env = {**os.environ, **self.env, "HOME": str(self.folder)}
        self._proc = subprocess.Popen(
            [
                exe, "--daemonize=no", "--exit-idle-time=-1", "-n", "--disallow-exit",
                "--log-target=stderr", "--log-level=error",
                "-L", f"module-null-sink sink_name={SINK} rate={self.rate} channels=2",
                "-L", f"module-native-protocol-unix socket={self.socket} auth-anonymous=1",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while not self.socket.exists():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ApplianceError("the private PulseAudio server did not start")
            time.sleep(0.05)
        for key, value in self.env.items():
            self._saved[key] = os.environ.get(key)
            os.environ[key] = value
        return self

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        for key, value in self._saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> NullSink:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def record(self) -> Recording:
        return Recording(self)


class Recording:
    """``parec`` on the null sink's monitor: float32 stereo, with the time it started."""

    def __init__(self, sink: NullSink) -> None:
        exe = shutil.which("parec")
        if exe is None:
            raise ApplianceError("parec is not installed (Debian: pulseaudio-utils)")
        self.rate = sink.rate
        self.path = sink.folder / f"rec-{time.monotonic_ns()}.raw"
        self._file = self.path.open("wb")
        env = {**os.environ, **sink.env}
        self.started = time.monotonic()
        self._proc = subprocess.Popen(
            [
                exe, f"--device={SINK}.monitor", "--format=float32le", f"--rate={sink.rate}",
                "--channels=2", "--raw", "--latency-msec=5",
            ],
            env=env,
            stdout=self._file,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def stop(self) -> np.ndarray:
        """Stop recording; the sound as (frames, 2) float32."""
        self._proc.terminate()
        self._proc.wait(timeout=5)
        self._file.close()
        data = np.fromfile(self.path, dtype="<f4")
        return data[: len(data) // 2 * 2].reshape(-1, 2)


def loudness(audio: np.ndarray, rate: int, window: float = 0.05) -> np.ndarray:
    """RMS per window of ``window`` seconds (mono mix)."""
    mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    n = int(window * rate)
    usable = len(mono) // n * n
    return np.sqrt((mono[:usable].reshape(-1, n) ** 2).mean(axis=1))
