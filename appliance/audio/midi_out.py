"""MIDI out to a real digital piano through mido (port chosen by name)."""

from __future__ import annotations

from typing import Any

from appliance.audio.sinks import MidiSink
from appliance.errors import ApplianceError
from appliance.midi import ALL_NOTES_OFF, SUSTAIN, MidiEvent

GOES_ON = "the music goes on to the other outputs"


def _backend(name: str | None = None) -> Any:
    """mido's backend (python-rtmidi on ALSA by default; ``name`` picks another module)."""
    import mido

    return mido.Backend(name) if name else mido


def list_ports(backend: str | None = None) -> list[str]:
    try:
        return list(_backend(backend).get_output_names())
    except Exception as exc:  # no MIDI backend (python-rtmidi missing, no ALSA sequencer)
        raise ApplianceError(f"cannot list MIDI ports ({exc})") from None


class MidiOut(MidiSink):
    name = "midi"

    def __init__(self, port: str, backend: str | None = None) -> None:
        import mido

        io = _backend(backend)
        try:
            names = list(io.get_output_names())
        except Exception as exc:  # no ALSA sequencer, python-rtmidi missing
            raise ApplianceError(
                f"no MIDI output port {port!r}: this machine has no MIDI system ({exc}); {GOES_ON}"
            ) from None
        match = [n for n in names if n == port] or [n for n in names if port.lower() in n.lower()]
        if not match:
            raise ApplianceError(
                f"no MIDI output port {port!r} (ports: {', '.join(names) or 'none'}); {GOES_ON}"
            )
        self.port_name = match[0]
        self._port = io.open_output(self.port_name)
        self._mido = mido

    def send(self, events: list[MidiEvent]) -> None:
        for ev in events:
            self._port.send(ev.to_mido())

    def silence(self) -> None:
        self._port.send(self._mido.Message("control_change", control=SUSTAIN, value=0))
        self._port.send(self._mido.Message("control_change", control=ALL_NOTES_OFF, value=0))

    def close(self) -> None:
        self.silence()
        self._port.close()
