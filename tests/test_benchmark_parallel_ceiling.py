"""benchmarks/parallel_ceiling.py: the same work timed alone and in two processes at once."""

from __future__ import annotations

import json

import pytest

from tests.benchmark_scripts import run_script


def test_parallel_ceiling_times_the_same_work_alone_and_in_two_processes():
    """A tiny matmul loop, alone and in two spawned processes (in a fresh interpreter: the
    workers import the script as a module)."""
    done = run_script(
        "benchmarks/parallel_ceiling.py",
        *["--cells", "--repeats", "1", "--matmul-iterations", "20", "--json", "-"],
    )
    assert done.returncode == 0, done.stderr[-2000:]
    (row,) = json.loads(done.stdout.strip().splitlines()[-1])["rows"]
    assert row["workload"] == "matmul:20" and row["alone_s"] > 0 and row["together_s"] > 0
    assert row["max_speedup"] == pytest.approx(2 * row["alone_s"] / row["together_s"])
    assert row["max_speedup_over_jobs1"] == pytest.approx(2 * row["jobs1_s"] / row["together_s"])
