"""The ``uniform_across`` claim kind on synthetic cells (see helpers.py)."""

from __future__ import annotations

import pytest

from tests.runner.kinds.claims.helpers import CELLS, curves, one


def test_expected_sentence_names_the_observable_and_scope():
    result = one(
        {
            "kind": "uniform_across",
            "observable": "rates",
            "where": {"optimizer": "gn"},
            "groups": ["1", "2", "3", "4"],
            "max": 2,
        },
        CELLS,
    )
    assert result.expected_sentence == (
        "In cells with optimizer=gn, the max/min ratio of the decay rate of fft_error on steps "
        "100..1000 (rates) across modes 1..4 is at most 2 (median over seeds)."
    )


def test_uniform_across_ratio_and_cv():
    gn = {"kind": "uniform_across", "observable": "rates", "where": {"optimizer": "gn"}}
    ok = one({**gn, "max": 2}, CELLS)
    assert ok.verdict == "PASS"
    assert ok.observed["value"] == pytest.approx(0.0102 / 0.0098)
    assert ok.margin == pytest.approx((2 - 0.0102 / 0.0098) / 2)
    assert "smallest: mode 3" in ok.observed_sentence
    gd = {**gn, "where": {"optimizer": "gd"}}
    assert one({**gd, "max": 2}, CELLS).verdict == "FAIL"
    assert one({**gd, "min": 5}, CELLS).verdict == "PASS"  # spectral bias: ratio 20
    assert one({**gn, "statistic": "cv", "max": 0.05}, CELLS).verdict == "PASS"
    assert one({**gd, "statistic": "cv", "max": 0.05}, CELLS).verdict == "FAIL"


def test_uniform_across_with_a_non_decaying_group():
    """A mode that grows while the others decay makes the max/min spread unbounded: a uniformity
    bound fails, a non-uniformity bound passes; with no positive value at all it is undefined."""
    cells = [curves("gn", 0, [0.01, 0.01, -0.001, 0.01, 0.01])]  # mode 2 grows
    claim = {"kind": "uniform_across", "observable": "rates", "where": {"optimizer": "gn"}}
    uniform = one({**claim, "max": 2}, cells)
    assert uniform.verdict == "FAIL"
    assert uniform.observed["value"] == float("inf")
    assert one({**claim, "min": 5}, cells).verdict == "PASS"
    stalled = [curves("gn", 0, [-0.01, -0.001, -0.002, -0.01, -0.01])]
    undefined = one({**claim, "max": 2}, stalled)
    assert undefined.verdict == "INCONCLUSIVE"
    assert "no positive value" in undefined.reason


def test_an_unbounded_ratio_names_the_groups_at_or_below_zero():
    """The user's report: a uniform_across passed on 'max/min ratio inf' because one mode had a
    negative fitted rate, with no word about it."""
    cells = [curves("gn", 0, [0.01, 0.01, -0.001, 0.01, 0.01])]
    claim = {"kind": "uniform_across", "observable": "rates", "where": {"optimizer": "gn"}}
    spread = one({**claim, "min": 5}, cells)
    assert spread.verdict == "PASS" and spread.margin == float("inf")
    assert spread.observed_sentence.startswith(
        "Observed max/min ratio inf (median over 1 seed): unbounded, because mode 2 is <= 0 "
        "while other modes are positive; smallest: mode 2 (-0.001)"
    )
    two = [curves("gn", 0, [0.01, -0.002, -0.001, 0.01, 0.01])]
    assert "because modes 1, 2 are <= 0" in one({**claim, "min": 5}, two).observed_sentence
    # one seed of three unbounded: the median is finite, the sentence still says where
    mixed = [curves("gn", 0, [0.01, 0.01, -0.001, 0.01, 0.01])]
    mixed += [curves("gn", s, [0.01, 0.01, 0.005, 0.01, 0.01]) for s in (1, 2)]
    result = one({**claim, "max": 3}, mixed)
    assert result.observed["value"] == pytest.approx(2.0)
    assert "; unbounded in seed 0, because mode 2 is <= 0" in result.observed_sentence
    assert result.noise == float("inf") and result.fragile  # a seed alone would flip it
    # different groups <= 0 in different seeds: each named with its seed, not pooled
    apart = [curves("gn", 0, [0.01, 0.01, -0.001, 0.01, 0.01])]
    apart += [curves("gn", 1, [-0.001, 0.01, 0.01, 0.01, 0.01])]
    sentence = one({**claim, "min": 5}, apart).observed_sentence
    assert "because mode 2 in seed 0 and mode 0 in seed 1 are <= 0" in sentence


def test_uniform_across_margin_is_relative_to_the_nearer_bound():
    gd = {"kind": "uniform_across", "observable": "rates", "where": {"optimizer": "gd"}}
    both = one({**gd, "min": 5, "max": 30}, CELLS)  # ratio 20: nearer max (10/30) than min (3)
    assert both.verdict == "PASS"
    assert both.margin == pytest.approx((30 - both.observed["value"]) / 30)
