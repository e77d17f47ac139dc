"""The piano appliance: score → render → perform → sinks."""

__version__ = "0.1.0"
