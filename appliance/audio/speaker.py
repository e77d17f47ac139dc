"""The local speakers through sounddevice (PortAudio): the sink that sets the pace."""

from __future__ import annotations

from typing import Any

import numpy as np

from appliance.audio.format import BLOCK, RATE
from appliance.audio.priority import favour_this_thread
from appliance.audio.ring import Ring
from appliance.audio.sinks import AudioSink
from appliance.errors import ApplianceError


def _sounddevice() -> Any:
    try:
        import sounddevice
    except (ImportError, OSError) as exc:
        raise ApplianceError(
            f"no audio output: PortAudio is not available ({exc}); install Debian's libportaudio2"
        ) from None
    return sounddevice


def list_devices() -> list[str]:
    sd = _sounddevice()
    return [
        f"{i}: {d['name']}"
        for i, d in enumerate(sd.query_devices())
        if d.get("max_output_channels", 0) >= 2
    ]


class Speaker(AudioSink):
    name = "speaker"
    paces = True

    def __init__(
        self, device: str | int | None = None, rate: int = RATE, block: int = BLOCK
    ) -> None:
        sd = _sounddevice()
        self.ring = Ring(rate)  # at most a second queued
        self._favoured = False
        self.realtime = False  # whether PortAudio's callback thread got real-time scheduling
        try:
            self._stream = sd.OutputStream(
                samplerate=rate,
                channels=2,
                dtype="float32",
                blocksize=block,
                latency="low",
                device=device,
                callback=self._callback,
            )
            self._stream.start()
        except Exception as exc:  # PortAudioError, ValueError for unknown devices
            raise ApplianceError(
                f"cannot open the audio output {device if device is not None else '(default)'}: "
                f"{exc}; the music goes on to the other outputs"
            ) from None
        self.latency = float(self._stream.latency)

    def _callback(self, out: np.ndarray, frames: int, _time: Any, _status: Any) -> None:
        if not self._favoured:  # PortAudio's thread: as urgent as the one filling the ring
            self._favoured = True
            self.realtime = favour_this_thread()
        self.ring.read_into(out)

    def write(self, block: np.ndarray) -> None:
        self.ring.write(block)

    def buffered(self) -> int:
        return self.ring.buffered

    @property
    def underruns(self) -> int:
        return self.ring.underruns

    def close(self) -> None:
        try:
            self._stream.stop()
            self._stream.close()
        except Exception:  # already gone with the device
            pass
