"""FluidSynth with a piano SoundFont, rendering stereo float32 blocks (loaded once at start).

The output is brought to a calibrated level: FluidSynth's own output is quiet (a rendered
piece averaged about −34 dBFS), so it is raised by a gain per SoundFont (``LEVELS``) chosen so
that a typical piano piece measures about ``TARGET_LUFS`` integrated loudness at full volume
(:mod:`appliance.audio.loudness`; ``python -m export.bench_level`` measures the shipped pieces:
a quiet prelude comes out a few dB under it, a loud rag a few dB over — the pieces' own dynamics
are kept, not normalised away), and a soft limiter keeps the loudest chords under ``CEILING``
(−1 dBFS) without clipping. The box's volume setting scales this level down.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from appliance.audio.format import RATE
from appliance.errors import ApplianceError
from appliance.midi import ALL_NOTES_OFF, SUSTAIN, MidiEvent, MidiKind
from appliance.soundfont import find_soundfont

# gain on FluidSynth's output per SoundFont file (see the module docstring)
LEVELS = {"FluidR3_GM.sf2": 3.0, "TimGM6mb.sf2": 5.0}
DEFAULT_LEVEL = 3.0
TARGET_LUFS = -18.0
KNEE = 0.5  # above this the limiter starts to bend (about −6 dBFS)
CEILING = 0.891  # −1 dBFS: the limiter never goes above it
CHANNEL = 0
PIANO_PROGRAM = 0  # General MIDI: acoustic grand piano


class Synth:
    def __init__(self, soundfont: Path | None = None, rate: int = RATE, gain: float = 0.8) -> None:
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
        self.level = LEVELS.get(self.soundfont.name, DEFAULT_LEVEL)

    def send(self, ev: MidiEvent) -> None:
        if ev.kind is MidiKind.NOTE_ON:
            self._fs.noteon(CHANNEL, ev.pitch, ev.velocity)
        elif ev.kind is MidiKind.NOTE_OFF:
            self._fs.noteoff(CHANNEL, ev.pitch)
        elif ev.kind is MidiKind.PEDAL:
            self._fs.cc(CHANNEL, SUSTAIN, ev.value)

    def silence(self) -> None:
        """Release every key and the pedal (sound dies away naturally)."""
        self._fs.cc(CHANNEL, SUSTAIN, 0)
        self._fs.cc(CHANNEL, ALL_NOTES_OFF, 0)

    def render(self, frames: int) -> np.ndarray:
        """The next ``frames`` of sound: (frames, 2) float32 at the calibrated level, limited."""
        raw = self._fs.get_samples(frames)
        audio = np.asarray(raw, np.float32).reshape(frames, 2) * np.float32(self.level / 32768.0)
        return soft_limit(audio)

    def close(self) -> None:
        self._fs.delete()


def soft_limit(audio: np.ndarray, knee: float = KNEE, ceiling: float = CEILING) -> np.ndarray:
    """Unchanged below ``knee``; above it bent smoothly (same slope at the knee) towards
    ``ceiling``, which it never reaches."""
    size = np.abs(audio)
    over = size > knee
    if not over.any():
        return audio
    room = ceiling - knee
    bent = knee + room * np.tanh((size[over] - knee) / room)
    out = audio.copy()
    out[over] = np.sign(audio[over]) * bent
    return out.astype(np.float32)
