"""The ``monotonic`` claim kind on synthetic cells (see helpers.py)."""

from __future__ import annotations

import pytest

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


def test_monotonic_margin_is_the_smallest_step_over_the_largest_value():
    cells = alpha_cells(lambda a: 0.01 / a)
    result = one(
        {
            "kind": "monotonic",
            "observable": "rates",
            "axis": "model.alpha",
            "direction": "decreasing",
        },
        cells,
    )
    values = result.observed["groups"][""]["values"]  # about 0.0101, 0.00505, 0.00253
    assert result.margin == pytest.approx((values[1] - values[2]) / values[0])
    assert result.margin == pytest.approx(0.25)
    # the seeds scale every rate by 1 + 0.01 s: each seed's smallest step moves with it
    steps = [0.01 * (1 + 0.01 * s) * (1 / 2 - 1 / 4) for s in (0, 1, 2)]
    assert result.noise == pytest.approx((steps[2] - steps[0]) / 2 / values[0], rel=1e-3)
    flat = one(
        {
            "kind": "monotonic",
            "observable": "rates",
            "axis": "model.alpha",
            "direction": "increasing",
        },
        alpha_cells(lambda a: 0.01),
    )
    assert flat.verdict == "PASS" and flat.margin == pytest.approx(0, abs=1e-12)
    assert flat.fragile  # a flat line passes "not strictly increasing" by nothing
    single = one(  # one seed, and a final value carries no numerical error
        {
            "kind": "monotonic",
            "observable": "final_err",
            "axis": "model.alpha",
            "direction": "increasing",
        },
        alpha_cells(lambda a: 0.004 / a, seeds=(0,)),
    )
    assert single.noise is None and single.observed["noise_unknown"] == "1 seed"
