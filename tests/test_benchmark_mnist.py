"""benchmarks/mnist.py: one measurement in-process on a few steps, and the run summary."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module():
    spec = importlib.util.spec_from_file_location("bench_mnist", ROOT / "benchmarks" / "mnist.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_child_measures_a_per_step_time():
    bench = _module()
    row = bench._child("cpu", "lm-cholesky", 8)
    assert row["per_step_s"] > 0 and row["first_chunk_s"] > 0 and row["steps"] == 8
    assert 0.0 <= row["final_test_accuracy"] <= 1.0
