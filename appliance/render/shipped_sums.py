"""The shipped models' pinned checksums: ``models_onnx/SHA256SUMS`` (``sha256sum``'s format).

Written by ``python -m export.model_sums`` (the last step of ``make model``) and kept in the
repository; a test checks it is up to date. At start the renderer's files are checked against it
before they play: a file damaged or changed since then is said, and a plainer renderer plays.
Without the list (a development folder of models) nothing is checked.
"""

from __future__ import annotations

from pathlib import Path

from appliance.paths import file_sha256

SUMS = "SHA256SUMS"
HOW = "reinstall the models (`make install`), or run `make model` again"


def listed_files(models: Path) -> list[str]:
    """The files the list pins: every file under ``models`` but the list and the notes (*.md)."""
    return sorted(
        path.relative_to(models).as_posix()
        for path in models.rglob("*")
        if path.is_file() and path.name != SUMS and path.suffix != ".md"
    )


def sums_of(models: Path) -> dict[str, str]:
    return {name: file_sha256(models / name) for name in listed_files(models)}


def format_sums(sums: dict[str, str]) -> str:
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(sums.items()))


def write_sums(models: Path) -> Path:
    path = models / SUMS
    path.write_text(format_sums(sums_of(models)))
    return path


def read_sums(models: Path) -> dict[str, str] | None:
    """The pinned checksums by file (relative to ``models``), or None without a list."""
    try:
        text = (models / SUMS).read_text()
    except FileNotFoundError:
        return None
    sums: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2:
            sums[parts[1].strip().removeprefix("*")] = parts[0].lower()
    return sums


def check_files(models: Path, names: list[str]) -> str | None:
    """What is wrong with these files (relative to ``models``) against the pinned checksums, in
    plain words, or None when they match (or there is no list)."""
    sums = read_sums(models)
    if sums is None:
        return None
    wrong = []
    for name in names:
        path = models / name
        if not path.is_file():
            wrong.append(f"{name} is missing")
        elif name not in sums:
            wrong.append(f"{name} is not in {SUMS}")
        elif file_sha256(path) != sums[name]:
            wrong.append(f"{name} does not match its checksum (damaged or changed)")
    if not wrong:
        return None
    return f"the shipped model is not the one pinned in {SUMS}: {'; '.join(wrong)}; {HOW}"
