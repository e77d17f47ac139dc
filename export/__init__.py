"""Offline tooling: dataset building, baselines, evaluation (later: training, ONNX export)."""
