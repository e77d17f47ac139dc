"""Sound: FluidSynth synthesis, the audio producer and its sinks (speakers, WebRTC, MIDI, WAV)."""
