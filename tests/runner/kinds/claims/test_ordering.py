"""The ``ordering`` claim kind on synthetic cells (see helpers.py)."""

from __future__ import annotations

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
    assert wrong.margin == -4
    allowed = one({**base, "direction": "increasing", "max_violations": 4}, CELLS)
    assert allowed.verdict == "PASS" and allowed.margin == 0
