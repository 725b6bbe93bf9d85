"""benchmarks/lm_solvers.py: CG's LM direction against Cholesky's on a spec's own cells (the
smoke profile, in a fresh interpreter: the script turns on float64 for its reference)."""

from __future__ import annotations

import json
from functools import partial

from tests.benchmark_scripts import run_script

run_benchmark = partial(run_script, "benchmarks/lm_solvers.py")


def test_cg_reaches_the_cholesky_direction_on_the_smoke_cells():
    done = run_benchmark("--quick", "--where", "loss.scale=0.5", "--json", "-")
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    rows = result["rows"]
    assert [row["step"] for row in rows] == [0, 5]  # the start and after 5 LM steps
    assert {row["point"]["loss.scale"] for row in rows} == {0.5}
    for row in rows:
        assert row["m"] == 39 * 7  # 80 % of the 49 pairs, 7 outputs each
        assert row["cg_iterations"] >= 1
        assert row["cg_residual"] <= 1e-6  # the cells' cg_tol: CG stopped at it, not the cap
        # both float32 solves sit near the float64 reference, and CG within the printed rule
        assert row["cholesky_error"] < 1e-5 and row["cg_error"] < 1e-4
        assert row["same_direction"]
    assert result["all_same_direction"]


def test_a_starved_cg_is_not_the_same_direction():
    """Two CG iterations cannot reach the direction: the script says so and exits 1."""
    done = run_benchmark(
        "--quick", "--where", "loss.scale=1.0", "--cg-max-iterations", "2", "--json", "-"
    )
    assert done.returncode == 1, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert not result["all_same_direction"]
    assert all(row["cg_iterations"] == 2 for row in result["rows"])
