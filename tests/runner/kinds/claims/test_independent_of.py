"""The ``independent_of`` claim kind on synthetic cells (see helpers.py)."""

from __future__ import annotations

import pytest

from tests.runner.kinds.claims.helpers import alpha_cells, one


def test_independent_of():
    base = {"kind": "independent_of", "observable": "rates", "axis": "model.alpha"}
    ok = one({**base, "max_factor": 1.5}, alpha_cells(lambda a: 0.01 * (1 + 0.01 * a)))
    assert ok.verdict == "PASS" and ok.margin > 0
    bad = one({**base, "max_factor": 1.5}, alpha_cells(lambda a: 0.01 / a))
    assert bad.verdict == "FAIL" and "factor 4" in bad.observed_sentence
    # the relative margin: (max_factor - factor) / max_factor
    assert bad.margin == pytest.approx((1.5 - 4) / 1.5, rel=1e-6)
    # seeds scale every rate alike: the ratio does not move between seeds
    assert bad.noise == pytest.approx(0, abs=1e-9) and not bad.fragile


def test_axis_with_one_value_is_inconclusive():
    cells = alpha_cells(lambda a: 0.01, alphas=(1,))
    result = one(
        {"kind": "independent_of", "observable": "rates", "axis": "model.alpha", "max_factor": 2},
        cells,
    )
    assert result.verdict == "INCONCLUSIVE" and "one value" in result.reason
