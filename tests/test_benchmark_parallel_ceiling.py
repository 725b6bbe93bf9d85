"""benchmarks/parallel_ceiling.py: the same work timed alone and in two processes at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_parallel_ceiling_times_the_same_work_alone_and_in_two_processes():
    """A tiny matmul loop, alone and in two spawned processes (in a fresh interpreter: the
    workers import the script as a module)."""
    done = subprocess.run(
        [sys.executable, "benchmarks/parallel_ceiling.py", "--cells", "--repeats", "1"]
        + ["--matmul-iterations", "20", "--json", "-"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (row,) = json.loads(done.stdout.strip().splitlines()[-1])["rows"]
    assert row["workload"] == "matmul:20" and row["alone_s"] > 0 and row["together_s"] > 0
    assert row["max_speedup"] == pytest.approx(2 * row["alone_s"] / row["together_s"])
    assert row["max_speedup_over_jobs1"] == pytest.approx(2 * row["jobs1_s"] / row["together_s"])
