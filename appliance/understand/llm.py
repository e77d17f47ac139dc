"""A small local language model as the understanding layer's fallback: text → intents.

The rules understand most of what people say; what they miss (indirect or unusual phrasing,
"I think it could be a touch gentler") goes to this model. It is a few-shot completion prompt
(works for a base model and an instruct one alike) whose answer is constrained by a GBNF
grammar (:mod:`appliance.understand.intent_grammar`): the model can only write a JSON list of
1–3 intents in the documented shapes, which :func:`intents.from_dict` then reads.

Speed: the prompt's long fixed part is evaluated once, when the model loads; each request then
evaluates only its own few tokens (llama.cpp keeps the common prefix's cache) and generates
the answer greedily. The time limit is enforced inside generation: a stopping criterion ends
it past the deadline, and the answer is then None. Only llama_cpp is needed at run time.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.understand import intent_grammar
from appliance.understand.intents import Intent, from_dict

if TYPE_CHECKING:
    import numpy.typing as npt

N_CTX = 1024  # the prompt is ~700 tokens; a request and its answer fit in the rest
MAX_ANSWER_TOKENS = 96  # three intents with three directions each fit in this
MAX_TEXT = 300  # characters of an utterance given to the model
LANGUAGES = {"en": "English", "de": "German", "es": "Spanish", "ru": "Russian"}

INSTRUCTIONS = """\
A piano box plays music. People tell it what to do, in English, German, Spanish or Russian.
Each request is written as a JSON list of intents:
select: play a piece. query: the composer or piece as said ("" for any other piece).
transport: pause, resume or stop the music.
navigate: go to the beginning, back some bars, to a bar number, or to the phrase start.
feedback: an opinion on what was just played, and what it wants of tempo, dynamics or \
articulation (more or less).
direct: how to play from now on. Classes: pp p mp mf f ff (soft to loud), crescendo \
diminuendo, largo adagio andante moderato allegro presto (slow to fast), accelerando \
ritardando a_tempo, legato staccato tenuto accent fermata. Strength 0.5 a little, 1 normal, \
2 much.
control: undo the last change, or reset to normal.
unknown: not about the music.
"""

# Few-shot examples: (language, request, answer). Phrasings the rules know are kept out of
# the test utterances (tests/test_llm.py, export bench) so the figures measure generalisation.
EXAMPLES: tuple[tuple[str, str, str], ...] = (
    ("en", "put on some Bach", '[{"kind":"select","query":"Bach","piece":null}]'),
    (
        "en",
        "a bit softer please",
        '[{"kind":"direct","directions":[{"class":"p","strength":0.5}]}]',
    ),
    ("de", "halt mal kurz an", '[{"kind":"transport","action":"pause"}]'),
    (
        "es",
        "eso fue demasiado lento",
        '[{"kind":"feedback","polarity":"negative","aspects":[{"feature":"tempo","want":"more"}]}]',
    ),
    ("ru", "начни сначала", '[{"kind":"navigate","to":"beginning","bars":null,"bar":null}]'),
    (
        "en",
        "now much faster and really short notes",
        '[{"kind":"direct","directions":[{"class":"presto","strength":2},'
        '{"class":"staccato","strength":1}]}]',
    ),
    ("de", "das war wunderschön", '[{"kind":"feedback","polarity":"positive","aspects":[]}]'),
    ("es", "vuelve dos compases", '[{"kind":"navigate","to":"back","bars":2,"bar":null}]'),
    (
        "ru",
        "сыграй помедленнее и потише",
        '[{"kind":"direct","directions":[{"class":"adagio","strength":1},'
        '{"class":"p","strength":1}]}]',
    ),
    ("en", "forget what I just said", '[{"kind":"control","action":"undo"}]'),
    (
        "de",
        "spiel was anderes",
        '[{"kind":"select","query":"","piece":null}]',
    ),
    ("en", "what's the weather like", '[{"kind":"unknown"}]'),
    (
        "es",
        "más ligado, por favor",
        '[{"kind":"direct","directions":[{"class":"legato","strength":1}]}]',
    ),
    ("ru", "хватит, выключи", '[{"kind":"transport","action":"stop"}]'),
    (
        "en",
        "too loud, and rushed",
        '[{"kind":"feedback","polarity":"negative","aspects":[{"feature":"dynamics",'
        '"want":"less"},{"feature":"tempo","want":"less"}]}]',
    ),
    ("de", "geh zu Takt 12", '[{"kind":"navigate","to":"bar","bars":null,"bar":12}]'),
)


def _line(text: str) -> str:
    """An utterance on one prompt line: no line breaks, at most :data:`MAX_TEXT` characters."""
    return " ".join(text.split())[:MAX_TEXT]


def request_prompt(text: str, language: str) -> str:
    """The lines that ask about one utterance (the examples use the same form)."""
    name = LANGUAGES.get(language, "English")
    return f"Request ({name}): {_line(text)}\nIntents: "


def prompt_prefix() -> str:
    """The fixed part of the prompt: the instructions and the examples."""
    shots = "".join(f"{request_prompt(t, lang)}{answer}\n\n" for lang, t, answer in EXAMPLES)
    return f"{INSTRUCTIONS}\n{shots}"


def parse_answer(answer: str) -> tuple[Intent, ...] | None:
    """The intents in a model's answer, or None when it is not a valid list of them."""
    try:
        raw = json.loads(answer)
    except ValueError:
        return None
    if not isinstance(raw, list) or not raw:
        return None
    try:
        return tuple(from_dict(item) for item in raw)
    except ValueError:
        return None


