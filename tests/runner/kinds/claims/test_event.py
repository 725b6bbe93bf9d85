"""The ``event`` claim kind on synthetic cells (see helpers.py)."""

from __future__ import annotations

import pytest

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


def test_event_margin_is_relative_to_before():
    base = {"kind": "event", "observable": "loss_1e-3", "where": {"optimizer": "gn"}}
    gn = one({**base, "before": 1000}, CELLS)
    step, ci = gn.observed["groups"][""]["step"], gn.observed["groups"][""]["ci95"]
    assert gn.margin == pytest.approx((1000 - step) / 1000)
    assert gn.noise == pytest.approx((ci[1] - ci[0]) / 2 / 1000)
    # happens: false, before: the earliest crossing decides, and a late one is a positive margin
    late = one({**base, "before": 300, "happens": False}, CELLS)
    earliest = min(row.values["step"] for row in late.evidence if row.cell_id)
    assert late.verdict == "PASS" and late.margin == pytest.approx((earliest - 300) / 300)
    early = one({**base, "before": 400, "happens": False}, CELLS)
    assert early.verdict == "FAIL" and early.margin == pytest.approx((earliest - 400) / 400)
    # without before the event happened or not: no margin
    assert one(base, CELLS).margin is None
