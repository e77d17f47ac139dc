"""The voice path: a phone's microphone while the talk button is held → 16 kHz speech →
recognised text (whisper.cpp, in a worker process) → understood intents → the conductor."""
