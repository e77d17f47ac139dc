"""A mido backend whose one output port keeps what it is sent: the stand-in for a digital piano
(there is no ALSA sequencer here). Loaded with ``mido.Backend("tests.midi_loopback")``."""

from mido.ports import BaseOutput

SENT: list = []
NAME = "Loopback Piano MIDI 1"


def get_devices(**kwargs):
    return [{"name": NAME, "is_input": False, "is_output": True}]


class Output(BaseOutput):
    def _open(self, **kwargs):
        if self.name != NAME:
            raise OSError(f"no port {self.name}")

    def _send(self, msg):
        SENT.append(msg)
