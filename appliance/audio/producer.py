"""The audio producer: a thread that turns the engine's events into sound, block by block.

Each block (10 ms) it asks the engine for the events due and the gain, plays the events into
FluidSynth at their frame offsets, renders the sound, and hands it to every sink. It keeps a
pacing sink (the speakers) filled to a small target, or follows the system clock when there is
none; rendering the music itself happens elsewhere (the engine's render-ahead thread).

A pacing sink that stops draining (an unplugged speaker) for ``STALL`` seconds, or whose write
fails, is let go: the producer follows the clock again so every other sink keeps its music, and
``on_stall`` hears of it (:mod:`appliance.audio.speaker_watch` reopens the device and
``attach``-es it again).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from appliance.audio.block import Block, SoundMaker
from appliance.audio.ceiling import PeakCeiling
from appliance.audio.format import BLOCK
from appliance.audio.loudness import amplitude_dbfs
from appliance.audio.priority import favour_this_thread
from appliance.audio.sinks import AudioSink, MidiSink
from appliance.backoff import Quieter
from appliance.midi import MidiKind

log = logging.getLogger(__name__)

MAX_CATCH_UP = 0.1  # seconds behind the clock that are made up at once (more: skipped)
TARGET_BUFFER = 4 * BLOCK  # frames kept queued at the pacing sink (40 ms: margin on a busy box)
STALL = 0.2  # seconds a full pacing sink may go without draining before it is let go
# a stream just started may wait that long for its first callbacks (PulseAudio's ALSA plugin:
# ~1.9 s); a pacing sink is judged only once it has been pacing for this long
START_GRACE = 3.0


class Producer:
    def __init__(
        self,
        advance: Callable[[int], Block],
        synth: SoundMaker,
        audio_sinks: list[AudioSink] | None = None,
        midi_sinks: list[MidiSink] | None = None,
        block: int = BLOCK,
    ) -> None:
        self.advance = advance
        self.synth = synth
        self.audio_sinks = list(audio_sinks or [])
        self.midi_sinks = list(midi_sinks or [])
        self.block = block
        self.rate = synth.rate
        self.blocks = 0
        self.late_blocks = 0  # blocks made later than their deadline (clock pacing)
        self.most_late = 0.0  # seconds: the latest a block has been made (clock pacing)
        self.busy_seconds = 0.0  # time spent making blocks
        self.notes_played = 0  # note-ons sent to the synthesiser
        self.peak = 0.0  # the loudest sample made so far
        self._running = False
        self._thread: threading.Thread | None = None
        self.realtime = False  # whether the producer thread got real-time scheduling
        self.failed_blocks = 0
        self._quieter = Quieter()
        # the room's hard ceiling (the facilitator's; none by default): every sink hears it
        self.ceiling = PeakCeiling(self.rate)
        # told (from the producer's thread; must not block) when a pacing sink is let go
        self.on_stall: Callable[[AudioSink], None] | None = None
        self.stalls = 0  # pacing sinks let go so far
        self.start_grace = START_GRACE
        self.failed_writes = 0

    def attach(self, sink: AudioSink) -> None:
        """Add a sink while playing (a speaker opened again); it paces from the next block."""
        self.audio_sinks = [*self.audio_sinks, sink]

    def detach(self, sink: AudioSink) -> None:
        self.audio_sinks = [s for s in self.audio_sinks if s is not sink]

    def _stalled(self, sink: AudioSink) -> None:
        self.stalls += 1
        self.detach(sink)
        log.warning("the pacing sink %s stopped taking sound; following the clock", sink.name)
        if self.on_stall is not None:
            try:
                self.on_stall(sink)
            except Exception:
                log.exception("on_stall failed")

    def _wait_for(self, pacer: AudioSink, started: float) -> bool:
        """Wait until the pacing sink wants more; False when it has stopped draining."""
        last = pacer.buffered()
        since = time.monotonic()
        while self._running and last >= TARGET_BUFFER:
            time.sleep(0.001)
            now_buffered = pacer.buffered()
            now = time.monotonic()
            if now_buffered < last:
                since = now
            elif now - since > (STALL if now - started > self.start_grace else self.start_grace):
                return False
            last = now_buffered
        return True

    def make_block(self) -> np.ndarray:
        """One block of sound (also usable without the thread, e.g. for offline export)."""
        t0 = time.perf_counter()
        block = self.advance(self.block)
        if block.silence:
            self.synth.silence()
            for midi in self.midi_sinks:
                midi.silence()
        parts, at = [], 0
        for offset, ev in block.events:
            if offset > at:
                parts.append(self.synth.render(offset - at))
                at = offset
            self.synth.send(ev)
            if ev.kind is MidiKind.NOTE_ON:
                self.notes_played += 1
        parts.append(self.synth.render(self.block - at))
        audio = np.concatenate(parts) if len(parts) > 1 else parts[0]
        audio *= block.gain[:, None]
        self.ceiling.apply(audio)
        self.peak = max(self.peak, float(np.abs(audio).max()))
        for sink in self.audio_sinks:
            try:
                sink.write(audio)
            except Exception:  # one sink's fault must not silence the others
                self.failed_writes += 1
                if sink.paces:
                    self._stalled(sink)
                elif self._quieter.should_say(f"write {sink.name}"):
                    log.exception("the %s output failed", sink.name)
        if block.events:
            events = [ev for _, ev in block.events]
            for midi in self.midi_sinks:
                midi.send(events)
        self.blocks += 1
        self.busy_seconds += time.perf_counter() - t0
        return audio

    def peak_dbfs(self) -> float:
        return amplitude_dbfs(self.peak)

    def start(self) -> None:
        self._running = True
        self._thread = threading.Thread(target=self._run, name="audio-producer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._running = False
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        for sink in self.audio_sinks:
            sink.close()
        for midi in self.midi_sinks:
            midi.close()

    def _run(self) -> None:
        self.realtime = favour_this_thread()
        period = self.block / self.rate
        deadline = time.monotonic()
        pacing: AudioSink | None = None
        started = deadline  # when the current pacing sink began to pace
        while self._running:
            pacer = next((s for s in self.audio_sinks if s.paces), None)
            if pacer is not pacing:
                pacing, started = pacer, time.monotonic()
            if pacer is not None:
                if not self._wait_for(pacer, started):
                    self._stalled(pacer)
                    deadline = time.monotonic()  # the clock takes over from here
                    continue
                deadline = time.monotonic()
            else:
                now = time.monotonic()
                if now < deadline:
                    time.sleep(deadline - now)
                elif now - deadline > period:
                    self.late_blocks += 1
                    self.most_late = max(self.most_late, now - deadline)
                    if now - deadline > MAX_CATCH_UP:
                        deadline = now  # too far behind: start afresh, do not burst
                    # else the blocks missed are made at once: the listeners' queues take
                    # them, and the stream loses nothing
                deadline += period
            try:
                self.make_block()
            except Exception:  # a bad event must not end the music (nor fill the log)
                self.failed_blocks += 1
                if self._quieter.should_say("block"):
                    log.exception("audio block failed (%d so far)", self.failed_blocks)
