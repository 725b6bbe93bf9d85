"""The ``threshold`` claim kind on synthetic cells (see helpers.py)."""

from __future__ import annotations

import numpy as np
import pytest

from runner.kinds.claims import judge
from tests.runner.kinds.claims.helpers import (
    CELLS,
    GN,
    curves,
    grokking_cell,
    grokking_judge,
    make_spec,
    one,
    run_cells,
    threshold,
)


def test_threshold_all_pass_and_fail():
    ok = one(threshold("final_rel", {"optimizer": "gn"}, "<", 1e-6), CELLS)
    assert ok.verdict == "PASS" and ok.holds and ok.margin > 0
    bad = one(threshold("final_rel", {"optimizer": "gd"}, "<", 1e-3), CELLS)
    assert bad.verdict == "FAIL" and bad.margin < 0
    assert "2 of 5 modes < 0.001; not: mode 2 (0.0176), 3" in bad.observed_sentence
    # one row per seed and group, then one aggregate row per group
    assert len(bad.evidence) == 3 * 5 + 5
    assert [row.passed for row in bad.evidence[-5:]] == [True, True, False, False, False]
    assert bad.figure["groups"]["band"] == [None, 1e-3]
    assert bad.figure["series"]["metric"] == "fft_error" and bad.figure["series"]["log_y"]


def test_threshold_any_and_reductions():
    base = {"kind": "threshold", "observable": "final_rel", "where": {"optimizer": "gd"}}
    assert one({**base, "op": ">", "value": 0.3, "reduce": "any"}, CELLS).verdict == "PASS"
    # max over modes of exp(-0.0005 * 2000 * (1 + 0.01 s)) ~ 0.37
    assert one({**base, "op": ">", "value": 0.3, "reduce": "max"}, CELLS).verdict == "PASS"
    result = one({**base, "op": ">", "value": 0.5, "reduce": "max"}, CELLS)
    assert result.verdict == "FAIL"
    assert result.observed["value"] == pytest.approx(np.exp(-0.0005 * 2000 * 1.01))
    assert result.margin == pytest.approx((result.observed["value"] - 0.5) / 0.5)
    assert "at mode 4" in result.observed_sentence


def test_threshold_scalar_reports_bootstrap_ci():
    result = one(threshold("final_loss", {"optimizer": "gn"}, "<", 1e-9), CELLS)
    assert result.verdict == "PASS"
    ci = result.observed["groups"][""]["ci95"]
    assert ci[0] <= result.observed["groups"][""]["value"] <= ci[1]
    assert "95% CI" in result.observed_sentence
    single = one(threshold("final_loss", {"optimizer": "gn", "seed": 0}, "<", 1e-9), CELLS)
    assert single.observed["groups"][""]["ci95"] is None


# --- the word for a group comes from the metric's kind, not its recorded name -----------------


def test_threshold_on_a_scalar_metric_says_nothing_of_groups():
    """A final accuracy has no groups: the sentence must not say "in every group"."""
    cells = [grokking_cell("lm", a, 10, 60, seed=s) for a in (1, 2, 4) for s in (0, 1)]
    claim = threshold("final_accuracy", {"optimizer": "lm", "model.alpha": 1}, ">", 0.9)
    result = grokking_judge(
        claim, cells, {"final_accuracy": {"kind": "final", "metric": "accuracy"}}
    )
    assert result.verdict == "PASS"
    assert result.expected_sentence == (
        "In cells with optimizer=lm, model.alpha=1, the final accuracy (final_accuracy) is > 0.9 "
        "(median over seeds)."
    )
    assert result.observed_sentence == "Observed 1 (median over 2 seeds), > 0.9."


def test_a_mode_metric_under_another_name_keeps_the_word_mode():
    """``metrics: [{kind: fft_error, name: fft}]``: its groups are still modes, in both sentences
    and in the evidence."""
    cells = []
    for cell in run_cells():
        cell.metrics = {("fft" if k == "fft_error" else k): v for k, v in cell.metrics.items()}
        cell.groups = {("fft" if k == "fft_error" else k): v for k, v in cell.groups.items()}
        cells.append(cell)
    spec = make_spec(
        [{"id": "c", **threshold("final_rel", {"optimizer": "gd"}, "<", 1e-3)}],
        observables={"final_rel": {"kind": "final", "metric": "fft", "relative_to_initial": True}},
        metrics=[{"kind": "fft_error", "name": "fft", "modes": 5}],
    )
    (result,) = judge(spec, cells)
    assert result.expected_sentence == (
        "In cells with optimizer=gd, the final fft / its step-0 value (final_rel) is < 0.001 in "
        "every mode (median over seeds)."
    )
    assert "2 of 5 modes < 0.001; not: mode 2 (0.0176), 3" in result.observed_sentence
    assert result.evidence[0].label == "s0 mode 0"
    assert result.evidence[-1].label == "median over 3 seeds mode 4"


# --- margins in one unit, with their noise ------------------------------------------------------


