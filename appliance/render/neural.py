"""The neural renderer at run time: int8 ONNX graphs driven note by note with a key/value cache.

For each note the decoder reads the note's score features, the previous note's performance and
the style latents, and gives a Gaussian over the note's expression; the renderer samples it
(``temperature`` scales the spread: 0 plays the most likely performance). Keys and values of
every rendered note are kept, so that re-rendering from any note (a new style or direction)
costs only the notes not yet played: the cache before that note stays exact because the decoder
is causal. Attention looks back at most ``context`` notes.

When the decoder plays with its past hidden (the shipped setting: it reads score and style
only), no note depends on the notes rendered before it, so a run of notes is rendered in one
causal pass instead of note by note: notes are taken in blocks of ``context / 2``, and each
block is decoded in one pass that starts one block earlier, so every note sees the same
``context / 2`` to ``context`` notes before it however the piece is cut into chunks (a
re-render gives exactly what the first rendering gave). No key/value cache is kept then.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from appliance.errors import ApplianceError, reading_model_file
from appliance.render.base import Renderer, Style
from appliance.render.expression import marked_log_bp
from appliance.render.features import score_features
from appliance.render.latent_prior import LatentPrior, segment_ids
from appliance.render.normalise import CLIP, Scaler
from appliance.threads import onnx_session_options

MODEL_FILE = "renderer.json"
DEFAULT_TEMPERATURE = 0.0  # chosen on the validation split (0, 0.5); raise for more randomness
DEFAULT_CONTEXT = 256
ENCODER_WINDOW = 256
# How much the latents of a sampled style share across the piece (0: every bar/beat its own).
BAR_SHARE, BEAT_SHARE = 0.6, 0.3


@dataclass(frozen=True)
class LatentSizes:
    bar: int
    beat: int
    note: int

    @property
    def total(self) -> int:
        return self.bar + self.beat + self.note


def bar_windows(bar: np.ndarray, window: int) -> list[tuple[int, int]]:
    """Split notes (in playing order) into runs of whole bars of at most ``window`` notes
    (a bar longer than that is cut)."""
    starts = np.flatnonzero(np.diff(bar, prepend=-1) != 0)
    out: list[tuple[int, int]] = []
    a = 0
    n = len(bar)
    while a < n:
        limit = a + window
        if limit >= n:
            out.append((a, n))
            break
        inside = starts[(starts > a) & (starts <= limit)]
        b = int(inside[-1]) if len(inside) else limit
        out.append((a, b))
        a = b
    return out


class NeuralModel:
    """The three ONNX graphs and what they were trained with."""

    def __init__(self, folder: Path) -> None:
        import onnxruntime as ort

        meta_path = folder / MODEL_FILE
        with reading_model_file(meta_path, "neural renderer description", "run `make model`"):
            self.meta: dict[str, Any] = json.loads(meta_path.read_text())
            cfg = self.meta["model_config"]
            self.sizes = LatentSizes(cfg["z_bar"], cfg["z_beat"], cfg["z_note"])
            self.layers, self.heads = cfg["dec_layers"], cfg["n_heads"]
            self.head_dim = cfg["d_model"] // cfg["n_heads"]
            self.scaler = Scaler.from_dict(self.meta["scaler"])
            raw_prior = self.meta.get("latent_prior")
            self.prior = LatentPrior.from_dict(raw_prior) if raw_prior else None
            self.feature_names: list[str] = list(self.meta["feature_names"])
            runtime = self.meta.get("runtime", {})
            self.spread = float(runtime.get("spread", 1.0))
            # Whether generation feeds the decoder its own past output ("own") or lets it play
            # from score and style alone ("hidden", as in training windows without a past).
            self.past = str(runtime.get("past", "own"))
            # How far the piece's tempo is drawn back to the marked tempo: the median
            # difference the most likely style plays at, times this (0: as the model plays).
            self.tempo_anchor = float(runtime.get("tempo_anchor", 0.0))
            if self.past not in ("own", "hidden"):
                raise ApplianceError(f"{meta_path}: unknown runtime past {self.past!r}")
        options = onnx_session_options(1)  # note-by-note steps are fastest on one thread
        self.sessions = {}
        for graph, name in self.meta["graphs"].items():
            path = folder / name
            if not path.exists():
                raise ApplianceError(f"the neural renderer is incomplete: {path} is missing")
            try:
                self.sessions[graph] = ort.InferenceSession(
                    str(path), options, providers=["CPUExecutionProvider"]
                )
            except Exception as exc:  # onnxruntime raises its own types for damaged models
                raise ApplianceError(f"{path} cannot be loaded ({exc})") from None

    def features(self, notes: np.ndarray) -> np.ndarray:
        x, names = score_features(notes)
        if names != self.feature_names:
            raise ApplianceError("the neural renderer was trained on other score features")
        return x

    def encode(
        self, notes: np.ndarray, expression: np.ndarray, window: int = ENCODER_WINDOW
    ) -> np.ndarray:
        """Per-note latent means (n × z) of a performance: the style of a human rendition.

        Long pieces are encoded in windows of whole bars (at most ``window`` notes, the length
        the encoder was trained on)."""
        beat, bar = segment_ids(notes)
        score = self.features(notes)
        perf = self.scaler.normalise(expression, notes)
        out = np.zeros((len(notes), self.sizes.total), np.float32)
        for a, b in bar_windows(bar, window):
            mu, _ = self.sessions["encoder"].run(
                None,
                {
                    "score": score[None, a:b],
                    "perf": perf[None, a:b],
                    "beat_id": (beat[a:b] - beat[a])[None],
                    "bar_id": (bar[a:b] - bar[a])[None],
                },
            )
            out[a:b] = mu[0]
        return out

    def prior_latents(
        self,
        notes: np.ndarray,
        seed: int | None,
        features: np.ndarray | None = None,
        spread: float = 1.0,
    ) -> np.ndarray:
        """Latents sampled from the prior: per bar, per beat and per note, partly shared so that
        a sampled style holds across the piece; ``spread`` scales their distance from the
        prior's mean (0 gives the score's most likely style).

        The prior is conditioned on the score (:mod:`appliance.render.latent_prior`, fitted on
        the latents of human performances); a model without one samples a standard normal."""
        rng = np.random.default_rng(seed)
        s = self.sizes
        beat, bar = segment_ids(notes)
        piece = rng.standard_normal(s.bar + s.beat)
        bars = rng.standard_normal((int(bar.max()) + 1, s.bar))
        beats = rng.standard_normal((int(beat.max()) + 1, s.beat))
        z_bar = np.sqrt(BAR_SHARE) * piece[: s.bar] + np.sqrt(1 - BAR_SHARE) * bars[bar]
        z_beat = np.sqrt(BEAT_SHARE) * piece[s.bar :] + np.sqrt(1 - BEAT_SHARE) * beats[beat]
        z_note = rng.standard_normal((len(notes), s.note))
        unit = spread * np.concatenate([z_bar, z_beat, z_note], axis=1)
        if self.prior is None:
            return unit.astype(np.float32)
        if features is None:
            features = self.features(notes)
        mean = self.prior.mean(notes, features)
        return (mean + self.prior.std * unit).astype(np.float32)


def _with_presence(z: np.ndarray) -> np.ndarray:
    """The decoder's latent input: latents per note and the three level-presence flags (all
    levels present)."""
    flags = np.ones((len(z), 3), np.float32)
    return np.concatenate([z.astype(np.float32), flags], axis=1)


class _Session:
    """Rendering state of one score: features, latents used, cache and outputs so far."""

    def __init__(self, model: NeuralModel, notes: np.ndarray) -> None:
        self.notes = notes
        self.features = model.features(notes)
        n = len(notes)
        cached = n if model.past == "own" else 0  # the windowed path needs no cache
        shape = (model.layers, 1, model.heads, cached, model.head_dim)
        self.keys = np.zeros(shape, np.float32)
        self.values = np.zeros(shape, np.float32)
        self.cached = 0  # keys/values exist for notes [0, cached)
        self.outputs = np.zeros((n, 5), np.float32)  # normalised expression rendered
        self.style: Style | None = None
        self.z = np.zeros((n, model.sizes.total + 3), np.float32)
        self.lo, self.hi = model.scaler.bounds(notes)  # plausible outputs per note
        self.base: np.ndarray | None = None  # sampled (or given) latents: before vector and offsets
        self.base_key: tuple[object, ...] | None = None
        self.blocks: dict[int, np.ndarray] = {}  # hidden past: decoder outputs per block
        self.tempo_shift: float | None = None  # ln beat period added to every note (anchor)


class NeuralRenderer(Renderer):
    name: ClassVar[str] = "neural"
    steerable: ClassVar[bool] = True

    def __init__(
        self, model: NeuralModel, context: int = DEFAULT_CONTEXT, version: str = ""
    ) -> None:
        self.model = model
        self.context = context
        self.version = version  # which version of the model (see appliance.render.versions)
        self._session: _Session | None = None

    def latents(
        self, notes: np.ndarray, style: Style, features: np.ndarray | None = None
    ) -> np.ndarray:
        """Decoder latent input per note for a style (latents + level-presence flags)."""
        z = self.base_latents(notes, style, features)
        if style.offsets is not None:
            if style.offsets.shape != z.shape:
                raise ApplianceError("style offsets do not fit this score")
            z = z + style.offsets
        return _with_presence(z)

    def base_latents(
        self, notes: np.ndarray, style: Style, features: np.ndarray | None = None
    ) -> np.ndarray:
        """A style's latents before direction offsets (the sampled latents are cached for the
        current score: a new style vector or direction then costs only an addition)."""
        s = self._session
        key = (style.seed, style.spread, id(style.latents))
        if s is not None and s.notes is notes and s.base_key == key and s.base is not None:
            z = s.base
        elif style.latents is not None:
            z = np.asarray(style.latents, np.float32)
            if z.shape != (len(notes), self.model.sizes.total):
                raise ApplianceError("style latents do not fit this score")
        else:
            spread = self.model.spread if style.spread is None else style.spread
            z = self.model.prior_latents(notes, style.seed, features, spread)
        if s is not None and s.notes is notes:
            s.base_key, s.base = key, z
        if style.vector is not None:
            z = z + np.asarray(style.vector, np.float32)
        return z

    def _prepare(self, notes: np.ndarray, style: Style, performed: np.ndarray) -> _Session:
        s = self._session
        if s is None or s.notes is not notes:
            s = self._session = _Session(self.model, notes)
        start = len(performed)
        if s.style != style:
            s.z[start:] = self.latents(notes, style, s.features)[start:]
            s.style = style
            s.blocks.clear()
        if s.cached > start:
            s.cached = start  # re-render: the causal cache before `start` stays exact
        if self.model.past == "hidden":
            return s  # nothing is read from the notes played so far
        given = self.model.scaler.normalise(performed, notes[:start])
        if s.cached < start or (
            start and not np.allclose(s.outputs[start - 1], given[-1], atol=1e-4)
        ):
            self._prime(s, given)
        return s

    def _prime(self, s: _Session, given: np.ndarray) -> None:
        """Rebuild the cache from a performance the session did not render itself."""
        start = len(given)
        s.outputs[:start] = given
        a = max(0, start - self.context)
        if start == 0:
            s.cached = 0
            return
        _, keys, values = self.model.sessions["decoder_context"].run(
            None,
            {
                "score": s.features[None, a:start],
                "prev": self._prev(s, a, start)[None],
                "z": s.z[None, a:start],
            },
        )
        s.keys[:, :, :, a:start] = keys
        s.values[:, :, :, a:start] = values
        s.cached = start

    def _prev(self, s: _Session, a: int, b: int) -> np.ndarray:
        prev = np.zeros((b - a, 6), np.float32)
        if self.model.past == "hidden":
            prev[:, 5] = 1.0
            return prev
        prev[1:, :5] = s.outputs[a : b - 1]
        if a > 0:
            prev[0, :5] = s.outputs[a - 1]
        else:
            prev[0, 5] = 1.0
        return prev

    def _windowed(
        self,
        s: _Session,
        start: int,
        stop: int,
        z: np.ndarray | None = None,
        blocks: dict[int, np.ndarray] | None = None,
    ) -> np.ndarray:
        """Decoder outputs (mean, log std) of notes [start, stop) with the past hidden: one
        causal pass over each whole block of ``context / 2`` notes and the block before it
        (module docstring). Passes always cover whole blocks, because int8 activations are
        scaled per pass: the same notes then give the same outputs whatever the chunks.
        A block's outputs are kept until the style changes. ``z``/``blocks``: other latents
        and their own block store (the session's by default)."""
        z = s.z if z is None else z
        blocks = s.blocks if blocks is None else blocks
        block = max(self.context // 2, 1)
        n = len(s.notes)
        out = np.zeros((stop - start, 10), np.float32)
        context = self.model.sessions["decoder_context"]
        for b in range(start // block, (stop - 1) // block + 1):
            params = blocks.get(b)
            if params is None:
                a, e = max(0, b * block - block), min(n, (b + 1) * block)
                prev = np.zeros((1, e - a, 6), np.float32)
                prev[..., 5] = 1.0
                feed = {"score": s.features[None, a:e], "prev": prev, "z": z[None, a:e]}
                params = context.run(None, feed)[0][0, b * block - a :]
                blocks[b] = params
            lo, hi = max(start, b * block), min(stop, (b + 1) * block)
            out[lo - start : hi - start] = params[lo - b * block : hi - b * block]
        return out

    def _tempo_shift(self, s: _Session) -> float:
        """ln beat period added to every note of the score: the tempo anchor times how far
        from the marked tempo (median over the notes) the score's most likely style plays it,
        with the sign that draws it back. Found once per score, in one pass over it."""
        if s.tempo_shift is None:
            s.tempo_shift = 0.0
            n = len(s.notes)
            if self.model.tempo_anchor and self.model.prior is not None and n:
                z = _with_presence(self.model.prior.mean(s.notes, s.features))
                # With the past hidden, block by block (a model fed its own past plays so too
                # in its training windows without one).
                params = self._windowed(s, 0, n, z=z, blocks={})[:, :5]
                likely = self.model.scaler.denormalise(params, s.notes)["log_bp"]
                drift = float(np.median(likely - marked_log_bp(s.notes)))
                s.tempo_shift = -self.model.tempo_anchor * drift
        return s.tempo_shift

    def expression(
        self, notes: np.ndarray, style: Style, performed: np.ndarray, stop: int
    ) -> np.ndarray:
        out = self._expression(notes, style, performed, stop)
        # Latents given outright (a human performance's) carry their own tempo: no anchor.
        s = self._session
        shift = self._tempo_shift(s) if s is not None and style.latents is None else 0.0
        if shift:
            lo, hi = CLIP["log_bp"]
            out["log_bp"] = np.clip(out["log_bp"] + shift, lo, hi)
        return out

    def _expression(
        self, notes: np.ndarray, style: Style, performed: np.ndarray, stop: int
    ) -> np.ndarray:
        s = self._prepare(notes, style, performed)
        start = len(performed)
        rng = np.random.default_rng([style.seed or 0, start])
        temperature = DEFAULT_TEMPERATURE if style.temperature is None else style.temperature
        if self.model.past == "hidden":
            params = self._windowed(s, start, stop)
            noise = rng.standard_normal((stop - start, 5))
            sample = params[:, :5] + temperature * np.exp(params[:, 5:]) * noise
            s.outputs[start:stop] = np.clip(sample, s.lo[start:stop], s.hi[start:stop])
            return self.model.scaler.denormalise(s.outputs[start:stop], notes[start:stop])
        step = self.model.sessions["decoder_step"]
        context = self.model.sessions["decoder_context"]
        for i in range(start, stop):
            feed = {
                "score": s.features[None, i : i + 1],
                "prev": self._prev(s, i, i + 1)[None],
                "z": s.z[None, i : i + 1],
            }
            a = max(0, i - self.context + 1)
            if i == 0 or s.cached == 0:
                params, keys, values = context.run(None, feed)
            else:
                feed["past_keys"] = np.ascontiguousarray(s.keys[:, :, :, a:i])
                feed["past_values"] = np.ascontiguousarray(s.values[:, :, :, a:i])
                params, keys, values = step.run(None, feed)
            s.keys[:, :, :, i : i + 1] = keys
            s.values[:, :, :, i : i + 1] = values
            s.cached = i + 1
            mean, log_std = params[0, 0, :5], params[0, 0, 5:]
            sample = mean + temperature * np.exp(log_std) * rng.standard_normal(5)
            s.outputs[i] = np.clip(sample, s.lo[i], s.hi[i])
        return self.model.scaler.denormalise(s.outputs[start:stop], notes[start:stop])
