"""The ``stable`` claim kind on synthetic cells (see helpers.py)."""

from __future__ import annotations

from tests.runner.kinds.claims.helpers import CELLS, GD, LM, curves, one


def test_stable():
    assert one({"kind": "stable"}, CELLS).verdict == "PASS"
    cells = [*CELLS, curves("lm", 7, LM, status="diverged", diverged_at=312)]
    result = one({"kind": "stable", "where": {"optimizer": "lm"}}, cells)
    assert result.verdict == "FAIL" and "lm_s7 diverged at step 312" in result.observed_sentence
    assert one({"kind": "stable", "where": {"optimizer": "gd"}}, cells).verdict == "PASS"
    absent = [*CELLS, curves("gd", 7, GD, status="missing")]
    assert one({"kind": "stable", "where": {"optimizer": "gd"}}, absent).verdict == "INCONCLUSIVE"


def test_stable_has_no_margin_and_no_noise():
    result = one({"kind": "stable"}, CELLS)
    assert (result.margin, result.noise, result.fragile, result.fragile_reason) == (
        None,
        None,
        False,
        None,
    )
    assert "noise_unknown" not in result.observed
