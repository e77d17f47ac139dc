"""The language-model fallback: its grammar, its model file, real answers, the worker and its
client (timeouts, a malformed line, a killed worker)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from io import BytesIO, StringIO
from typing import TYPE_CHECKING

import pytest

from appliance.directions.classes import CLASSES
from appliance.paths import file_sha256
from appliance.understand import intent_grammar, llm_worker
from appliance.understand.intents import (
    CONTROL_ACTIONS,
    FEATURES,
    NAVIGATE_TO,
    TRANSPORT_ACTIONS,
    WANTS,
    Aspect,
    Control,
    DirectIntent,
    FeedbackIntent,
    Intent,
    Navigate,
    Select,
    Steer,
    Transport,
    Unknown,
    from_dict,
    to_dict,
)
from appliance.understand.llm import EXAMPLES, parse_answer
from appliance.understand.llm_client import LlmFallback
from export import llm_model
from export.llm_model import judge

if TYPE_CHECKING:
    from appliance.understand.llm import LanguageModel


def compact(intents: list[Intent]) -> str:
    return json.dumps([to_dict(i) for i in intents], separators=(",", ":"), ensure_ascii=False)


def every_shape() -> list[Intent]:
    """One intent of every documented shape and every enumerated value."""
    shapes: list[Intent] = [Select("Chopin"), Select(""), Select("Шопен"), Unknown()]
    shapes += [Transport(a) for a in TRANSPORT_ACTIONS]  # type: ignore[arg-type]
    shapes += [Control(a) for a in CONTROL_ACTIONS]  # type: ignore[arg-type]
    shapes += [Navigate(t) for t in NAVIGATE_TO]  # type: ignore[arg-type]
    shapes += [Navigate("back", 4, None), Navigate("bar", None, 1234), Navigate("bar", None, 0)]
    shapes += [DirectIntent((Steer(c, 1.0),)) for c in CLASSES]
    shapes += [DirectIntent((Steer("p", 0.5), Steer("legato", -2.0), Steer("presto", 3.0)))]
    aspects = tuple(Aspect(f, w) for f in FEATURES for w in WANTS)  # type: ignore[arg-type]
    shapes += [FeedbackIntent(None), FeedbackIntent("positive"), FeedbackIntent("negative")]
    shapes += [FeedbackIntent("negative", aspects[i : i + 3]) for i in range(0, 6, 3)]
    return shapes


# -- the grammar, without a model -----------------------------------------------------------


def test_the_grammar_admits_every_documented_shape_and_value() -> None:
    pattern = intent_grammar.answer_pattern()
    shapes = every_shape()
    for intent in shapes:
        text = compact([intent])
        assert pattern.fullmatch(text), text
        assert parse_answer(text) == (from_dict(to_dict(intent)),)
    assert pattern.fullmatch(compact(shapes[:3]))  # up to three intents in one answer
    for _language, _text, answer in EXAMPLES:  # the prompt's examples follow it too
        assert pattern.fullmatch(answer), answer
        assert parse_answer(answer) is not None


@pytest.mark.parametrize(
    "wrong",
    [
        "[]",  # no intent
        '{"kind":"unknown"}',  # not a list
        '[{"kind":"unknown"},{"kind":"unknown"},{"kind":"unknown"},{"kind":"unknown"}]',
        '[{"kind":"play"}]',
        '[{"kind":"unknown","extra":1}]',
        '[{"kind":"select","query":"Bach","piece":"bach-1"}]',  # the library fills the piece in
        '[{"kind":"select","query":"Bach"}]',
        '[{"kind":"select","query":"a\\"b","piece":null}]',
        '[{"kind":"transport","action":"rewind"}]',
        '[{"kind":"direct","directions":[{"class":"forte","strength":1}]}]',
        '[{"kind":"direct","directions":[{"class":"p","strength":9}]}]',
        '[{"kind":"direct","directions":[{"class":"p","strength":1.25}]}]',
        '[{"kind":"direct","directions":[]}]',
        '[{"kind":"navigate","to":"bar","bars":null,"bar":-3}]',
        '[{"kind":"navigate","to":"bar","bars":null,"bar":123456}]',
        '[{"kind":"feedback","polarity":"meh","aspects":[]}]',
        '[{"kind":"feedback","polarity":null,"aspects":[{"feature":"pedal","want":"more"}]}]',
        '[{"kind": "unknown"}]',  # compact only
        '[{"kind":"unknown"}] and more',
    ],
)
def test_the_grammar_admits_no_other_shape(wrong: str) -> None:
    assert not intent_grammar.answer_pattern().fullmatch(wrong)


def test_the_grammar_is_built_from_the_intent_constants() -> None:
    text = intent_grammar.gbnf()
    assert text.startswith("root ::= ")
    for value in (*CLASSES, *TRANSPORT_ACTIONS, *CONTROL_ACTIONS, *NAVIGATE_TO, *FEATURES):
        assert f'\\"{value}\\"' in text


def test_the_judge_of_the_bench() -> None:
    quieter = (DirectIntent((Steer("p", 0.5),)),)
    assert judge(quieter, "direct:p|pp feedback:dynamics-less")
    assert not judge((*quieter, Unknown()), "direct:p|pp")
    assert not judge(None, "unknown")
    assert judge((Select("Frédéric Chopin"),), "select:chopin")


# -- the worker's protocol, without a model ------------------------------------------------


def fake_answerer(text: str, language: str, timeout: float) -> tuple[Intent, ...] | None:
    return None if text == "nothing" else (Select(text),)


def serve_lines(data: bytes) -> list[dict[str, object]]:
    out = StringIO()
    llm_worker.serve(BytesIO(data), out, fake_answerer)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_the_worker_answers_each_line_and_survives_malformed_ones() -> None:
    good = {"id": 7, "text": "Bach", "language": "en", "timeout": 1.5}
    lines = [
        json.dumps(good).encode(),
        b"not json at all",
        b'{"id": 8, "text": 5, "language": "en", "timeout": 1}',
        b'{"id": 9, "text": "x", "language": "en", "timeout": -1}',
        b"[1, 2]",
        b"\xff\xfe",
        b'{"id": 10, "text": "' + b"a" * 5000 + b'", "language": "en", "timeout": 1}',
        b"",
        json.dumps({"id": 11, "text": "nothing", "language": "de", "timeout": 1}).encode(),
    ]
    answers = serve_lines(b"\n".join(lines) + b"\n")
    assert len(answers) == 8  # the empty line is skipped
    assert answers[0]["id"] == 7 and answers[0]["intents"] == [to_dict(Select("Bach"))]
    assert isinstance(answers[0]["seconds"], float)
    assert [a.get("id") for a in answers[1:7]] == [None, 8, 9, None, None, None]
    assert all("error" in a for a in answers[1:7])
    assert "longer than 4096" in str(answers[6]["error"])
    assert answers[7] == {"id": 11, "intents": None, "seconds": answers[7]["seconds"]}


# -- the client, against a stand-in worker (no model) --------------------------------------

FAKE_WORKER = textwrap.dedent(
    """
    import json, os, sys, time
    from appliance.understand import llm_worker
    from appliance.understand.intents import Select

    def answer(text, language, timeout):
        if text == "slow":
            time.sleep(timeout + 1)
        if text == "die":
            os._exit(3)
        return (Select(text),)

    print(json.dumps({"ready": True}), flush=True)
    llm_worker.serve(sys.stdin.buffer, sys.stdout, answer)
    """
)


@pytest.fixture
def fake_client() -> Iterator[LlmFallback]:
    client = LlmFallback(command=[sys.executable, "-c", FAKE_WORKER])
    yield client
    client.close()


def test_the_client_asks_its_worker_and_starts_it_again_after_it_died(
    fake_client: LlmFallback,
) -> None:
    assert fake_client.intents("Bach", "en", 10.0) == (Select("Bach"),)
    first = fake_client.pid
    assert fake_client.intents("die", "en", 10.0) is None
    assert fake_client.intents("Liszt", "en", 10.0) == (Select("Liszt"),)
    assert fake_client.pid != first


def test_the_client_gives_up_at_its_timeout_and_ignores_the_late_answer(
    fake_client: LlmFallback,
) -> None:
    assert fake_client.wait_ready(10.0)
    start = time.monotonic()
    assert fake_client.intents("slow", "en", 0.5) is None
    assert time.monotonic() - start < 0.8
    # the next request is answered, not with the late answer to "slow"
    assert fake_client.intents("Bach", "en", 10.0) == (Select("Bach"),)


# -- the real model ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def llama() -> object:
    return pytest.importorskip(
        "llama_cpp", reason="llama-cpp-python is not installed (export/llama_wheel.sh)"
    )


@pytest.fixture(scope="module")
def model(llama: object) -> LanguageModel:
    from appliance.understand.llm import LanguageModel

    return LanguageModel(llm_model.install(quiet=True), threads=2)


def test_llama_cpp_accepts_the_grammar(llama: object) -> None:
    from llama_cpp import LlamaGrammar

    LlamaGrammar.from_string(intent_grammar.gbnf(), verbose=False)


def test_the_model_file_is_installed_and_its_checksum_matches() -> None:
    path = llm_model.install(quiet=True)
    assert path == llm_model.model_path()
    assert path.stat().st_size == llm_model.CHOSEN.size
    assert file_sha256(path) == llm_model.CHOSEN.sha256
    assert llm_model.install(quiet=True) == path  # idempotent


@pytest.mark.slow
@pytest.mark.parametrize(
    ("language", "text", "accepted"),
    [
        (
            "de",
            "mach mal ein bisschen ruhiger",
            "direct:p|pp|mp|diminuendo|adagio|andante|largo|ritardando "
            "feedback:dynamics-less feedback:tempo-less",
        ),
        ("en", "that bit was a mess", "feedback:-"),
        ("es", "otra vez desde el principio", "navigate:beginning"),
        ("ru", "отмени это", "control:undo"),
    ],
)
def test_the_model_answers_with_valid_intents(
    model: LanguageModel, language: str, text: str, accepted: str
) -> None:
    answer = model.answer(text, language, timeout=20.0)
    assert answer is not None
    assert intent_grammar.answer_pattern().fullmatch(answer), answer  # what the grammar admits
    assert judge(parse_answer(answer), accepted), answer


@pytest.mark.slow
def test_a_tiny_timeout_gives_none_quickly(model: LanguageModel) -> None:
    start = time.monotonic()
    assert model.intents("could you play it a little more tenderly", "en", 0.02) is None
    assert time.monotonic() - start < 0.5


# -- the real worker -------------------------------------------------------------------------


@pytest.mark.slow
def test_the_worker_process_answers_over_stdin_and_stdout(llama: object) -> None:
    llm_model.install(quiet=True)
    worker = subprocess.Popen(
        [sys.executable, "-m", "appliance.understand.llm_worker", "--threads", "2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert worker.stdin is not None and worker.stdout is not None
    try:
        assert json.loads(worker.stdout.readline()) == {"ready": True}
        request = {"id": 1, "text": "warte kurz", "language": "de", "timeout": 20.0}
        worker.stdin.write(b"{broken\n" + json.dumps(request).encode() + b"\n")
        worker.stdin.flush()
        assert "error" in json.loads(worker.stdout.readline())
        reply = json.loads(worker.stdout.readline())
        assert reply["id"] == 1 and reply["seconds"] < 20.0
        assert parse_answer(json.dumps(reply["intents"])) is not None
        worker.stdin.close()
        assert worker.wait(10) == 0  # ends at the end of its input
    finally:
        worker.kill()
        worker.wait()


@pytest.mark.slow
def test_a_killed_worker_costs_one_answer_and_is_started_again(llama: object) -> None:
    llm_model.install(quiet=True)
    with LlmFallback(threads=2) as client:
        assert client.wait_ready(60.0)
        pid = client.pid
        assert pid is not None
        results: list[object] = []
        asking = threading.Thread(
            target=lambda: results.append(client.intents("weiter geht's", "de", 30.0))
        )
        start = time.monotonic()
        asking.start()
        time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
        asking.join(30.0)
        assert results == [None] and time.monotonic() - start < 5.0
        again = client.intents("hold on a second", "en", 60.0)
        assert again is not None and client.pid != pid


def test_the_client_and_the_model_are_fallbacks() -> None:
    from appliance.understand.fallback import Fallback

    client: Fallback = LlmFallback()  # checked against the protocol by mypy
    assert isinstance(client, LlmFallback) and client.pid is None  # no worker before first use
    if TYPE_CHECKING:
        model: Fallback = LanguageModel()  # noqa: F841
