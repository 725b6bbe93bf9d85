"""benchmarks/transformer.py: one tiny measurement in-process, the naive GGN product against the
matrix-free one, the cell configs against the spec's plan, and the extrapolation and run summary
on synthetic inputs."""

from __future__ import annotations

import pytest

from tests.benchmark_scripts import load


@pytest.fixture(scope="module")
def bench():
    return load("transformer")


def test_child_measures_a_ggn_step(bench):
    row = bench._child("smoke", "ggn", 4)
    assert row["steps"] == 4 and row["size"] == "smoke" and row["method"] == "ggn"
    assert row["per_step_s"] > 0 and row["first_chunk_s"] > 0 and row["eval_s"] > 0
    assert 0 <= row["train_step_s"] <= row["per_step_s"]
    assert row["parameters"] == 2432 and row["train_equations"] == 24 and row["batch"] == 24
    assert len(row["cg_iterations"]) == 4 and len(row["halvings"]) == 4
    assert 1 <= row["cg_iterations_mean"] <= row["cg_max_iterations"] == 5
    assert 0 <= row["halvings_mean"] <= 10 and 0 <= row["accepted_fraction"] <= 1
    assert row["cg_iteration_s"] >= 0 and row["train_step_at_cg_cap_s"] >= row["train_step_s"]


def test_naive_and_matrix_free_products_agree(bench):
    result = bench.naive_comparison("smoke", repeats=1, jacobian="rows")
    assert result["logits"] == [24, 10]  # 24 train equations, one loss position, p + 3 tokens
    assert result["jacobian_shape"] == [240, result["parameters"]]
    assert result["jacobian_bytes"] == 240 * result["parameters"] * 4
    assert result["jacobian_vs_jvp"] < 1e-5
    assert result["relative_difference"] < 1e-5
    assert result["matrix_free_s"] > 0 and result["naive_s"] > 0
    assert result["naive_over_matrix_free"] == result["naive_s"] / result["matrix_free_s"]


def test_sizes_are_the_documented_ones(bench):
    default, paper = bench.describe("default"), bench.describe("paper")
    shape = ("modulus", "loss_positions")
    assert [default["task"][k] for k in shape] == [23, "equals"]
    assert [paper["task"][k] for k in shape] == [97, "rhs"]
    model = ("layers", "d_model", "heads", "d_ffn")
    assert [default["model"][k] for k in model] == [2, 64, 4, 256]
    assert [paper["model"][k] for k in model] == [2, 128, 4, 512]
    assert (default["batch_size"], default["cg_max_iterations"]) == (None, 30)
    assert (paper["batch_size"], paper["cg_max_iterations"]) == (512, 150)
    naive = bench.describe("naive")
    assert [naive["model"][k] for k in model] == [1, 16, 4, 64]
    assert naive["task"] == default["task"] and naive["batch_size"] is None


def test_cell_config_is_the_planned_cell_with_fewer_steps(bench):
    from runner.load import load_spec
    from runner.plan import plan

    loaded = load_spec(bench.SPEC, profile="paper")
    planned = next(c.params for c in plan(loaded.spec, loaded.resolved) if c.optimizer == "ggn")
    mine = bench.cell_config("paper", "ggn", 8)
    assert mine["train"]["steps"] == 8 and mine["train"]["eval_every"] == 2
    mine["train"].update(steps=planned["train"]["steps"], eval_every=planned["train"]["eval_every"])
    assert mine == planned


def test_profile_cells_count_the_paper_steps(bench):
    cells = {c["cell"]: c for c in bench.profile_cells("paper")}
    assert set(cells) == {"adam", "ggn", "ggn_then_adam"}
    assert (cells["adam"]["adam"], cells["adam"]["ggn"], cells["adam"]["evals"]) == (100000, 0, 201)
    assert (cells["ggn"]["adam"], cells["ggn"]["ggn"], cells["ggn"]["evals"]) == (0, 3000, 61)
    switch = cells["ggn_then_adam"]
    assert (switch["ggn"], switch["adam"], switch["evals"]) == (3000, 100000, 207)


def test_extrapolate_adds_steps_evaluations_and_compilation(bench):
    cells = [
        {"cell": "adam", "seed": 0, "ggn": 0, "adam": 1000, "evals": 3},
        {"cell": "ggn", "seed": 0, "ggn": 10, "adam": 0, "evals": 2},
        {"cell": "ggn_then_adam", "seed": 0, "ggn": 10, "adam": 1000, "evals": 5},
    ]
    step_s = {"adam": 0.01, "ggn": 2.0}
    out = bench.extrapolate(step_s, 0.5, cells, "paper", {"adam": 1.0, "ggn": 4.0})
    seconds = [row["seconds"] for row in out["cells"]]
    assert seconds == pytest.approx([10 + 1.5 + 1, 20 + 1 + 4, 10 + 20 + 2.5 + 5])
    assert out["total_s"] == pytest.approx(sum(seconds))
    assert out["total_hours"] == pytest.approx(out["total_s"] / 3600)
    assert "extrapolation" in out["kind"] and out["profile"] == "paper"


def test_size_extrapolation_uses_the_cg_cap_only_when_asked(bench):
    rows = [
        {"size": "paper", "method": "adam", "train_step_s": 0.1, "eval_s": 1.0, "compile_s": 0},
        {
            "size": "paper",
            "method": "ggn",
            "train_step_s": 2.0,
            "train_step_at_cg_cap_s": 20.0,
            "eval_s": 1.0,
            "compile_s": 0,
        },
    ]
    plain = bench.size_extrapolation(rows, "paper", "paper")
    capped = bench.size_extrapolation(rows, "paper", "paper", cap=True)
    evals = (201 + 61 + 207) * 1.0
    assert plain["total_s"] == pytest.approx(200000 * 0.1 + 6000 * 2.0 + evals)
    assert capped["total_s"] == pytest.approx(200000 * 0.1 + 6000 * 20.0 + evals)
    assert bench.size_extrapolation(rows[:1], "paper", "paper") is None
