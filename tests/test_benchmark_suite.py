"""benchmarks/suite.py: one tiny spec through ``runner run`` in a fresh process, its JSON, and the
comparison with a baseline."""

from __future__ import annotations

import json

import yaml

from tests.benchmark_scripts import load

TINY = {
    "name": "tiny_suite",
    "task": {"kind": "random_jacobian", "residuals": 8, "parameters": 20},
    "model": {"kind": "linear"},
    "loss": {"kind": "mse", "convention": "raw"},
    "optimizers": {
        "gd": {"kind": "gd", "learning_rate": 0.01},
        "lm": {"kind": "lm", "learning_rate": 0.5, "damping": 0.1},
    },
    "train": {"steps": 12, "eval_every": 4, "precision": "float64"},
    "metrics": [{"kind": "mode_error", "modes": 2}],
    "sweep": {"seeds": [0]},
    "observables": {"left": {"kind": "final", "metric": "mode_error"}},
    "claims": [
        {
            "id": "lm_below_gd",
            "kind": "compare",
            "left": {"observable": "left", "where": {"optimizer": "lm"}},
            "right": {"observable": "left", "where": {"optimizer": "gd"}},
            "op": "<",
        }
    ],
}


def test_suite_runs_a_spec_and_compares(tmp_path, capsys):
    suite = load("suite")
    spec = tmp_path / "tiny_suite.yaml"
    spec.write_text(yaml.safe_dump(TINY))
    measured = tmp_path / "suite.json"
    runs = tmp_path / "runs"
    assert suite.main(["--specs", str(spec), "--out", str(runs), "--json", str(measured)]) == 0
    result = json.loads(measured.read_text())
    (row,) = result["specs"]
    assert row["spec"] == "tiny_suite" and row["exit_code"] == 0 and row["cells"] == 2
    assert row["wall_s"] > 0 and row["cpu_s"] > 0 and row["cell_seconds"] > 0
    assert 0 <= row["compile_seconds"] <= row["cell_seconds"]  # from the manifest's cells
    assert sum(row["verdicts"].values()) == 1

    baseline = {**result, "specs": [{**row, "wall_s": row["wall_s"] * 2, "verdicts": {}}]}
    (tmp_path / "baseline.json").write_text(json.dumps(baseline))
    compared = tmp_path / "compared.json"
    args = ["--from", str(measured), "--compare", str(tmp_path / "baseline.json")]
    assert suite.main([*args, "--json", str(compared)]) == 0
    ratios = json.loads(compared.read_text())["comparison"]["tiny_suite"]
    assert abs(ratios["wall_s"] - 0.5) < 1e-12 and ratios["cell_seconds"] == 1.0
    (verdict,) = row["verdicts"]
    assert ratios["verdict_changes"] == {verdict: [0, 1]}
    assert "tiny_suite" in capsys.readouterr().out
