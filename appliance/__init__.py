"""The piano appliance: score → render → perform → sinks.

The box never phones home. onnxruntime (the renderer, the voice-activity model, the sentence
model) reports usage to ``mobile.events.data.microsoft.com`` every few seconds while it runs
unless ``ORT_DISABLE_TELEMETRY`` is set before it is imported (found by running the box in a
network namespace with no route: ``tests/test_offline_netns.py``). It is set here, whatever the
environment says, so that it holds in the box and in every worker process: each imports this
package before any of its modules imports such a library.
"""

import os

__version__ = "0.1.0"

OFFLINE = {"ORT_DISABLE_TELEMETRY": "1"}  # the libraries' usage reports, turned off
os.environ.update(OFFLINE)
