"""benchmarks/mnist.py: one measurement in-process on a few steps, and the run summary."""

from __future__ import annotations

import importlib.util
import json
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


def test_run_summary_reads_the_manifest(tmp_path):
    bench = _module()
    cells = [
        {"optimizer": "adamw", "wall_seconds": 2.0},
        {"optimizer": "adamw", "wall_seconds": 3.0},
        {"optimizer": "lm", "wall_seconds": 10.0},
    ]
    manifest = {
        "profile": "default",
        "created": "2026-11-28T15:00:00Z",
        "finished": "2026-11-28T15:12:30Z",
        "cells": cells,
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    claims = {"claims": [{"id": "a", "verdict": "PASS"}]}
    (tmp_path / "claims.json").write_text(json.dumps(claims))
    summary = bench.run_summary(tmp_path)
    assert summary["wall_s"] == 750.0 and summary["cells"] == 3
    assert summary["cell_seconds_by_optimizer"] == {"adamw": 5.0, "lm": 10.0}
    assert summary["verdicts"] == {"a": "PASS"}
