"""partitura, imported so that it never reaches for the internet.

partitura 1.9 downloads a SoundFont when it is first imported while pyfluidsynth is installed,
unless its asset file already exists. Every use of partitura in the box goes through
:func:`partitura` (or calls :func:`keep_offline` first), which points that file at a local
SoundFont the first time — lazily, when a score is first read, not when the package is imported.
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from pathlib import Path
from types import ModuleType

from appliance.errors import ApplianceError
from appliance.soundfont import find_soundfont

ASSET = "MuseScore_General.sf3"
_done = threading.Event()
_lock = threading.Lock()


def keep_offline() -> None:
    """Make sure importing partitura will not download anything (once per process)."""
    if _done.is_set():
        return
    with _lock:
        if not _done.is_set():
            _link_asset()
            _done.set()


def partitura() -> ModuleType:
    """The partitura package, imported offline."""
    keep_offline()
    return importlib.import_module("partitura")


def partitura_score() -> ModuleType:
    """``partitura.score`` (parts, notes, directions), imported offline."""
    keep_offline()
    return importlib.import_module("partitura.score")


def _link_asset() -> None:
    spec = importlib.util.find_spec("partitura")
    if spec is None or not spec.submodule_search_locations:
        return
    asset = Path(next(iter(spec.submodule_search_locations))) / "assets" / ASSET
    if asset.exists() or importlib.util.find_spec("fluidsynth") is None:
        return
    try:
        target = find_soundfont()
        asset.parent.mkdir(parents=True, exist_ok=True)
        asset.symlink_to(target)
    except (ApplianceError, OSError) as exc:
        raise ApplianceError(
            f"partitura would try to download a SoundFont on import; link {asset} to a local "
            f"SoundFont first ({exc})"
        ) from None
