"""The ``matches`` claim kind on synthetic cells (see helpers.py)."""

from __future__ import annotations

import pytest

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


def test_matches_margin_is_relative_to_the_tolerance():
    claim = {
        "kind": "matches",
        "left": {"observable": "rates", "where": {"optimizer": "gd"}},
        "right": {"observable": "rates", "where": {"optimizer": "gn"}},
        "rtol": 0.1,
        "groups": ["0"],
    }
    result = one(claim, CELLS)
    s = result.observed["groups"]["0"]
    tol = 0.1 * abs(s["right"])
    assert result.margin == pytest.approx((tol - abs(s["left"] - s["right"])) / tol)
    assert result.noise is not None and result.noise >= 0
    assert "worst mode 0: left" in result.observed_sentence
