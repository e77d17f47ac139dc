"""Where the appliance keeps its files: caches, state and the models it ships."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_ROOT.parent


def cache_dir() -> Path:
    """Processed data and other rebuildable files (``$APPLIANCE_CACHE`` or ~/.cache/appliance)."""
    env = os.environ.get("APPLIANCE_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "appliance"


def data_dir() -> Path:
    """The box's state: outputs, later certificates and the store (``$APPLIANCE_DATA``)."""
    env = os.environ.get("APPLIANCE_DATA")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "appliance"


def models_dir() -> Path:
    """The trained, shipped models (``models_onnx/`` beside the package)."""
    env = os.environ.get("APPLIANCE_MODELS")
    return Path(env) if env else REPO_ROOT / "models_onnx"


def shared_data_dir() -> Path:
    """The aligned training data (``$APPLIANCE_SHARED_DATA`` or ../shared/data from the repo)."""
    env = os.environ.get("APPLIANCE_SHARED_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's content, read in 1 MiB pieces."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def checked_file(path: Path, sha256: str, what: str, how: str) -> Path:
    """``path`` when it is there with the content pinned by ``sha256``; otherwise a clear
    :class:`~appliance.errors.ApplianceError` naming ``what`` it is and ``how`` to put it right
    (a model file that is missing, damaged or another version)."""
    from appliance.errors import ApplianceError

    if not path.is_file():
        raise ApplianceError(f"{what} {path} is missing: {how}")
    got = file_sha256(path)
    if got != sha256:
        raise ApplianceError(
            f"{what} {path} is damaged or another version (sha256 {got[:16]}…, expected "
            f"{sha256[:16]}…): {how}"
        )
    return path


def write_atomically(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace ``path``'s content with ``data`` all at once: written to a file of this thread's
    own beside it, flushed to the disk, then renamed over it — a reader, a crash or a full disk
    leaves the old content or the new, never half. ``mode``: the new file's permissions (else
    the usual ones for a new file); nothing is left behind when writing fails."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
