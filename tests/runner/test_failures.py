"""Failing cells through the CLI: a diverging cell stops early and is recorded with its step and
last finite metrics while the other cells go on; a cell that raises is recorded with its error
text and the run exits 3; every claim is still judged."""

from __future__ import annotations

import json

import yaml

from runner import cli, store

from .test_crash import SPEC as CRASH_SPEC
from .test_crash import below_gd

SPEC = {
    **CRASH_SPEC,
    "name": "failures",
    "optimizers": {
        "gd": {"kind": "gd", "learning_rate": 100.0},  # lr * lambda_max >> 2: diverges
        "gn": {"kind": "gn", "learning_rate": 0.5, "eps": 1e-6},
    },
    "train": {"steps": 400, "eval_every": 10, "precision": "float64"},
    "sweep": {"seeds": [0]},
    "metrics": [{"kind": "mode_error", "modes": 3}],
    "claims": [
        below_gd("gn"),
        {
            "id": "gn_clears",
            "kind": "threshold",
            "observable": "left",
            "where": {"optimizer": "gn"},
            "op": "<",
            "value": 0.5,
        },
        {"id": "stable", "kind": "stable"},
    ],
}


def _run(tmp_path, capsys, *extra: str):
    spec = tmp_path / "failures.yaml"
    spec.write_text(yaml.safe_dump(SPEC), encoding="utf-8")
    out = tmp_path / "out"
    code = cli.main(["run", str(spec), "--out", str(out), *extra])
    captured = capsys.readouterr()
    (run_dir,) = store.run_dirs(out)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    claims = {c["id"]: c for c in json.loads((run_dir / "claims.json").read_text())["claims"]}
    return code, captured, run_dir, manifest, claims


def test_a_diverging_cell_stops_early_and_the_rest_is_judged(tmp_path, capsys):
    code, captured, run_dir, manifest, claims = _run(tmp_path, capsys)
    cells = {c["optimizer"]: c for c in manifest["cells"]}
    gd, gn = cells["gd"], cells["gn"]
    assert gd["status"] == "diverged" and 0 < gd["diverged_at"] < 400
    assert gd["steps_done"] < 400  # stopped at the end of the chunk in which it diverged
    assert gn["status"] == "finished" and gn["steps_done"] == 400
    # the comparison needs gd's final value: INCONCLUSIVE with the reason, not a crash
    assert claims["gn_below_gd"]["verdict"] == "INCONCLUSIVE"
    assert "diverged" in claims["gn_below_gd"]["reason"]
    assert claims["gn_clears"]["verdict"] == "PASS"
    assert claims["stable"]["verdict"] == "FAIL"
    assert code == cli.EXIT_CLAIM_FAILED and "Traceback" not in captured.err


def test_a_raising_cell_is_recorded_and_the_run_exits_3(tmp_path, capsys, monkeypatch):
    from runner import cell as cell_module

    real = cell_module.run_cell

    def flaky(params, on_chunk=None, **options):
        if params["optimizer"]["name"] == "gd":
            raise FloatingPointError("boom in the gd cell")
        return real(params, on_chunk=on_chunk, **options)

    monkeypatch.setattr(cell_module, "run_cell", flaky)
    # inline: the stand-in lives in this process (the default engine's workers import their own)
    code, captured, run_dir, manifest, claims = _run(tmp_path, capsys, "--engine", "inline")
    assert code == cli.EXIT_INTERNAL_ERROR
    cells = {c["optimizer"]: c for c in manifest["cells"]}
    assert cells["gd"]["status"] == "error" and cells["gn"]["status"] == "finished"
    error = (run_dir / "cells" / cells["gd"]["cell_id"] / "error.txt").read_text()
    assert "FloatingPointError: boom in the gd cell" in error
    assert claims["gn_clears"]["verdict"] == "PASS"  # everything else is judged
    assert claims["gn_below_gd"]["verdict"] == "INCONCLUSIVE"
