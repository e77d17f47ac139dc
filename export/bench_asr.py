"""Benchmark the box's speech recognition: word error rate, decode time and memory (prints only).

Why: which Whisper model serves which language, q8_0 or f16, and whether a reduced encoder
context costs accuracy are decided by these figures. Utterances come from
``tests/utterances/*.jsonl`` (JSON lines with "text" and "language") when there are any, else
from a built-in list; each is spoken by espeak-ng in a rotation of voices and speeds, a third of
them with piano music mixed in 18 dB and another third 12 dB below the speech.

    python -m export.bench_asr [--limit 20] [--languages en,de,es,ru] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path

import numpy as np

from appliance.midi import MidiEvent, MidiKind
from appliance.paths import REPO_ROOT
from appliance.speech.prompt import build_prompt
from appliance.speech.recognise import Recogniser
from appliance.speech.whisper_models import CONVERSIONS, LANGUAGE_MODELS, whisper_dir
from export.spoken import SPEECH_RATE, espeak, word_errors
from export.whisper_convert import install_one

BUILT_IN: dict[str, tuple[str, ...]] = {
    "en": (
        "play softer please", "faster", "a little slower", "stop", "pause",
        "play from the beginning", "louder please", "go back to bar twelve",
        "play it more legato", "not so loud", "crescendo here", "play Clair de lune by Debussy",
        "undo that", "back to normal", "slow down a bit at the end of this phrase",
        "could you play the second movement a little faster and much softer",
        "play Für Elise by Beethoven", "more staccato in the left hand please",
        "start again from bar five and play it slowly", "play a bit quieter from here on",
    ),
    "de": (
        "bitte leiser", "schneller", "etwas langsamer", "stopp", "Pause",
        "spiel von vorne", "lauter bitte", "geh zurück zu Takt zwölf", "spiel mehr legato",
        "nicht so laut", "hier crescendo", "spiel Clair de lune von Debussy",
        "mach das rückgängig", "wieder normal", "am Ende dieser Phrase etwas langsamer werden",
        "spiel den zweiten Satz ein bisschen schneller und viel leiser",
        "spiel Für Elise von Beethoven", "mehr staccato in der linken Hand bitte",
        "fang noch einmal bei Takt fünf an und spiel langsam", "ab hier etwas leiser",
    ),
    "es": (
        "más suave por favor", "más rápido", "un poco más lento", "para", "pausa",
        "toca desde el principio", "más fuerte por favor", "vuelve al compás doce",
        "toca más legato", "no tan fuerte", "crescendo aquí", "toca Clair de lune de Debussy",
        "deshaz eso", "vuelve a la normalidad",
        "frena un poco al final de esta frase",
        "toca el segundo movimiento un poco más rápido y mucho más suave",
        "toca Para Elisa de Beethoven", "más staccato en la mano izquierda por favor",
        "empieza otra vez en el compás cinco y tócalo despacio", "un poco más bajo desde aquí",
    ),
    "ru": (
        "тише пожалуйста", "быстрее", "чуть медленнее", "стоп", "пауза",
        "играй с начала", "громче пожалуйста", "вернись к такту двенадцать",
        "играй более легато", "не так громко", "здесь крещендо", "сыграй Лунный свет Дебюсси",
        "отмени", "играй нормально", "замедли немного в конце этой фразы",
        "сыграй вторую часть чуть быстрее и гораздо тише",
        "сыграй К Элизе Бетховена", "больше стаккато в левой руке пожалуйста",
        "начни снова с пятого такта и играй медленно", "отсюда немного тише",
    ),
}  # fmt: skip

VOICES: dict[str, tuple[str, ...]] = {
    "en": ("en-us", "en-gb", "en+f3", "en-us+m3", "en-gb+f2"),
    "de": ("de", "de+f3", "de+m3", "de+f2"),
    "es": ("es", "es-419", "es+f3", "es+m3"),
    "ru": ("ru", "ru+f3", "ru+m3", "ru+f2"),
}
SPEEDS = (140, 175, 210)
MUSIC_DB: tuple[float | None, ...] = (None, -18.0, -12.0)
PIECES = (("Clair de lune", "Debussy"), ("Für Elise", "Beethoven"), ("Gymnopédie", "Satie"))
LONG_SECONDS = 3.5  # the border between the "~2 s" and "~5 s" groups


@dataclass(frozen=True)
class Setting:
    """One way of recognising: a model, full or reduced encoder context, with or without
    the vocabulary prompt."""

    model: str
    reduce_context: bool = True
    prompt: bool = True

    @property
    def label(self) -> str:
        ctx = "reduced" if self.reduce_context else "full"
        return f"{self.model} ctx={ctx}{'' if self.prompt else ' no-prompt'}"


@dataclass
class Tally:
    errors: int = 0
    words: int = 0
    short_times: list[float] = field(default_factory=list)
    long_times: list[float] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)


def settings_for(language: str) -> list[Setting]:
    box = LANGUAGE_MODELS[language]
    alternatives = ["tiny.en-f16", "base-q8_0", "base-f16"] if language == "en" else ["base-f16"]
    return [
        Setting(box),
        Setting(box, reduce_context=False),
        Setting(box, prompt=False),
        *(Setting(name) for name in alternatives if name != box),
    ]


def load_utterances(limit: int) -> dict[str, list[str]]:
    """Texts per language: the shared JSON-lines files if any exist, else the built-in list."""
    found: dict[str, list[str]] = {}
    for path in sorted((REPO_ROOT / "tests" / "utterances").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                if item.get("language") in BUILT_IN and item.get("text"):
                    found.setdefault(item["language"], []).append(str(item["text"]))
    source = found or {lang: list(texts) for lang, texts in BUILT_IN.items()}
    print("utterances:", "tests/utterances/*.jsonl" if found else "built-in list")
    # Spread over each file (its lines are grouped by kind of command).
    limit = max(1, limit)
    return {lang: texts[:: max(1, len(texts) // limit)][:limit] for lang, texts in source.items()}


def piano_music(seconds: float, seed: int = 7) -> np.ndarray:
    """A piano playing broken chords (FluidSynth, the box's SoundFont) at 16 kHz mono."""
    from appliance.audio.synth import Synth

    rng = np.random.default_rng(seed)
    synth = Synth(rate=SPEECH_RATE)
    parts, at, t = [], 0, 0.0
    roots = (48, 53, 55, 57, 50, 52)
    while t < seconds:
        root = int(rng.choice(roots))
        for step, pitch in enumerate((root, root + 7, root + 12, root + 16, root + 19, root + 12)):
            when = t + step * 0.18
            frame = round(when * SPEECH_RATE)
            if frame > at:
                parts.append(synth.render(frame - at))
                at = frame
            velocity = int(rng.integers(50, 90))
            synth.send(MidiEvent(when, 1, MidiKind.NOTE_ON, pitch=pitch, value=velocity))
        t += 1.2
        for pitch in (root, root + 7, root + 12, root + 16, root + 19):
            synth.send(MidiEvent(t, 0, MidiKind.NOTE_OFF, pitch=pitch))
    parts.append(synth.render(SPEECH_RATE))
    synth.close()
    return np.concatenate(parts).mean(axis=1).astype(np.float32)


def mix(speech: np.ndarray, music: np.ndarray, db: float, offset: int) -> np.ndarray:
    """``speech`` with ``music`` (from ``offset``) at ``db`` relative to the speech's RMS over
    its voiced part."""
    voiced = speech[np.abs(speech) > 0.01]
    speech_rms = float(np.sqrt(np.mean(voiced**2))) if len(voiced) else 0.1
    piece = np.resize(np.roll(music, -offset), len(speech))
    music_rms = float(np.sqrt(np.mean(piece**2))) or 1.0
    gain = speech_rms * 10 ** (db / 20) / music_rms
    return np.clip(speech + gain * piece, -1.0, 1.0).astype(np.float32)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else math.nan


def prepare_models(directory: Path, names: set[str]) -> None:
    """The models the settings need in ``directory``: the installed ones linked, others
    converted there (pinned like the installed ones)."""
    for name in sorted(names):
        spec = CONVERSIONS[name]
        installed = whisper_dir() / spec.file_name
        if installed.is_file():
            (directory / spec.file_name).symlink_to(installed)
        else:
            install_one(spec, directory)


def rss_of(model_path: Path, threads: int) -> str:
    """Peak resident memory (VmHWM) of a fresh process that loads ``model_path`` and decodes 3 s
    of silence, and that of the same process before loading (the interpreter and libraries)."""
    code = (
        "import os, re, numpy as np; os.environ['OMP_WAIT_POLICY']='PASSIVE';\n"
        "from pywhispercpp.model import Model\n"
        "def hwm():\n"
        "    s = open('/proc/self/status').read()\n"
        "    return int(re.search(r'VmHWM:\\s+(\\d+)', s).group(1)) // 1024\n"
        "before = hwm()\n"
        f"m = Model({str(model_path)!r}, redirect_whispercpp_logs_to=None, n_threads={threads},"
        " print_progress=False)\n"
        "m.transcribe(np.zeros(48000, np.float32), language='en', audio_ctx=512)\n"
        "print(hwm(), before)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    peak, before = done.stdout.split()[-2:]
    return f"{peak:>5s} MB (before loading: {before} MB)"


def run(limit: int, languages: list[str], threads: int) -> None:
    utterances = load_utterances(limit)
    settings = {lang: settings_for(lang) for lang in languages}
    names = {s.model for group in settings.values() for s in group}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        prepare_models(directory, names)
        recogniser = Recogniser(n_threads=threads, model_dir=directory)
        music = piano_music(40.0)
        tallies: dict[tuple[str, str], Tally] = {}
        for lang in languages:
            prompt = build_prompt(lang, PIECES)
            conditions = list(product(VOICES[lang], SPEEDS, MUSIC_DB))
            for i, text in enumerate(utterances.get(lang, [])):
                voice, speed, db = conditions[(i * 7) % len(conditions)]
                speech = espeak(text, voice, speed, directory / "utterance.wav")
                if db is not None:
                    speech = mix(speech, music, db, offset=i * 9_000)
                seconds = len(speech) / SPEECH_RATE
                for setting in settings[lang]:
                    recogniser.reduce_context = setting.reduce_context
                    heard = recogniser.transcribe(
                        speech, lang, prompt if setting.prompt else "", CONVERSIONS[setting.model]
                    )
                    tally = tallies.setdefault((lang, setting.label), Tally())
                    errors, count = word_errors(text, heard.text)
                    tally.errors += errors
                    tally.words += count
                    times = tally.short_times if seconds < LONG_SECONDS else tally.long_times
                    times.append(heard.decode_seconds)
                    if errors and len(tally.examples) < 3:
                        tally.examples.append(f"{text!r} → {heard.text!r}")
                music_label = "clean" if db is None else f"music {db:+.0f} dB"
                print(f"  {lang} {i + 1:2d} {voice:9s} {speed} {music_label:14s} {seconds:4.1f} s")
        report(tallies)
        long_utterances(recogniser, languages, directory)
        print("\nresident memory (peak RSS of a process that loads the model and decodes 3 s):")
        for name in sorted(names):
            path = directory / CONVERSIONS[name].file_name
            print(f"  {name:14s} {rss_of(path.resolve(), threads)}")


def long_utterances(recogniser: Recogniser, languages: list[str], directory: Path) -> None:
    """Decode times for the longest commands (the built-in sentences of 7+ words at 140 words a
    minute, 3–4 s with espeak-ng), with each language's model, reduced and full context."""
    print("\nlong sentences (built-in, 7+ words, 140 wpm, two voices, clean): decode s p50/p95")
    for lang in languages:
        texts = [t for t in BUILT_IN[lang] if len(t.split()) >= 7]
        spoken = [
            espeak(text, voice, 140, directory / "long.wav")
            for text in texts
            for voice in VOICES[lang][:2]
        ]
        seconds = [len(a) / SPEECH_RATE for a in spoken]
        prompt = build_prompt(lang, PIECES)
        for reduce in (True, False):
            recogniser.reduce_context = reduce
            errors = words = 0
            times = []
            for text, audio in zip([t for t in texts for _ in range(2)], spoken, strict=True):
                heard = recogniser.transcribe(audio, lang, prompt)
                times.append(heard.decode_seconds)
                e, n = word_errors(text, heard.text)
                errors, words = errors + e, words + n
            print(
                f"  {lang} {LANGUAGE_MODELS[lang]:13s} ctx={'reduced' if reduce else 'full':7s}"
                f" audio {np.median(seconds):.1f} s (n={len(times)}):"
                f" {percentile(times, 50):.2f}/{percentile(times, 95):.2f}"
                f"  WER {errors / max(words, 1):.1%}"
            )


def report(tallies: dict[tuple[str, str], Tally]) -> None:
    print(f"\n{'lang':4s} {'setting':36s} {'WER':>6s} {'words':>5s}  decode s p50/p95: ~2 s | ~5 s")
    for (lang, label), t in tallies.items():
        wer = t.errors / t.words if t.words else math.nan
        short = f"{percentile(t.short_times, 50):.2f}/{percentile(t.short_times, 95):.2f}"
        long = f"{percentile(t.long_times, 50):.2f}/{percentile(t.long_times, 95):.2f}"
        print(
            f"{lang:4s} {label:36s} {wer:6.1%} {t.words:5d}  {short} (n={len(t.short_times)})"
            f" | {long} (n={len(t.long_times)})"
        )
    print("\nexamples of errors:")
    for (lang, label), t in tallies.items():
        for example in t.examples[:2]:
            print(f"  {lang} {label}: {example}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.bench_asr", description=__doc__)
    parser.add_argument("--limit", type=int, default=20, help="utterances per language")
    parser.add_argument("--languages", default="en,de,es,ru")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    started = time.monotonic()
    run(args.limit, [lang for lang in args.languages.split(",") if lang], args.threads)
    print(f"\n{time.monotonic() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
