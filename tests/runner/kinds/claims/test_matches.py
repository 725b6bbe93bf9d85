"""The ``matches`` claim kind on synthetic cells (see helpers.py)."""

from __future__ import annotations

from tests.runner.kinds.claims.helpers import CELLS, one


def test_matches_two_observables_on_the_same_cells():
    claim = {
        "kind": "matches",
        "left": {"observable": "rates", "where": {"optimizer": "gd"}},
        "right": {"observable": "lemma", "where": {"optimizer": "gd"}},
        "rtol": 1e-6,
    }
    result = one(claim, CELLS)
    assert result.verdict == "PASS" and result.margin >= 0
    assert result.evidence[0].cell_id == "gd_s0 vs gd_s0"


def test_matches_one_observable_in_two_selections():
    claim = {
        "kind": "matches",
        "left": {"observable": "rates", "where": {"optimizer": "gd"}},
        "right": {"observable": "rates", "where": {"optimizer": "gn"}},
        "rtol": 0.1,
    }
    result = one(claim, CELLS)
    assert result.verdict == "FAIL" and "1 of 5 modes match" in result.observed_sentence
    assert one({**claim, "groups": ["0"]}, CELLS).verdict == "PASS"
