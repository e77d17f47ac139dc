"""How well the rules understand the utterance set (``tests/utterances/*.jsonl``), per language.

    python -m export.bench_understand [--llm] [--no-describer] [--lang en]

For each language, dev and holdout separately: intent accuracy (expected intents found, in
order, over all expected intents) and exact match (every intent of the utterance right, none
extra); then the failures. The language is given, as the phone gives it.

How intents are compared (:func:`same`):

- kind must match; transport/control: the action; navigate: ``to``, ``bars``, ``bar``;
- select: the piece id — or any piece by the same composer, since "something by Bach" may be
  either Bach in the library; the query (words as said) is not compared;
- feedback: the polarity and the set of aspects;
- direct: the set of (class, sign of strength) over directions of strength ≥
  :data:`WEAK` (a description's faint parts are left out) — strengths themselves are not
  compared.

Pieces come from the shipped library's metadata (:data:`appliance.library.corpus.SHIPPED`), so
the benchmark needs no scores read; ``--llm`` also passes the local language model's fallback
when :mod:`appliance.understand.llm_client` provides one.
"""

from __future__ import annotations

import argparse
import functools
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appliance.directions.descriptors import Describer, describe_said
from appliance.library.catalog import Library, Piece
from appliance.library.corpus import SHIPPED
from appliance.paths import REPO_ROOT
from appliance.understand import LANGUAGES, Fallback, understand
from appliance.understand.intents import to_dict
from appliance.understand.reading import Describe

UTTERANCES = REPO_ROOT / "tests" / "utterances"
WEAK = 0.25


def shipped_library() -> Library:
    """The shipped pieces as a library, from their metadata alone (nothing is read or written)."""
    pieces = {
        s.id: Piece(s.id, s.title, s.composer, catalogue=s.catalogue, aliases=s.aliases)
        for s in SHIPPED
    }
    return Library(folder=Path("/nonexistent"), pieces=pieces)


def load(language: str, folder: Path = UTTERANCES) -> list[dict[str, Any]]:
    path = folder / f"{language}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _composer(piece: str | None, library: Library) -> str | None:
    found = library.pieces.get(piece or "")
    return found.composer if found else None


def _directions(raw: dict[str, Any]) -> set[tuple[str, bool]]:
    return {
        (d["class"], d["strength"] > 0) for d in raw["directions"] if abs(d["strength"]) >= WEAK
    }


def same(expected: dict[str, Any], got: dict[str, Any], library: Library) -> bool:
    """Whether ``got`` is the intent ``expected`` (both in their JSON shapes)."""
    if expected["kind"] != got["kind"]:
        return False
    kind = expected["kind"]
    if kind == "select":
        if expected["piece"] == got["piece"]:
            return True
        composer = _composer(expected["piece"], library)
        return composer is not None and composer == _composer(got["piece"], library)
    if kind == "feedback":
        aspects = {(a["feature"], a["want"]) for a in expected["aspects"]}
        return expected["polarity"] == got["polarity"] and aspects == {
            (a["feature"], a["want"]) for a in got["aspects"]
        }
    if kind == "direct":
        return _directions(expected) == _directions(got)
    return expected == got


@dataclass
class Score:
    intents: int = 0
    intents_right: int = 0
    utterances: int = 0
    exact: int = 0

    def line(self) -> str:
        if not self.utterances:
            return "—"
        return (
            f"intents {self.intents_right}/{self.intents} "
            f"({100 * self.intents_right / max(1, self.intents):.1f} %), exact "
            f"{self.exact}/{self.utterances} ({100 * self.exact / self.utterances:.1f} %)"
        )


def judge(row: dict[str, Any], got: list[dict[str, Any]], library: Library, score: Score) -> bool:
    """Count one utterance into ``score``; whether all its intents were right."""
    expected = row["intents"]
    right = 0
    j = 0
    for e in expected:  # in order, each matched at most once
        for k in range(j, len(got)):
            if same(e, got[k], library):
                right, j = right + 1, k + 1
                break
    score.intents += len(expected)
    score.intents_right += right
    score.utterances += 1
    exact = right == len(expected) == len(got)
    score.exact += exact
    return exact


def run(
    languages: tuple[str, ...] = LANGUAGES,
    describer: Describer | None = None,
    fallback: Fallback | None = None,
    folder: Path = UTTERANCES,
) -> tuple[dict[tuple[str, str], Score], list[str]]:
    """Scores per (language, split) and the failures, one line each."""
    library = shipped_library()
    scores: dict[tuple[str, str], Score] = {}
    failures: list[str] = []
    for language in languages:
        for row in load(language, folder):
            describe: Describe | None = None
            if describer is not None:  # as the box does: by the language it was said in
                describe = functools.partial(describe_said, describer, language=row["language"])
            understood = understand(row["text"], row["language"], library, describe, fallback)
            got = [to_dict(i) for i in understood.intents]
            score = scores.setdefault((language, row["split"]), Score())
            if not judge(row, got, library, score):
                failures.append(
                    f"[{language} {row['split']}] {row['text']!r}\n    expected "
                    f"{json.dumps(row['intents'], ensure_ascii=False)}\n    got      "
                    f"{json.dumps(got, ensure_ascii=False)}"
                )
    return scores, failures


def _fallback() -> Fallback | None:
    try:
        from appliance.understand.llm_client import LlmFallback  # written by another hand
    except ImportError as exc:
        print(f"(no language model fallback: {exc})")
        return None
    return LlmFallback()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m export.bench_understand")
    parser.add_argument("--llm", action="store_true", help="also ask the language model")
    parser.add_argument("--no-describer", action="store_true", help="no sentence model")
    parser.add_argument("--lang", action="append", choices=LANGUAGES, help="only these")
    args = parser.parse_args()
    describer: Describer | None = None
    if not args.no_describer:
        describer = Describer()
    fallback = _fallback() if args.llm else None
    started = time.perf_counter()
    languages = tuple(args.lang or LANGUAGES)
    scores, failures = run(languages, describer, fallback)
    elapsed = time.perf_counter() - started
    for failure in failures:
        print(failure)
    print()
    for language in languages:
        for split in ("dev", "holdout"):
            print(f"{language} {split:8} {scores.get((language, split), Score()).line()}")
    total = sum(s.utterances for s in scores.values())
    print(f"{total} utterances in {elapsed:.1f} s ({1000 * elapsed / max(1, total):.1f} ms each)")


if __name__ == "__main__":
    main()
