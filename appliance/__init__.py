"""The piano appliance: score → render → perform → sinks."""

from appliance.audio.soundfont import keep_partitura_offline

__version__ = "0.1.0"

keep_partitura_offline()
