"""The ``ordering`` claim kind on synthetic cells (see helpers.py)."""

from __future__ import annotations

import pytest

from tests.runner.kinds.claims.helpers import CELLS, one


def test_ordering():
    base = {
        "kind": "ordering",
        "observable": "final_err",
        "sequence": [{"optimizer": "gd"}, {"optimizer": "lm"}, {"optimizer": "gn"}],
        "groups": ["1", "2", "3", "4"],
    }
    assert one({**base, "direction": "decreasing"}, CELLS).verdict == "PASS"
    wrong = one({**base, "direction": "increasing"}, CELLS)
    assert wrong.verdict == "FAIL" and wrong.observed["violations"] == ["1", "2", "3", "4"]
    # a group's margin: its smallest step in the claimed direction over its largest |value|;
    # mode 4 falls from 0.364 (gd) to 0.0176 (lm) where it should rise
    groups = wrong.observed["groups"]
    mode4 = [groups["4"][label] for label in ("optimizer=gd", "optimizer=lm", "optimizer=gn")]
    assert groups["4"]["margin"] == pytest.approx((mode4[1] - mode4[0]) / mode4[0])
    assert wrong.margin == min(g["margin"] for g in groups.values())  # the worst group decides
    assert wrong.noise > 0 and not wrong.fragile
    one_allowed = one({**base, "direction": "increasing", "max_violations": 1}, CELLS)
    ranked = sorted(g["margin"] for g in one_allowed.observed["groups"].values())
    assert one_allowed.margin == ranked[1]  # the second worst group decides
    allowed = one({**base, "direction": "increasing", "max_violations": 4}, CELLS)
    assert allowed.verdict == "PASS" and allowed.margin is None  # no group can fail it
