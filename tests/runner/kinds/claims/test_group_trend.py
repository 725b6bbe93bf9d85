"""The ``group_trend`` claim kind on synthetic cells (see helpers.py): GD's rates fall with the
mode index (0.01, 0.005, 0.002, 0.001, 0.0005), GN's sit near 0.01 in no order."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.runner.kinds.claims.helpers import CELLS, make_spec, one

GD_FALLS = {
    "kind": "group_trend",
    "observable": "rates",
    "where": {"optimizer": "gd"},
    "direction": "decreasing",
}
GN = [0.0101, 0.0102, 0.0099, 0.0098, 0.01]


def test_expected_sentence():
    assert one(GD_FALLS, CELLS).expected_sentence == (
        "In cells with optimizer=gd, the decay rate of fft_error on steps 100..1000 (rates) is "
        "decreasing (not strictly) along its modes in order (median over seeds)."
    )
    ordered = one({**GD_FALLS, "order": ["1", "2", "3"], "max_violations": 1}, CELLS)
    assert "along modes 1..3, at most 1 adjacent pair out of order (median" in (
        ordered.expected_sentence
    )


def test_pass_along_the_label_order():
    result = one(GD_FALLS, CELLS)
    assert result.verdict == "PASS"
    assert result.observed_sentence == (
        "Observed (median over 3 seeds): 0 of 4 adjacent pairs out of order (allowed 0); the "
        "smallest step: mode 3 -> 4 (0.00101 -> 0.000505)."
    )
    # the smallest relative step: 0.01 -> 0.005, 0.002 -> 0.001 and 0.001 -> 0.0005 halve (the
    # last by a rounding error the least)
    assert result.margin == pytest.approx(0.5)
    assert result.noise is not None and not result.fragile
    assert result.observed["order"] == ["0", "1", "2", "3", "4"]
    assert [e.passed for e in result.evidence] == [True] * 7  # 3 seeds, 4 pairs


def test_fail_lists_the_pairs_out_of_order():
    result = one({**GD_FALLS, "direction": "increasing"}, CELLS)
    assert result.verdict == "FAIL"
    assert result.observed_sentence.startswith(
        "Observed (median over 3 seeds): 4 of 4 adjacent pairs out of order (allowed 0): mode "
        "0 -> 1 (0.0101 -> 0.00505), 1 -> 2 (0.00505 -> 0.00202)"
    )
    assert result.margin == pytest.approx((0.002 - 0.005) / 0.005)  # the worst pair: -0.6
    reverse = one({**GD_FALLS, "direction": "increasing", "order": list("43210")}, CELLS)
    assert reverse.verdict == "PASS" and reverse.margin == pytest.approx(1.0)


def test_max_violations_and_the_deciding_pair():
    """GN's rates rise, fall, fall, rise: two of four pairs are out of an increasing order."""
    gn = {**GD_FALLS, "where": {"optimizer": "gn"}, "direction": "increasing"}
    steps = sorted((b - a) / a for a, b in zip(GN, GN[1:], strict=False))
    one_allowed = one({**gn, "max_violations": 1}, CELLS)
    assert one_allowed.verdict == "FAIL" and one_allowed.margin == pytest.approx(steps[1])
    two_allowed = one({**gn, "max_violations": 2}, CELLS)
    assert two_allowed.verdict == "PASS" and two_allowed.margin == pytest.approx(steps[2])
    assert two_allowed.observed["violations"] == [["1", "2"], ["2", "3"]]
    seeds = [e for e in two_allowed.evidence if e.label.startswith("s")]
    assert [e.values["out of order"] for e in seeds] == [2, 2, 2] and all(e.passed for e in seeds)
    anything = one({**gn, "max_violations": 4}, CELLS)  # no pair can fail it
    assert anything.verdict == "PASS" and anything.margin is None


def test_inconclusive():
    few = one({**GD_FALLS, "min_seeds": 4}, CELLS)
    assert few.verdict == "INCONCLUSIVE" and "fewer than min_seeds=4" in few.reason
    late = one({**GD_FALLS, "observable": "err_1e-4"}, CELLS)  # modes 3, 4 never get there
    assert late.verdict == "INCONCLUSIVE" and "never crossed" in late.reason
    fails = one({**GD_FALLS, "observable": "err_1e-4", "on_missing": "fail"}, CELLS)
    assert fails.verdict == "FAIL"
    unknown = one({**GD_FALLS, "order": ["0", "9"]}, CELLS)
    assert unknown.verdict == "INCONCLUSIVE" and "group '9' not recorded" in unknown.reason


def test_ill_posed_claims_are_spec_errors():
    claim = {"id": "t", **GD_FALLS}
    with pytest.raises(ValidationError, match="repeats a group"):
        make_spec([{**claim, "order": ["1", "2", "1"]}])
    with pytest.raises(ValidationError, match="2 adjacent pairs and max_violations=2"):
        make_spec([{**claim, "order": ["1", "2", "3"], "max_violations": 2}])
    with pytest.raises(ValidationError):
        make_spec([{**claim, "order": ["1"]}])
    with pytest.raises(ValidationError):
        make_spec([{**claim, "direction": "up"}])
