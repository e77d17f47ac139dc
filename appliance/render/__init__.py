"""Renderers: score note table + style + performance so far → per-note expression."""
