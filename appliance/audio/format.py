"""The one sound format of the box: every producer, sink and stream agrees on it."""

from __future__ import annotations

RATE = 48_000  # frames per second: the synthesiser, the engine's clock, WebRTC (Opus) alike
CHANNELS = 2  # stereo float32 blocks, shape (frames, 2)
BLOCK = 480  # frames per audio block: 10 ms
