"""A small local language model as the understanding layer's fallback: text → intents.

The rules understand most of what people say; what they miss (indirect or unusual phrasing,
"I think it could be a touch gentler") goes to this model. It is a few-shot completion prompt
(works for a base model and an instruct one alike) whose answer is constrained by a GBNF
grammar (:mod:`appliance.understand.intent_grammar`): the model can only write a JSON list of
1–3 intents in the documented shapes, which :func:`intents.from_dict` then reads.

Speed: the prompt's long fixed part is evaluated once, when the model loads; each request then
evaluates only its own few tokens (the cache after the fixed part is dropped and refilled) and
decodes the answer greedily. The time limit is enforced inside decoding: the clock is read
before each token, and past the deadline the answer is None. Only llama_cpp is needed.
"""

from __future__ import annotations

import ctypes
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from appliance.understand import intent_grammar
from appliance.understand.intents import Intent, from_dict

if TYPE_CHECKING:
    import numpy.typing as npt

# llama.cpp's OpenMP threads would otherwise spin while they wait for each other: on 2 cores
# shared with the music and other workers that made each token 3–6 times slower (140–400 ms
# instead of 50–70). libgomp reads this once, when llama_cpp is first imported: so here, at
# import, before any llama_cpp import of this process.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

N_CTX = 1536  # the prompt is 934 tokens (Gemma); a request and its answer fit in the rest
MAX_ANSWER_TOKENS = 96  # three intents with three directions each fit in this
MAX_TEXT = 300  # characters of an utterance given to the model
TOP_CANDIDATES = 32  # the model's best tokens checked against the grammar first
# llama.cpp's llama_token_data: token id, logit, probability
_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)], align=True)
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

# Few-shot examples: (language, request, answer), the kinds taking turns so that none is the
# most recent one; no bench utterance (export/llm_model.py) is among them.
_SEL = '[{"kind":"select","query":"%s","piece":null}]'
_DIR = '[{"kind":"direct","directions":[%s]}]'
_FB = '[{"kind":"feedback","polarity":%s,"aspects":[%s]}]'
_NAV = '[{"kind":"navigate","to":"%s","bars":%s,"bar":%s}]'
_TR = '[{"kind":"transport","action":"%s"}]'
_CTL = '[{"kind":"control","action":"%s"}]'
_UNK = '[{"kind":"unknown"}]'


def _steer(cls: str, strength: str = "1") -> str:
    return f'{{"class":"{cls}","strength":{strength}}}'


def _aspect(feature: str, want: str) -> str:
    return f'{{"feature":"{feature}","want":"{want}"}}'


EXAMPLES: tuple[tuple[str, str, str], ...] = (
    ("en", "put on some Bach", _SEL % "Bach"),
    ("de", "etwas leiser bitte", _DIR % _steer("p", "0.5")),
    ("es", "eso fue demasiado lento", _FB % ('"negative"', _aspect("tempo", "more"))),
    ("ru", "начни сначала", _NAV % ("beginning", "null", "null")),
    ("en", "pause for a moment", _TR % "pause"),
    ("de", "vergiss das letzte", _CTL % "undo"),
    ("es", "¿qué hora es?", _UNK),
    ("ru", "поставь Чайковского", _SEL % "Чайковского"),
    ("en", "much faster, and short notes", _DIR % f"{_steer('presto', '2')},{_steer('staccato')}"),
    ("de", "das war wunderschön", _FB % ('"positive"', "")),
    ("es", "vuelve dos compases", _NAV % ("back", "2", "null")),
    ("ru", "хватит, выключи", _TR % "stop"),
    ("en", "back to normal", _CTL % "reset"),
    ("de", "spiel was anderes", _SEL % ""),
    ("es", "más ligado, por favor", _DIR % _steer("legato")),
    (
        "en",
        "too loud, and rushed",
        _FB % ('"negative"', f"{_aspect('dynamics', 'less')},{_aspect('tempo', 'less')}"),
    ),
    ("de", "geh zu Takt 12", _NAV % ("bar", "null", "12")),
    ("ru", "играй дальше", _TR % "resume"),
    ("en", "tell me a joke", _UNK),
    ("es", "toca una de Schubert", _SEL % "Schubert"),
    ("ru", "сыграй помедленнее и потише", _DIR % f"{_steer('adagio')},{_steer('p')}"),
    ("en", "that sounded clumsy", _FB % ('"negative"', "")),
    ("de", "nochmal diese Phrase", _NAV % ("phrase", "null", "null")),
    ("es", "no, como antes", _CTL % "undo"),
    ("en", "louder, with a big build-up", _DIR % f"{_steer('f')},{_steer('crescendo')}"),
    ("ru", "мне нравится", _FB % ('"positive"', "")),
    ("de", "stopp", _TR % "stop"),
)


def _line(text: str) -> str:
    """An utterance on one prompt line: no line breaks, at most :data:`MAX_TEXT` characters."""
    return " ".join(text.split())[:MAX_TEXT]


def request_prompt(text: str, language: str) -> str:
    """The lines that ask about one utterance (the examples use the same form). The language
    is not named: with it, the small models copied the answer of an example in the same
    language (Gemma 3 270M: 5/41 right on the bench with it, 13/41 without)."""
    return f"Request: {_line(text)}\nIntents:"


