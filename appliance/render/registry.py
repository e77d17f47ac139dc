"""Find renderers by name; the models they need come from ``models_onnx/``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from appliance.errors import ApplianceError
from appliance.paths import models_dir
from appliance.render.base import Renderer
from appliance.render.baselines import BaselineModel, DeadpanRenderer, LinearRenderer, MeanRenderer
from appliance.render.shipped_sums import check_files
from appliance.render.versions import ModelVersion, ModelVersions

log = logging.getLogger(__name__)

BASELINES_FILE = "baselines.json"


def _baseline_model() -> BaselineModel:
    return BaselineModel.load(models_dir() / BASELINES_FILE)


NEURAL_FOLDER = "renderer"
STEERING_FILE = "directions.json"


def active_model() -> tuple[ModelVersion, str | None]:
    """The renderer version chosen to play (``appliance model use``), checked, and what went
    wrong when it could not be used (the shipped version then plays; its files are checked
    against the pinned checksums, ``models_onnx/SHA256SUMS``)."""
    version, problem = ModelVersions(shipped=models_dir() / NEURAL_FOLDER).active()
    if version.shipped:
        wrong = shipped_problem(version)
        problem = f"{problem}; {wrong}" if problem and wrong else problem or wrong
    if problem:
        log.warning("%s", problem)
    return version, problem


def shipped_problem(version: ModelVersion) -> str | None:
    """What is wrong with the shipped renderer's files against their pinned checksums."""
    models = models_dir()
    folder = version.folder.relative_to(models)
    return check_files(models, [(folder / name).as_posix() for name, _ in version.files])


def neural_renderer(version: ModelVersion) -> Renderer:
    """The neural renderer of one version (its graphs loaded)."""
    from appliance.render.neural import NeuralModel, NeuralRenderer

    return NeuralRenderer(NeuralModel(version.folder), version=version.version)


def _neural() -> Renderer:
    version, _ = active_model()
    if version.shipped and (wrong := shipped_problem(version)):
        raise ApplianceError(wrong)  # a damaged model must not play: a plainer renderer does
    return neural_renderer(version)


RENDERERS: dict[str, Callable[[], Renderer]] = {
    "neural": _neural,
    "deadpan": DeadpanRenderer,
    "mean": lambda: MeanRenderer(_baseline_model()),
    "linear": lambda: LinearRenderer(_baseline_model()),
}


def steering_file(version: ModelVersion | None = None) -> Path:
    """The steering vectors fitted to a renderer version (the active one by default), else
    the shipped ones."""
    folder = (version or active_model()[0]).folder
    own = folder / STEERING_FILE
    return own if own.is_file() else models_dir() / NEURAL_FOLDER / STEERING_FILE


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
