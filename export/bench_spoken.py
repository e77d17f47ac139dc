"""Benchmark: understanding from audio — the utterance set spoken by espeak-ng, recognised as
the box recognises it, then understood as the box understands it.

Each language's utterances (``tests/utterances/*.jsonl``, spread over the file) are spoken in
the language's espeak-ng voices and speeds in turn, a third clean, a third with piano at
−18 dB and a third at −12 dB (the ducked music heard behind the speaker); recognised by the
box's model for the language with the box's prompt; and understood by the rules (with the
sentence model for descriptions) and, for what the rules do not understand, the local language
model. Printed per language: word error rate, and intent accuracy with the rules alone and with
the language model (:func:`export.bench_understand.judge`: the same scoring as from text).

``python -m export.bench_spoken [--limit 24] [--lang en] [--no-llm]``
"""

from __future__ import annotations

import argparse
import functools
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from appliance.understand.intents import to_dict

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@dataclass
class Row:
    errors: int = 0
    words: int = 0
    rules: int = 0
    llm: int = 0
    utterances: int = 0


def main(argv: list[str] | None = None) -> int:
    from appliance.directions.descriptors import Describer, describe_said
    from appliance.speech.prompt import build_prompt
    from appliance.speech.recognise import Recogniser
    from appliance.understand import understand
    from export.bench_asr import MUSIC_DB, SPEEDS, VOICES, mix, piano_music
    from export.bench_understand import Score, judge, load, shipped_library
    from export.spoken import espeak, word_errors

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=24, help="utterances per language")
    parser.add_argument("--lang", action="append", choices=("en", "de", "es", "ru"))
    parser.add_argument("--llm", action=argparse.BooleanOptionalAction, default=True)
    args = parser.parse_args(argv)
    languages = tuple(args.lang or ("en", "de", "es", "ru"))
    library = shipped_library()
    pieces = [(p.title, p.composer) for p in library.pieces.values()]
    describer = Describer()
    recogniser = Recogniser(n_threads=2)
    fallback = None
    if args.llm:
        from appliance.understand.llm_client import LlmFallback

        fallback = LlmFallback()
        fallback.wait_ready(120)
    music = piano_music(40.0)
    rows: dict[str, Row] = {}
    examples: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        for language in languages:
            utterances = load(language)
            chosen = utterances[:: max(1, len(utterances) // args.limit)][: args.limit]
            prompt = build_prompt(language, pieces)
            describe = functools.partial(describe_said, describer, language=language)
            row = rows.setdefault(language, Row())
            for i, item in enumerate(chosen):
                voice = VOICES[language][i % len(VOICES[language])]
                speed = SPEEDS[i % len(SPEEDS)]
                audio = espeak(item["text"], voice, speed, Path(tmp) / "said.wav")
                db = MUSIC_DB[i % len(MUSIC_DB)]
                if db is not None:
                    audio = mix(audio, music, db, offset=i * 7919)
                heard = recogniser.transcribe(audio, language, prompt).text
                errors, words = word_errors(item["text"], heard)
                row.errors, row.words, row.utterances = (
                    row.errors + errors,
                    row.words + words,
                    row.utterances + 1,
                )
                by_rules = understand(heard, language, library, describe)
                got = [to_dict(x) for x in by_rules.intents]
                right = judge(item, got, library, Score())
                row.rules += right
                if not by_rules.understood and fallback is not None:
                    with_llm = understand(heard, language, library, describe, fallback)
                    got = [to_dict(x) for x in with_llm.intents]
                    right = judge(item, got, library, Score())
                row.llm += right
                if not right and len(examples) < 40:
                    examples.append(
                        f"{language} {voice} {speed} {db}: {item['text']!r} → {heard!r}"
                    )
            print(f"{language}: {row.utterances} done", flush=True)
    if fallback is not None:
        fallback.close()
    print("\n| language | utterances | WER | intents right, rules | with the language model |")
    print("|---|---|---|---|---|")
    for language, row in rows.items():
        n = max(row.utterances, 1)
        print(
            f"| {language} | {row.utterances} | {100 * row.errors / max(row.words, 1):.1f} % "
            f"| {100 * row.rules / n:.1f} % | "
            + (f"{100 * row.llm / n:.1f} % |" if args.llm else "— |")
        )
    print("\nsome misses:")
    for line in examples:
        print("  " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
