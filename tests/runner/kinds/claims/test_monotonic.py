"""The ``monotonic`` claim kind on synthetic cells (see helpers.py)."""

from __future__ import annotations

from tests.runner.kinds.claims.helpers import alpha_cells, one


def test_monotonic_along_a_sweep_axis():
    cells = alpha_cells(lambda a: 0.004 / a)  # slower decay at larger alpha: final error grows
    base = {"kind": "monotonic", "observable": "final_err", "axis": "model.alpha"}
    up = one({**base, "direction": "increasing"}, cells)
    assert up.verdict == "PASS" and up.margin > 0
    assert up.observed["points"] == [1.0, 2.0, 4.0]
    # one panel holding every axis value (each gets its own colour in the report)
    assert [s["label"] for s in up.figure["series"]["selections"]] == ["all cells, by model.alpha"]
    assert one({**base, "direction": "decreasing"}, cells).verdict == "FAIL"
    per_mode = one({**base, "direction": "increasing", "group_reduce": "all"}, cells)
    assert per_mode.verdict == "PASS"
    flat = alpha_cells(lambda a: 0.004)
    assert one({**base, "direction": "increasing"}, flat).verdict == "PASS"
    strict = one({**base, "direction": "increasing", "strict": True}, flat)
    assert strict.verdict == "FAIL"
