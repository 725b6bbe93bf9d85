"""The same cell parameters give bit-identical metrics on CPU (seeded data, init and batches)."""

from __future__ import annotations

import numpy as np
import pytest

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
