"""The same cell parameters give bit-identical metrics on CPU (seeded data, init and batches)."""

from __future__ import annotations

import numpy as np
import pytest

from runner import store
from runner.cell import run_cell
from runner.load import load_spec
from runner.plan import plan

from .test_cli_e2e import ROOT


@pytest.mark.parametrize("spec_name", ["modular_mlp", "polynomial_regression"])
def test_a_cell_run_twice_gives_identical_metrics(spec_name):
    loaded = load_spec(ROOT / "specs" / f"{spec_name}.yaml", profile="smoke")
    cells = plan(loaded.spec, loaded.resolved)
    lm = next(c for c in cells if c.optimizer == "lm")
    first, second = run_cell(lm.params), run_cell(lm.params)
    assert first.metrics.keys() == second.metrics.keys()
    for name in first.metrics:
        np.testing.assert_array_equal(first.metrics[name], second.metrics[name], err_msg=name)
    np.testing.assert_array_equal(first.records["loss"], second.records["loss"])


def test_cli_check_determinism(tmp_path, capsys, monkeypatch):
    from runner import cli, run

    spec = ROOT / "specs" / "polynomial_regression.yaml"
    args = ["run", str(spec), "--profile", "smoke", "--out", str(tmp_path), "--check-determinism"]
    assert cli.main(args) == cli.EXIT_OK  # a smoke profile: informational verdicts
    assert "determinism: 2 cell(s) re-run, every array identical" in capsys.readouterr().out
    # re-run with the run's engine (the default: local workers, their thread settings)
    (run_dir,) = store.run_dirs(tmp_path)
    assert len(list((run_dir / "determinism" / "cells").glob("*/metrics.npz"))) == 2

    # a difference is reported and exits 3 (a stand-in for a nondeterministic kernel)
    monkeypatch.setattr(
        run, "check_determinism", lambda run_dir, loaded, **engine: {"c": ["eval/mse"]}
    )
    assert cli.main(args) == cli.EXIT_INTERNAL_ERROR
    assert "determinism: c differs in eval/mse" in capsys.readouterr().err
