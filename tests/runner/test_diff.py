"""``runner diff RUN_A RUN_B`` and the claim changes behind ``runner judge`` (runner/diff.py), on
copies of the stored regression_1d smoke run edited by hand: no training, no judging.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from runner import cli, store
from runner.diff import (
    PREVIOUS_CLAIMS,
    claim_changes,
    compare_cells,
    diff_runs,
    judged_again_lines,
    value_changes,
)
from runner.results import CellResult, ClaimResult

RUN = Path(__file__).parent / "data" / "regression_1d_smoke_run"
GD = "000_gd_s0_b097fc24"
GN = "003_gn_s0_12d167d7"


# --- building runs -------------------------------------------------------------------------------


def copy_run(out: Path, stamp: str = "20261130T061947Z", **manifest: object) -> Path:
    """The stored run copied to ``out/<stamp>_regression_1d_92b9f884``, its manifest's run id
    and ``created`` set from ``stamp`` (``20261201T000000Z``) and updated with ``manifest``."""
    name = f"{stamp}_regression_1d_92b9f884"
    run_dir = Path(shutil.copytree(RUN, out / name))
    created = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}T{stamp[9:11]}:{stamp[11:13]}:{stamp[13:15]}Z"
    edit_json(run_dir / "manifest.json", run_id=name, created=created, **manifest)
    return run_dir


def edit_json(path: Path, **fields: object) -> None:
    data = store.read_json(path)
    data.update(fields)
    path.write_text(json.dumps(data), encoding="utf-8")


def edit_claim(run_dir: Path, claim_id: str, **fields: object) -> None:
    data = store.read_json(run_dir / "claims.json")
    for claim in data["claims"]:
        if claim["id"] == claim_id:
            claim.update(fields)
    (run_dir / "claims.json").write_text(json.dumps(data), encoding="utf-8")


def drop_claim(run_dir: Path, claim_id: str) -> None:
    data = store.read_json(run_dir / "claims.json")
    data["claims"] = [c for c in data["claims"] if c["id"] != claim_id]
    (run_dir / "claims.json").write_text(json.dumps(data), encoding="utf-8")


def edit_metrics(run_dir: Path, cell_id: str, edit) -> dict[str, np.ndarray]:
    """Rewrite a cell's metrics.npz with ``edit(arrays)`` (a dict by npz name, changed in
    place); the original arrays are returned."""
    path = run_dir / "cells" / cell_id / "metrics.npz"
    with np.load(path) as stored:
        original = {name: stored[name] for name in stored.files}
    arrays = dict(original)
    edit(arrays)
    np.savez(path, **arrays)
    return original


def remove_cell(run_dir: Path, cell_id: str) -> None:
    shutil.rmtree(run_dir / "cells" / cell_id)
    manifest = store.read_json(run_dir / "manifest.json")
    edit_json(
        run_dir / "manifest.json", cells=[c for c in manifest["cells"] if c["cell_id"] != cell_id]
    )


def _cli(argv: list[str], capsys) -> tuple[int, str, str]:
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


# --- claims --------------------------------------------------------------------------------------


def _claim(claim_id: str, verdict: str, margin: float | None, expected: str = "pass"):
    return ClaimResult(claim_id, "threshold", verdict, expected, "e", "o", margin=margin)


def test_claim_changes_say_what_changed():
    before = [
        _claim("flip", "FAIL", -0.432),
        _claim("moved", "PASS", 0.25),
        _claim("same", "PASS", float("inf")),
        _claim("gone", "FAIL", -1.0),
        _claim("control", "FAIL", -0.5, expected="pass"),
    ]
    after = [
        _claim("flip", "PASS", 0.12),
        _claim("moved", "PASS", 0.3),
        _claim("same", "PASS", float("inf")),
        _claim("control", "FAIL", -0.5, expected="fail"),  # now a negative control: it holds
        _claim("new", "INCONCLUSIVE", None),
    ]
    changes = {c.id: c for c in claim_changes(before, after)}
    assert list(changes) == ["flip", "moved", "same", "gone", "control", "new"]
    assert {k: c.change for k, c in changes.items()} == {
        "flip": "verdict",
        "moved": "margin",
        "same": "same",
        "gone": "removed",
        "control": "verdict",
        "new": "added",
    }
    assert [k for k, c in changes.items() if c.changed] == ["flip", "gone", "control", "new"]
    assert changes["flip"].text() == "FAIL -> PASS (margin -0.432 -> 0.12)"
    assert changes["moved"].text() == "margin 0.25 -> 0.3"
    assert changes["gone"].text() == "removed (was FAIL, margin -1)"
    assert changes["new"].text() == "added (INCONCLUSIVE)"
    assert changes["control"].text() == "FAIL: does not hold -> holds"
    # what runner judge prints: the changes, or one line when none
    lines = judged_again_lines(before, after)
    assert lines[0] == f"4 verdicts changed since the previous judgement ({PREVIOUS_CLAIMS}):"
    assert "  flip: FAIL -> PASS (margin -0.432 -> 0.12)" in lines
    assert judged_again_lines(before, before) == [
        f"no verdict changed since the previous judgement ({PREVIOUS_CLAIMS})"
    ]
    assert judged_again_lines(before[:2], [before[0], after[1]]) == [
        f"no verdict changed (1 margin moved) since the previous judgement ({PREVIOUS_CLAIMS})"
    ]


def test_spec_values_compare_key_by_key_and_claims_by_id():
    a = {"train": {"steps": 120}, "claims": [{"id": "x", "value": 0.5}, {"id": "y", "max": 2}]}
    b = {"train": {"steps": 500, "eval_every": 10}, "claims": [{"id": "x", "value": 1e9}]}
    texts = [c.text() for c in value_changes(a, b)]
    assert texts == [
        "train.steps: 120 -> 500",
        "train.eval_every: (absent) -> 10",
        "claims[x].value: 0.5 -> 1000000000.0",
        'claims[y]: {"id": "y", "max": 2} -> (absent)',
    ]
    assert value_changes(a, a) == []


def test_cells_match_by_optimizer_sweep_point_and_seed():
    steps = np.arange(0, 30, 10)

    def cell(cell_id: str, alpha: float, values: list[float]) -> CellResult:
        return CellResult(
            cell_id,
            "gd",
            0,
            {"model.alpha": alpha},
            "finished",
            eval_steps=steps,
            metrics={"mse": np.array(values)},
        )

    a = [cell("000_a", 2, [1.0, 0.5, 0.25]), cell("001_a", 3, [1.0, 0.5, 0.25])]
    b = [cell("007_b", 2.0, [1.0, 0.5, 0.2]), cell("008_b", 4, [1.0, 0.5, 0.25])]
    diffs = compare_cells(a, b, ({"000_a": "h1"}, {"007_b": "h2"}))
    assert [(d.label, d.state) for d in diffs] == [
        ("gd seed 0 model.alpha=2", "differs"),  # 2 and 2.0: one sweep point
        ("gd seed 0 model.alpha=3", "only in A"),
        ("gd seed 0 model.alpha=4", "only in B"),
    ]
    (mse,) = diffs[0].metrics
    assert (mse.name, mse.state, mse.compared) == ("eval/mse", "differs", 3)
    assert mse.max_abs == pytest.approx(0.05) and mse.max_rel == pytest.approx(0.2)
    assert diffs[0].same_parameters is False


# --- two stored runs -----------------------------------------------------------------------------


def test_a_run_and_its_copy_differ_in_nothing(tmp_path, capsys):
    a = copy_run(tmp_path / "a")
    b = copy_run(tmp_path / "b", stamp="20261201T000000Z")
    code, out, _ = _cli(["diff", str(a), str(b)], capsys)
    assert code == cli.EXIT_OK
    assert "claims: 0 of 10 claims changed verdict" in out
    assert "cells (matched by optimizer, sweep point, seed): 4 identical" in out
    assert "spec (spec.resolved.yaml): no difference" in out and "run: no difference" in out
    # a margin that moves is reported, and does not fail the gate
    edit_claim(b, "gn_rate_is_lr", margin=0.3)
    code, out, _ = _cli(["diff", str(a), str(b), "--claims-only"], capsys)
    assert code == cli.EXIT_OK
    assert "0 of 10 claims changed verdict, 1 margin moved" in out
    assert "margin 0.246 -> 0.3" in out and "cells (matched" not in out


def test_diff_names_each_claim_cell_and_spec_difference(tmp_path, capsys):
    a = copy_run(tmp_path)
    b = copy_run(tmp_path, stamp="20261201T000000Z", profile="default")
    edit_claim(b, "gn_clears_every_mode", verdict="PASS", margin=0.12)
    drop_claim(b, "all_cells_stable")

    def edit(arrays):
        arrays["eval/mse"] = arrays["eval/mse"] * 1.01  # 1 % off at every step
        arrays["train/loss"] = arrays["train/loss"][:100]  # a shorter run: another step grid

    mse = edit_metrics(b, GD, edit)["eval/mse"]
    remove_cell(b, GN)
    resolved = (b / "spec.resolved.yaml").read_text()
    (b / "spec.resolved.yaml").write_text(
        resolved.replace("train: {steps: 120,", "train: {steps: 500,", 1)
    )
    env = store.read_json(b / "env.json")
    env["git"]["commit"] = "0123456789abcdef"
    env["packages"]["jax"] = "0.11.0"
    (b / "env.json").write_text(json.dumps(env))

    code, out, _ = _cli(["diff", str(a), str(b)], capsys)
    assert code == cli.EXIT_CLAIM_FAILED  # a verdict changed: the gate fails
    lines = out.splitlines()
    assert lines[0].startswith("A  20261130T061947Z_regression_1d_92b9f884  (regression_1d")
    assert "claims: 2 of 10 claims changed verdict" in out
    (flip,) = [line for line in lines if "gn_clears_every_mode" in line]
    assert flip.startswith("  * ") and flip.endswith("FAIL -> PASS (margin -226 -> 0.12)")
    (gone,) = [line for line in lines if "all_cells_stable" in line]
    assert gone.startswith("  * ") and gone.endswith("removed (was PASS)")
    (same,) = [line for line in lines if " gn_uniform_rate " in line]
    assert same.startswith("    ") and same.endswith("same")
    assert (
        "cells (matched by optimizer, sweep point, seed): 2 identical, 1 differ, 1 only in A" in out
    )
    rel = float(np.max(np.abs(mse * 1.01 - mse) / np.abs(mse * 1.01)))
    abs_ = float(np.max(np.abs(mse * 0.01)))
    from runner.text import number

    assert f"eval/mse: max abs {number(abs_)}, max rel {number(rel)}" in out
    assert "train/loss: max abs 0, max rel 0; steps differ: A 120 (0..119), B 100 (0..99)" in out
    assert "eval/fft_error" not in out  # identical arrays are not listed
    assert f"gn seed 0: only in A ({GN})" in out
    assert "train.steps: 120 -> 500" in out
    assert "profile: smoke -> default" in out
    assert "git.commit: 865d1b9a3c89c90f6b5d725ab405f79725cdd9be -> 0123456789abcdef" in out
    assert "packages.jax: 0.10.2 -> 0.11.0" in out

    code, out, _ = _cli(["diff", str(a), str(b), "--json"], capsys)
    assert code == cli.EXIT_CLAIM_FAILED
    data = json.loads(out)
    assert data["verdicts_changed"] is True
    claims = {c["id"]: c for c in data["claims"]}
    assert claims["gn_clears_every_mode"]["verdict_b"] == "PASS"
    assert claims["gn_clears_every_mode"]["margin_b"] == 0.12
    assert claims["gd_rates_spread"]["margin_a"] == "inf"  # non-finite numbers as JSON strings
    assert claims["all_cells_stable"]["change"] == "removed"
    cells = {c["label"]: c for c in data["cells"]}
    metrics = {m["name"]: m for m in cells["gd seed 0"]["metrics"]}
    assert metrics["eval/mse"]["max_rel"] == pytest.approx(rel)
    assert metrics["eval/fft_error"]["state"] == "identical"
    assert cells["gn seed 0"]["state"] == "only in A"
    assert {"path": "train.steps", "a": 120, "b": 500} in data["spec"]
    code, out, _ = _cli(["diff", str(a), str(b), "--json", "--claims-only"], capsys)
    assert set(json.loads(out)) == {"a", "b", "verdicts_changed", "claims"}


def test_a_claim_added_counts_as_a_changed_verdict(tmp_path):
    a = copy_run(tmp_path / "a")
    b = copy_run(tmp_path / "b")
    drop_claim(a, "gd_rates_spread")
    diff = diff_runs(a, b, cells=False)
    assert diff.verdicts_changed and diff.cells is None
    (added,) = [c for c in diff.claims if c.changed]
    assert (added.id, added.text()) == ("gd_rates_spread", "added (PASS, margin inf)")


def test_diff_of_something_that_is_not_a_run_is_a_usage_error(tmp_path, capsys):
    a = copy_run(tmp_path)
    code, _, err = _cli(["diff", str(a), str(tmp_path / "nothing")], capsys)
    assert code == cli.EXIT_USAGE
    assert (
        err.strip()
        == f"runner: error: {tmp_path / 'nothing'}: not a run directory (no manifest.json)"
    )
    code, _, err = _cli(["diff", str(a)], capsys)
    assert code == cli.EXIT_USAGE and "RUN_B" in err
