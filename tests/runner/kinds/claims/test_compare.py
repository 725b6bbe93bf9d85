"""The ``compare`` claim kind on synthetic cells (see helpers.py)."""

from __future__ import annotations

import pytest

from runner.text import number
from tests.runner.kinds.claims.helpers import (
    CELLS,
    curves,
    grokking_cell,
    grokking_judge,
    make_spec,
    one,
)

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


# --- exact words, margins in one unit, and ratios against nothing --------------------------------

GD_VS_GN = {
    "kind": "compare",
    "left": {"observable": "final_err", "where": {"optimizer": "gd"}},
    "right": {"observable": "final_err", "where": {"optimizer": "gn"}},
    "op": ">",
}


def test_per_group_sentence_shows_the_right_value_and_the_factor_apart():
    """The user's report: 'mode 10 (1.48 vs 41.5)' printed factor x right as if it were right."""
    result = one({**GD_VS_GN, "factor": 100}, CELLS)
    s = result.observed["groups"]["0"]
    assert "with left > 100 x right (needed 5)" in result.observed_sentence
    assert (
        f"not: mode 0 (left {number(s['left'])} vs 100 x right {number(s['right'])} = "
        f"{number(100 * s['right'])})" in result.observed_sentence
    )
    plain = one({**GD_VS_GN, "groups": ["1"]}, CELLS)  # factor 1: no "1 x"
    s = plain.observed["groups"]["1"]
    assert "with left > right (needed 1)" in plain.observed_sentence
    assert f"closest: mode 1 (left {number(s['left'])} vs right {number(s['right'])})" in (
        plain.observed_sentence
    )


def _delays(sgd: dict, lm: dict) -> list:
    """One seed per (optimizer, alpha): train accuracy at step 100 (10 for LM), test accuracy
    ``delay`` steps later."""
    cells = [grokking_cell("sgd", a, 100, 100 + d) for a, d in sgd.items()]
    return cells + [grokking_cell("lm", a, 10, 10 + d) for a, d in lm.items()]


def test_scalar_sentence_and_relative_margin():
    cells = _delays({1: 100, 4: 700}, {})
    claim = {
        "kind": "compare",
        "left": {"observable": "delay", "where": {"optimizer": "sgd", "model.alpha": 4}},
        "right": {"observable": "delay", "where": {"optimizer": "sgd", "model.alpha": 1}},
        "op": ">",
        "factor": 3,
    }
    result = grokking_judge(claim, cells)
    assert result.verdict == "PASS"
    assert result.observed_sentence == (
        "Observed left 700 > 3 x right 100 = 300 (median over 1 and 1 seed)."
    )
    assert result.margin == pytest.approx((700 - 300) / 300)
    assert result.noise is None and result.observed["noise_unknown"] == "1 seed"


def test_a_factor_against_a_non_positive_right_side_is_inconclusive():
    """The user's report: 'left 4600 > 3 x right 0 = 0' passed; a ratio against a zero delay
    says nothing."""
    cells = _delays({2: 0, 4: 460}, {2: -10, 4: 50})
    claim = {
        "kind": "compare",
        "left": {"observable": "delay", "where": {"optimizer": "sgd", "model.alpha": 4}},
        "right": {"observable": "delay", "where": {"optimizer": "sgd", "model.alpha": 2}},
        "op": ">",
        "factor": 3,
    }
    result = grokking_judge(claim, cells)
    assert result.verdict == "INCONCLUSIVE" and not result.holds
    assert result.reason == (
        "the right-hand value is not positive (delay in optimizer=sgd, model.alpha=2: 0), so "
        "left > 3 x right is not a ratio"
    )
    assert result.margin is None and not result.fragile
    negative = grokking_judge(
        {**claim, "right": {"observable": "delay", "where": {"optimizer": "lm", "model.alpha": 2}}},
        cells,
    )
    assert negative.verdict == "INCONCLUSIVE" and "optimizer=lm, model.alpha=2: -10" in (
        negative.reason
    )
    # factor 1 is a plain comparison: judged as before
    plain = grokking_judge({**claim, "factor": 1}, cells)
    assert plain.verdict == "PASS"
    assert plain.observed_sentence == "Observed left 460 > right 0 (median over 1 and 1 seed)."
    # at one for_each value of several: the whole claim is inconclusive
    each = {
        "kind": "compare",
        "left": {"observable": "delay", "where": {"optimizer": "lm"}},
        "right": {"observable": "delay", "where": {"optimizer": "sgd"}},
        "op": "<",
        "factor": 2,
        "for_each": "model.alpha",
    }
    assert grokking_judge(each, cells).verdict == "INCONCLUSIVE"


def test_a_factor_against_a_non_positive_mode_names_it():
    cells = [curves(o, 0, rates) for o, rates in (("gd", [0.01] * 5), ("gn", [0.02] * 5))]
    cells[1].metrics["lemma_rate"][:, 3] = 0.0  # GN's mode 3 "rate" is 0
    claim = {
        "kind": "compare",
        "left": {"observable": "lemma", "where": {"optimizer": "gd"}},
        "right": {"observable": "lemma", "where": {"optimizer": "gn"}},
        "op": "<",
        "factor": 2,
    }
    result = one(claim, cells)
    assert result.verdict == "INCONCLUSIVE"
    assert result.reason == (
        "the right-hand value is not positive (lemma in optimizer=gn: mode 3 = 0), so left < 2 x "
        "right is not a ratio"
    )


def test_compare_noise_adds_both_sides_spreads():
    result = one({**GD_VS_GN, "groups": ["4"], "factor": 100}, CELLS)
    s = result.observed["groups"]["4"]
    half = lambda ci: (ci[1] - ci[0]) / 2  # noqa: E731
    expected = (half(s["left_ci95"]) + 100 * half(s["right_ci95"])) / (100 * s["right"])
    assert result.margin == pytest.approx((s["left"] - 100 * s["right"]) / (100 * s["right"]))
    assert result.noise == pytest.approx(expected)
