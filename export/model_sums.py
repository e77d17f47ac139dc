"""The shipped models' checksum list, ``models_onnx/SHA256SUMS`` (the last step of `make model`).

    python -m export.model_sums          # writes it from the files as they are
    python -m export.model_sums --check  # says which files differ from it (exit 1)

The box checks the renderer's files against it at start (:mod:`appliance.render.shipped_sums`).
"""

from __future__ import annotations

import argparse
import sys

from appliance.paths import models_dir
from appliance.render.shipped_sums import SUMS, read_sums, sums_of, write_sums


def differences() -> list[str]:
    """How the list differs from the files (nothing: up to date)."""
    folder = models_dir()
    pinned = read_sums(folder)
    if pinned is None:
        return [f"{folder / SUMS} is missing"]
    actual = sums_of(folder)
    out = [f"{name}: not in the list" for name in sorted(actual.keys() - pinned.keys())]
    out += [f"{name}: listed, not there" for name in sorted(pinned.keys() - actual.keys())]
    out += [
        f"{name}: its checksum changed"
        for name in sorted(actual.keys() & pinned.keys())
        if actual[name] != pinned[name]
    ]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    if args.check:
        wrong = differences()
        for line in wrong:
            print(line)
        return 1 if wrong else 0
    path = write_sums(models_dir())
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
