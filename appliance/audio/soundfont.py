"""Which piano SoundFont to play with: Debian's packages, best first.

FluidR3_GM (about 140 MB, the better piano) is what the box installs: Debian 12 and Raspberry
Pi OS package it as ``fluid-soundfont-gm``, later releases also as ``fluid-r3-gm-soundfont``; the
small ``timgm6mb-soundfont`` (6 MB) is enough for tests. ``$APPLIANCE_SOUNDFONT`` overrides both.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from appliance.errors import ApplianceError

CANDIDATES = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    Path("/usr/share/sounds/sf3/MuseScore_General.sf3"),
    Path("/usr/share/sounds/sf2/TimGM6mb.sf2"),
    Path("/usr/share/sounds/sf2/default-GM.sf2"),
)


def find_soundfont() -> Path:
    env = os.environ.get("APPLIANCE_SOUNDFONT")
    if env:
        path = Path(env)
        if not path.is_file():
            raise ApplianceError(f"APPLIANCE_SOUNDFONT={env} is not a file")
        return path
    for path in CANDIDATES:
        if path.is_file():
            return path
    raise ApplianceError(
        "no piano SoundFont found: install Debian's fluid-soundfont-gm (FluidR3_GM; "
        "fluid-r3-gm-soundfont on newer releases) or timgm6mb-soundfont (`make run` does)"
    )


def keep_partitura_offline() -> None:
    """partitura 1.9 downloads a SoundFont from the internet when it is imported while
    pyfluidsynth is installed, unless its asset file exists: point that file at a local
    SoundFont (the box never downloads at run time). Does nothing when it already exists."""
    spec = importlib.util.find_spec("partitura")
    if spec is None or not spec.submodule_search_locations:
        return
    asset = Path(next(iter(spec.submodule_search_locations))) / "assets" / "MuseScore_General.sf3"
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
