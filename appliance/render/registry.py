"""Find renderers by name; the models they need come from ``models_onnx/``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from appliance.errors import ApplianceError
from appliance.paths import models_dir
from appliance.render.base import Renderer
from appliance.render.baselines import BaselineModel, DeadpanRenderer, LinearRenderer, MeanRenderer

BASELINES_FILE = "baselines.json"


def _baseline_model() -> BaselineModel:
    return BaselineModel.load(models_dir() / BASELINES_FILE)


NEURAL_FOLDER = "renderer"


def _neural() -> Renderer:
    from appliance.render.neural import NeuralModel, NeuralRenderer

    return NeuralRenderer(NeuralModel(models_dir() / NEURAL_FOLDER))


RENDERERS: dict[str, Callable[[], Renderer]] = {
    "neural": _neural,
    "deadpan": DeadpanRenderer,
    "mean": lambda: MeanRenderer(_baseline_model()),
    "linear": lambda: LinearRenderer(_baseline_model()),
}


def steering_file() -> Path:
    """The steering vectors that ship with the neural renderer."""
    return models_dir() / NEURAL_FOLDER / "directions.json"


def default_renderer_name() -> str:
    """The best renderer the box has: the neural model, else the linear baseline, else deadpan."""
    from appliance.render.neural import MODEL_FILE

    if (models_dir() / NEURAL_FOLDER / MODEL_FILE).exists():
        return "neural"
    return "linear" if (models_dir() / BASELINES_FILE).exists() else "deadpan"


def get_renderer(name: str | None = None) -> Renderer:
    name = name or default_renderer_name()
    try:
        factory = RENDERERS[name]
    except KeyError:
        known = ", ".join(sorted(RENDERERS))
        raise ApplianceError(f"unknown renderer {name!r} (known: {known})") from None
    return factory()
