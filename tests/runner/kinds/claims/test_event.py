"""The ``event`` claim kind on synthetic cells (see helpers.py)."""

from __future__ import annotations

from tests.runner.kinds.claims.helpers import CELLS, one


def test_event_happens_before_a_step():
    base = {"kind": "event", "observable": "loss_1e-3"}
    gn = one({**base, "where": {"optimizer": "gn"}, "before": 1000}, CELLS)
    # mean_g exp(-2 r_g t) < 1e-3 about t = ln(1000) / 0.02 = 345
    assert gn.verdict == "PASS" and 0 < gn.margin < 700
    late = one({**base, "where": {"optimizer": "gn"}, "before": 300}, CELLS)
    assert late.verdict == "FAIL" and late.margin < 0
    gd = one({**base, "where": {"optimizer": "gd"}}, CELLS)
    assert gd.verdict == "FAIL"
    assert "not in seed 0, 1, 2 (never crossed below 0.001 within 2000 steps)" in (
        gd.observed_sentence
    )
    never = one({**base, "where": {"optimizer": "gd"}, "happens": False}, CELLS)
    assert never.verdict == "PASS"