class _Deadline:
    """A llama_cpp stopping criterion: true once the clock passes ``at``."""

    def __init__(self, at: float) -> None:
        self.at = at
        self.passed = False

    def __call__(self, input_ids: npt.NDArray[Any], logits: npt.NDArray[Any]) -> bool:
        if time.monotonic() >= self.at:
            self.passed = True
        return self.passed


class LanguageModel:
    """A GGUF model loaded with llama.cpp, answering with intents.

    ``threads``: the CPU threads it computes on (the box's worker gives it what the music
    leaves); the file is memory-mapped, so its pages are shared and loaded as used."""

    def __init__(self, path: Path | None = None, threads: int = 2, n_ctx: int = N_CTX) -> None:
        from llama_cpp import Llama, LlamaGrammar

        if path is None:
            from export.llm_model import model_path

            path = model_path()
        if not path.exists():
            raise FileNotFoundError(f"{path}: install it with python -m export.llm_model install")
        self.path = path
        self._llm = Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_batch=256,
            n_threads=threads,
            n_threads_batch=threads,
            use_mmap=True,
            verbose=False,
        )
        self._grammar = LlamaGrammar.from_string(intent_grammar.gbnf(), verbose=False)
        self._prefix = prompt_prefix()
        self.warm_up()

    def warm_up(self) -> None:
        """Evaluate the prompt's fixed part now, so that requests only evaluate their own."""
        self._llm.create_completion(self._prefix, max_tokens=1, temperature=0.0)

    def answer(self, text: str, language: str, timeout: float) -> str | None:
        """The model's raw answer (grammar-constrained JSON), or None past ``timeout`` s."""
        deadline = _Deadline(time.monotonic() + timeout)
        from llama_cpp import StoppingCriteriaList

        out: Any = self._llm.create_completion(
            self._prefix + request_prompt(text, language),
            max_tokens=MAX_ANSWER_TOKENS,
            temperature=0.0,
            repeat_penalty=1.0,  # JSON repeats its keys: no penalty for that
            grammar=self._grammar,
            stopping_criteria=StoppingCriteriaList([deadline]),
        )
        if deadline.passed:
            return None
        return str(out["choices"][0]["text"])

    def intents(self, text: str, language: str, timeout: float) -> tuple[Intent, ...] | None:
        """What ``text`` asks for, or None (no answer within ``timeout`` s, or none valid)."""
        if timeout <= 0 or not text.strip():
            return None
        answer = self.answer(text, language, timeout)
        return None if answer is None else parse_answer(answer)

    def tokens(self, texts: Sequence[str]) -> int:
        """How many tokens ``texts`` take together (for sizing the context)."""
        return sum(len(self._llm.tokenize(t.encode(), add_bos=False)) for t in texts)