def prompt_prefix() -> str:
    """The fixed part of the prompt: the instructions and the examples."""
    shots = "".join(f"{request_prompt(t, lang)} {answer}\n\n" for lang, t, answer in EXAMPLES)
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


class LanguageModel:
    """A GGUF model loaded with llama.cpp, answering with intents.

    ``threads``: the CPU threads it computes on (the box's worker gives it what the music
    leaves); the file is memory-mapped, so its pages are shared and loaded as used.

    Decoding is greedy and grammar-checked token by token: the model's best few tokens are
    checked against the grammar and the best admitted one is taken; only when none of them is
    admitted is the whole vocabulary checked. llama-cpp-python's own grammar sampling checks
    all of it every time, which for Gemma's 262,144 tokens took about 0.5 s a token here."""

    def __init__(self, path: Path | None = None, threads: int = 2, n_ctx: int = N_CTX) -> None:
        import llama_cpp

        if path is None:
            from appliance.understand.llm_files import installed_model

            path = installed_model()
        if not path.exists():
            raise FileNotFoundError(f"{path}: install it with python -m export.llm_model install")
        self.path = path
        self._c = llama_cpp
        self._llm = llama_cpp.Llama(
            model_path=str(path),
            n_ctx=n_ctx,
            n_batch=256,
            n_threads=threads,
            n_threads_batch=threads,
            use_mmap=True,
            # Gemma 3 attends to a sliding window: with a full-size cache for it, llama.cpp can
            # cut the cache back to the prompt's fixed part after each request and keep that.
            swa_full=True,
            verbose=False,
        )
        self._vocab = llama_cpp.llama_model_get_vocab(self._llm.model)
        self._n_vocab = self._llm.n_vocab()
        self._grammar = llama_cpp.llama_sampler_init_grammar(
            self._vocab, intent_grammar.gbnf().encode(), b"root"
        )
        if not self._grammar:
            raise ValueError("llama.cpp did not accept the intent grammar")
        self._pattern = intent_grammar.answer_pattern()
        # The prompt's fixed part, evaluated once: each request starts from its cache.
        self._llm.reset()
        self._llm.eval(self._llm.tokenize(prompt_prefix().encode(), add_bos=True))
        self._prefix_tokens = self._llm.n_tokens

    def close(self) -> None:
        if self._grammar:
            self._c.llama_sampler_free(self._grammar)
            self._grammar = None
        self._llm.close()

    def _admitted(self, ids: npt.NDArray[np.int32], logits: npt.NDArray[np.float32]) -> int | None:
        """The best of the tokens ``ids`` (with their ``logits``) that the grammar admits."""
        data = np.zeros(len(ids), dtype=_TOKEN_DATA)
        data["id"], data["logit"] = ids, logits
        c = self._c
        array = c.llama_token_data_array(
            data.ctypes.data_as(c.llama_token_data_p), len(ids), -1, False
        )
        c.llama_sampler_apply(self._grammar, ctypes.byref(array))
        allowed = np.isfinite(data["logit"])
        if not allowed.any():
            return None
        return int(data["id"][np.flatnonzero(allowed)[np.argmax(data["logit"][allowed])]])

    def _next_token(self) -> int | None:
        logits = np.ctypeslib.as_array(
            self._c.llama_get_logits_ith(self._llm.ctx, -1), shape=(self._n_vocab,)
        )
        best = np.argpartition(logits, -TOP_CANDIDATES)[-TOP_CANDIDATES:].astype(np.int32)
        token = self._admitted(best, logits[best])
        if token is None:  # none of the likely ones: check them all
            every = np.arange(self._n_vocab, dtype=np.int32)
            token = self._admitted(every, logits.copy())
        return token

    def answer(self, text: str, language: str, timeout: float) -> str | None:
        """The model's raw answer (JSON the grammar admits), or None: past ``timeout`` s, or
        the grammar came to a dead end."""
        deadline = time.monotonic() + timeout
        c, llm = self._c, self._llm
        c.llama_sampler_reset(self._grammar)
        llm.n_tokens = self._prefix_tokens  # the next eval drops the cache after the prefix
        llm.eval(llm.tokenize(request_prompt(text, language).encode(), add_bos=False))
        out = b""
        for _ in range(MAX_ANSWER_TOKENS):
            if time.monotonic() >= deadline:
                return None
            token = self._next_token()
            if token is None or c.llama_vocab_is_eog(self._vocab, token):
                return None
            c.llama_sampler_accept(self._grammar, token)
            out += llm.detokenize([token])
            answer = out.decode("utf-8", errors="ignore")
            if self._pattern.fullmatch(answer):
                return answer  # complete: the grammar admits nothing after it
            llm.eval([token])
        return None

    def intents(self, text: str, language: str, timeout: float) -> tuple[Intent, ...] | None:
        """What ``text`` asks for, or None (no answer within ``timeout`` s, or none valid)."""
        if timeout <= 0 or not text.strip():
            return None
        answer = self.answer(text, language, timeout)
        return None if answer is None else parse_answer(answer)
