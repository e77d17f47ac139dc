"""FluidSynth with a piano SoundFont, rendering stereo float32 blocks (loaded once at start)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from appliance.audio.soundfont import find_soundfont
from appliance.errors import ApplianceError
from appliance.render.midi import MidiEvent

SAMPLE_RATE = 48_000
CHANNEL = 0
PIANO_PROGRAM = 0  # General MIDI: acoustic grand piano


class Synth:
    def __init__(
        self, soundfont: Path | None = None, rate: int = SAMPLE_RATE, gain: float = 0.8
    ) -> None:
        try:
            import fluidsynth
        except (ImportError, OSError) as exc:
            raise ApplianceError(
                f"FluidSynth is not available ({exc}): install Debian's libfluidsynth3 "
                "(`make run` does)"
            ) from None
        self.rate = rate
        self.soundfont = soundfont or find_soundfont()
        self._fs = fluidsynth.Synth(gain=gain, samplerate=float(rate))
        self._fs.setting("synth.reverb.active", 1)
        sfid = self._fs.sfload(str(self.soundfont))
        if sfid < 0:
            raise ApplianceError(f"FluidSynth cannot load the SoundFont {self.soundfont}")
        self._fs.program_select(CHANNEL, sfid, 0, PIANO_PROGRAM)

    def send(self, ev: MidiEvent) -> None:
        if ev.kind == "note_on":
            self._fs.noteon(CHANNEL, ev.pitch, max(1, min(127, ev.value)))
        elif ev.kind == "note_off":
            self._fs.noteoff(CHANNEL, ev.pitch)
        elif ev.kind == "pedal":
            self._fs.cc(CHANNEL, 64, ev.value)

    def silence(self) -> None:
        """Release every key and the pedal (sound dies away naturally)."""
        self._fs.cc(CHANNEL, 64, 0)
        self._fs.cc(CHANNEL, 123, 0)  # all notes off

    def render(self, frames: int) -> np.ndarray:
        """The next ``frames`` of sound: (frames, 2) float32 in [-1, 1]."""
        raw = self._fs.get_samples(frames)
        return (np.asarray(raw, np.float32).reshape(frames, 2) / 32768.0).astype(np.float32)

    def close(self) -> None:
        self._fs.delete()
