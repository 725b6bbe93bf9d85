"""The ``rate`` claim kind on synthetic cells (see helpers.py)."""

from __future__ import annotations

import pytest

from tests.runner.kinds.claims.helpers import CELLS, one


def test_rate_relative_and_band():
    gn = {"kind": "rate", "observable": "rates", "where": {"optimizer": "gn"}}
    ok = one({**gn, "expected_rate": 0.01, "rtol": 0.1}, CELLS)
    assert ok.verdict == "PASS" and 0 < ok.margin < 0.1
    assert ok.figure["groups"]["band"] == pytest.approx([0.009, 0.011])
    assert ok.figure["series"]["window"] == [100, 1000]
    gd = one({**gn, "where": {"optimizer": "gd"}, "expected_rate": 0.01, "rtol": 0.1}, CELLS)
    assert gd.verdict == "FAIL" and "not: mode 1" in gd.observed_sentence
    assert one({**gn, "min": 0.009, "max": 0.0105}, CELLS).verdict == "PASS"
    assert one({**gn, "min": 0.0099}, CELLS).verdict == "FAIL"