def _flat_loss(values: list[float]) -> list:
    """One cell per seed whose loss ends at ``values[seed]`` (the scalar observable final_loss)."""
    cells = []
    for seed, v in enumerate(values):
        cell = curves("gn", seed, GN)
        cell.records = {"loss": np.full(2000, v)}
        cells.append(cell)
    return cells


def test_a_pass_inside_its_seed_interval_is_fragile():
    """The user's report: 'Observed 1 (median over 3 seeds, 95% CI [0.985, 1.01]), > 1' passed
    like any other pass. The margin is relative to the bound and the noise half the interval."""
    result = one(
        threshold("final_loss", {"optimizer": "gn"}, ">", 1.0), _flat_loss([0.99, 1.0005, 1.01])
    )
    assert result.verdict == "PASS" and result.holds
    assert result.observed_sentence == (
        "Observed 1.0005 (median over 3 seeds, 95% CI [0.99, 1.01]), > 1."
    )
    assert result.margin == pytest.approx(0.0005)
    assert result.noise == pytest.approx(0.01)
    assert result.fragile and result.fragile_reason == "margin 0.0005 inside noise 0.01"
    clear = one(threshold("final_loss", {"optimizer": "gn"}, ">", 1.0), _flat_loss([2.0, 2.1, 2.2]))
    assert clear.margin == pytest.approx(1.1) and clear.noise == pytest.approx(0.1)
    assert not clear.fragile and clear.fragile_reason is None
    below = one(threshold("final_loss", {"optimizer": "gn"}, "<", 4.0), _flat_loss([2.0, 2.1, 2.2]))
    assert below.margin == pytest.approx((4.0 - 2.1) / 4.0)  # below a bound: (b - x) / |b|


def test_one_seed_has_unknown_noise_and_two_seeds_half_their_range():
    single = one(threshold("final_loss", {"optimizer": "gn"}, ">", 1.0), _flat_loss([1.5]))
    assert single.noise is None and not single.fragile
    assert single.observed["noise_unknown"] == "1 seed"
    pair = one(threshold("final_loss", {"optimizer": "gn"}, ">", 1.0), _flat_loss([1.5, 1.9]))
    assert pair.margin == pytest.approx(0.7) and pair.noise == pytest.approx(0.2)


def test_a_bound_of_zero_measures_the_margin_in_the_value():
    result = one(threshold("final_loss", {"optimizer": "gn"}, ">", 0.0), _flat_loss([0.5, 0.5]))
    assert result.margin == pytest.approx(1.0) and result.noise == pytest.approx(0.0)


def test_a_reduction_over_groups_has_a_relative_margin_and_noise():
    base = {"kind": "threshold", "observable": "final_rel", "where": {"optimizer": "gd"}}
    result = one({**base, "op": ">", "value": 0.3, "reduce": "max"}, CELLS)
    per_seed = list(result.observed["per_seed"].values())
    assert result.margin == pytest.approx((result.observed["value"] - 0.3) / 0.3)
    half = (result.observed["ci95"][1] - result.observed["ci95"][0]) / 2
    assert result.noise == pytest.approx(half / 0.3) and len(per_seed) == 3


def test_threshold_for_each_value_of_a_sweep_key():
    """``for_each``: the bound at every alpha (one cell per seed each); all values must hold,
    the margin is the worst value's, and one failing value fails the claim."""
    cells = [
        grokking_cell("lm", a, 10, t, seed=s)
        for a, t in ((1, 60), (2, 80), (4, 500))
        for s in (0, 1)
    ]
    observables = {"t_test": {"kind": "crossing", "metric": "accuracy", "above": 0.9}}
    base = {"kind": "threshold", "observable": "t_test", "where": {"optimizer": "lm"}}
    holds = grokking_judge(
        {**base, "op": "<", "value": 1000, "for_each": "model.alpha"}, cells, observables
    )
    assert holds.verdict == "PASS"
    assert holds.observed["points"] == [1.0, 2.0, 4.0]
    assert "at every value of model.alpha" in holds.expected_sentence
    assert "Holds at 3 of 3 values of model.alpha" in holds.observed_sentence
    assert holds.margin == pytest.approx((1000 - 500) / 1000)
    assert {row.label.split(":")[0] for row in holds.evidence} == {
        "model.alpha=1",
        "model.alpha=2",
        "model.alpha=4",
    }
    fails = grokking_judge(
        {**base, "op": "<", "value": 100, "for_each": "model.alpha"}, cells, observables
    )
    assert fails.verdict == "FAIL" and "Holds at 2 of 3" in fails.observed_sentence
    assert fails.margin == pytest.approx((100 - 500) / 100)
    # without for_each the selection has three cells per seed: the claim asks for where
    ambiguous = grokking_judge({**base, "op": "<", "value": 1000}, cells, observables)
    assert ambiguous.verdict == "ERROR" and "model.alpha" in ambiguous.reason


def test_threshold_for_each_must_be_a_sweep_key():
    claim = {"kind": "threshold", "observable": "final_rel", "where": {"optimizer": "gd"}}
    with pytest.raises(ValueError, match="for_each 'model.width' is not a sweep key"):
        make_spec([{"id": "c", **claim, "op": "<", "value": 1, "for_each": "model.width"}])
