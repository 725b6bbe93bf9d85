"""The ``compare`` claim kind on synthetic cells (see helpers.py)."""

from __future__ import annotations

import pytest

from tests.runner.kinds.claims.helpers import CELLS, curves, make_spec, one

# LM's final error against GD's, the comparison the for_each tests repeat per sweep value.
LM_VS_GD = {
    "kind": "compare",
    "left": {"observable": "final_err", "where": {"optimizer": "lm"}},
    "right": {"observable": "final_err", "where": {"optimizer": "gd"}},
}


def test_compare_all_any_and_fraction():
    base = {
        "kind": "compare",
        "left": {"observable": "final_err", "where": {"optimizer": "gd"}},
        "right": {"observable": "final_err", "where": {"optimizer": "gn"}},
        "op": ">",
        "factor": 100,
    }
    # mode 0 decays as fast under gd as under gn: 4 of 5 modes hold
    every = one(base, CELLS)
    assert every.verdict == "FAIL" and "4 of 5 modes" in every.observed_sentence
    assert every.margin < 0
    assert one({**base, "reduce": 0.8}, CELLS).verdict == "PASS"
    assert one({**base, "reduce": 0.9}, CELLS).verdict == "FAIL"
    anyone = one({**base, "reduce": "any"}, CELLS)
    assert anyone.verdict == "PASS" and anyone.margin > 0
    gn_faster = one({**base, "groups": ["1", "2", "3", "4"]}, CELLS)
    assert gn_faster.verdict == "PASS"
    assert set(gn_faster.figure["groups"]["values"]) == {
        "left: optimizer=gd",
        "100 x right: optimizer=gn",
    }


def test_compare_for_each_value_of_a_sweep_key():
    """``for_each``: the comparison at every alpha; all values must hold."""
    cells = [
        curves(opt, s, [rate(a)] * 5, point={"model.alpha": float(a)})
        for opt, rate in (("gd", lambda a: 0.004 / a), ("lm", lambda a: 0.004))
        for a in (1, 2, 4)
        for s in (0, 1)
    ]
    base = {**LM_VS_GD, "for_each": "model.alpha"}
    holds = one({**base, "op": "<="}, cells)
    assert holds.verdict == "PASS"
    assert holds.observed["points"] == [1.0, 2.0, 4.0]
    assert set(holds.observed["at"]) == {"1", "2", "4"}
    assert "at every value of model.alpha" in holds.expected_sentence
    assert "Holds at 3 of 3 values" in holds.observed_sentence
    strict = one({**base, "op": "<"}, cells)  # equal at alpha = 1
    assert strict.verdict == "FAIL"
    assert "Holds at 2 of 3" in strict.observed_sentence
    # without for_each the two sides select 6 cells per seed: the claim asks for where
    ambiguous = one({**LM_VS_GD, "op": "<="}, cells)
    assert ambiguous.verdict == "ERROR" and "model.alpha" in ambiguous.reason


def test_compare_for_each_must_be_a_sweep_key():
    with pytest.raises(ValueError, match="for_each 'model.width' is not a sweep key"):
        make_spec([{"id": "c", **LM_VS_GD, "op": "<", "for_each": "model.width"}])
