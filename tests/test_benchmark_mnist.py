"""benchmarks/mnist.py: one measurement in-process on a few steps, and the run summary."""

from __future__ import annotations

from tests.benchmark_scripts import load


def test_child_measures_a_per_step_time():
    bench = load("mnist")
    row = bench._child("cpu", "lm-cholesky", 8)
    assert row["per_step_s"] > 0 and row["first_chunk_s"] > 0 and row["steps"] == 8
    assert 0.0 <= row["final_test_accuracy"] <= 1.0
