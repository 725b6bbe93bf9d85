"""The ``seed_spread`` claim kind on synthetic cells (see helpers.py)."""

from __future__ import annotations

import pytest

from tests.runner.kinds.claims.helpers import CELLS, one, run_cells


def test_seed_spread_is_max_minus_min_over_seeds():
    # lemma = the rates scaled by 1 + 0.01 s: over seeds 0-2 the spread of gn's group g is
    # 0.02 GN[g], at most 0.02 x 0.0102 = 2.04e-4 (group 1)
    claim = {"kind": "seed_spread", "observable": "lemma", "where": {"optimizer": "gn"}}
    result = one({**claim, "max": 2.1e-4}, CELLS)
    assert result.verdict == "PASS"
    assert result.observed["value"] == pytest.approx(0.02 * 0.0102)
    assert "mode 1" in result.observed_sentence  # lemma_rate is a per-mode metric
    assert one({**claim, "max": 2.0e-4}, CELLS).verdict == "FAIL"
    single = run_cells(seeds=(0,))
    assert one({**claim, "max": 1.0}, single).verdict == "INCONCLUSIVE"  # one seed: no band


def test_seed_spread_margin_is_relative_and_its_noise_numerical_only():
    claim = {"kind": "seed_spread", "observable": "lemma", "where": {"optimizer": "gn"}}
    result = one({**claim, "max": 4e-4}, CELLS)
    assert result.margin == pytest.approx((4e-4 - 0.02 * 0.0102) / 4e-4)
    assert result.noise is None and not result.fragile
    assert result.observed["noise_unknown"] == "a spread over seeds has no seed noise of its own"
