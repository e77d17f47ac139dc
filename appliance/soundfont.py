"""Which piano SoundFont to play with: Debian's packages, best first.

FluidR3_GM (about 140 MB, the better piano) is what the box installs: Debian 12 and Raspberry
Pi OS package it as ``fluid-soundfont-gm``, later releases also as ``fluid-r3-gm-soundfont``; the
small ``timgm6mb-soundfont`` (6 MB) is enough for tests. ``$APPLIANCE_SOUNDFONT`` overrides both.
"""

from __future__ import annotations

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
