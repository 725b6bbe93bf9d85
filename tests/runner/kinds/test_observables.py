"""Observables on synthetic cells whose answers are known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import TypeAdapter

from runner.kinds.observables import ALL_GROUPS, Observed, observe
from runner.results import CellResult
from runner.spec import Observable

STEPS = np.arange(0, 2001, 50)
RATES = np.array([0.01, 0.005, 0.002])
LABELS = ["0", "1", "2"]


def cell(status="finished", rates=RATES, diverged_at=None, values=None, **kwargs) -> CellResult:
    """``fft_error`` = ``2 exp(-rate_g t)`` per group, ``loss`` = ``exp(-0.01 t)`` per step."""
    if values is None:
        values = 2.0 * np.exp(-np.outer(STEPS, rates))
    loss = np.exp(-0.01 * np.arange(2001))
    if diverged_at is not None:
        values = np.where(STEPS[:, None] >= diverged_at, np.nan, values)
        loss = np.where(np.arange(2001) >= diverged_at, np.nan, loss)
    return CellResult(
        cell_id="c0",
        optimizer="gd",
        seed=0,
        point={},
        status=status,
        eval_steps=STEPS,
        metrics={"fft_error": values, "mse": values.mean(axis=1)},
        groups={"fft_error": LABELS},
        records={"loss": loss},
        diverged_at=diverged_at,
        steps_done=2000 if diverged_at is None else diverged_at,
        **kwargs,
    )


def observables(**specs) -> dict[str, Observable]:
    adapter = TypeAdapter(Observable)
    return {name: adapter.validate_python(spec) for name, spec in specs.items()}


def run(spec: dict, c: CellResult, extra: dict | None = None) -> Observed:
    obs = observables(x=spec, **(extra or {}))
    return observe("x", obs, c)


def test_final_and_relative_to_initial():
    got = run({"kind": "final", "metric": "fft_error"}, cell())
    assert got.labels == LABELS and not got.missing
    np.testing.assert_allclose([got.values[g] for g in LABELS], 2 * np.exp(-2000 * RATES))
    rel = run({"kind": "final", "metric": "fft_error", "relative_to_initial": True}, cell())
    np.testing.assert_allclose([rel.values[g] for g in LABELS], np.exp(-2000 * RATES))


def test_scalar_metric_has_the_single_group_empty_string():
    got = run({"kind": "final", "metric": "loss"}, cell())
    assert got.labels == [""]
    assert got.values[""] == pytest.approx(math.exp(-20.0))


def test_value_at_takes_last_evaluation_at_or_before_step():
    got = run({"kind": "value_at", "metric": "fft_error", "step": 120}, cell())
    np.testing.assert_allclose([got.values[g] for g in LABELS], 2 * np.exp(-100 * RATES))


def test_value_at_beyond_the_run_is_missing():
    got = run({"kind": "value_at", "metric": "fft_error", "step": 5000}, cell())
    assert not got.values and "training ended at step 2000" in got.missing["0"]


def test_decay_rate_recovers_known_rates():
    got = run({"kind": "decay_rate", "metric": "fft_error", "window": [300, 1000]}, cell())
    np.testing.assert_allclose([got.values[g] for g in LABELS], RATES, rtol=1e-9)


def test_decay_rate_non_positive_value_makes_group_missing():
    values = 2.0 * np.exp(-np.outer(STEPS, RATES))
    values[10, 1] = 0.0  # step 500
    got = run(
        {"kind": "decay_rate", "metric": "fft_error", "window": [300, 1000]}, cell(values=values)
    )
    assert set(got.values) == {"0", "2"}
    assert "non-positive or non-finite" in got.missing["1"] and "step 500" in got.missing["1"]


def test_decay_rate_with_fewer_than_two_points_is_missing():
    got = run({"kind": "decay_rate", "metric": "fft_error", "window": [510, 540]}, cell())
    assert not got.values and "fewer than 2" in got.missing["0"]


def test_crossing_below_above_and_relative():
    below = run({"kind": "crossing", "metric": "fft_error", "below": 1.0}, cell())
    # 2 exp(-r t) < 1  <=>  t > ln 2 / r; first evaluated step (multiple of 50) after that
    expected = [50 * (math.floor(math.log(2) / r / 50) + 1) for r in RATES]
    assert [below.values[g] for g in LABELS] == expected
    rel = run(
        {"kind": "crossing", "metric": "fft_error", "below": 0.5, "relative_to_initial": True},
        cell(),
    )
    assert [rel.values[g] for g in LABELS] == expected
    above = run({"kind": "crossing", "metric": "fft_error", "above": 1.5}, cell())
    assert above.values == {"0": 0.0, "1": 0.0, "2": 0.0}


def test_crossing_that_never_happens_is_missing_and_censored():
    got = run({"kind": "crossing", "metric": "fft_error", "below": 1e-3}, cell())
    assert set(got.values) == {"0", "1"}
    assert got.missing["2"] == "never crossed below 0.001 within 2000 steps"
    assert got.censored == {"2": 2000}


def test_delay_is_end_minus_start():
    extra = {
        "a": {"kind": "crossing", "metric": "fft_error", "below": 1.0},
        "b": {"kind": "crossing", "metric": "fft_error", "below": 0.01},
    }
    got = run({"kind": "delay", "start": "a", "end": "b"}, cell(), extra)
    a = observe("a", observables(**extra), cell())
    b = observe("b", observables(**extra), cell())
    assert set(got.values) == {"0", "1"}
    assert got.values["0"] == b.values["0"] - a.values["0"] > 0
    assert "end 'b': never crossed" in got.missing["2"]


@pytest.mark.parametrize("status", ["error", "missing"])
def test_error_and_missing_cells_have_no_values(status):
    got = run(
        {"kind": "final", "metric": "fft_error"}, cell(status=status, error="Traceback\nBoom")
    )
    assert not got.values and ALL_GROUPS in got.missing
    assert got.why_missing("3") == got.missing[ALL_GROUPS]
    if status == "error":
        assert got.missing[ALL_GROUPS] == "cell errored: Boom"


def test_metric_not_recorded():
    got = run({"kind": "final", "metric": "ntk_change"}, cell())
    assert got.missing == {ALL_GROUPS: "metric 'ntk_change' not recorded"}


def test_diverged_cell_keeps_its_finite_prefix():
    c = cell(status="diverged", diverged_at=1210)
    final = run({"kind": "final", "metric": "fft_error"}, c)
    assert not final.values and final.missing["0"] == "cell diverged at step 1210"
    early = run({"kind": "decay_rate", "metric": "fft_error", "window": [300, 1000]}, c)
    np.testing.assert_allclose([early.values[g] for g in LABELS], RATES, rtol=1e-9)
    late = run({"kind": "decay_rate", "metric": "fft_error", "window": [300, 1500]}, c)
    assert not late.values and "diverged at step 1210" in late.missing["0"]
    at = run({"kind": "value_at", "metric": "fft_error", "step": 1000}, c)
    assert set(at.values) == set(LABELS)
    after = run({"kind": "value_at", "metric": "fft_error", "step": 1500}, c)
    assert not after.values
    crossed = run({"kind": "crossing", "metric": "fft_error", "below": 1e-3}, c)
    assert set(crossed.values) == {"0"}  # group 1 needs t > 1520: after the divergence
    assert crossed.missing["1"].endswith("before the cell diverged at step 1210")
    loss = run({"kind": "crossing", "metric": "loss", "below": 1e-3}, c)
    assert loss.values[""] == 691.0


def test_diverged_cell_without_step_uses_first_non_finite_row():
    values = 2.0 * np.exp(-np.outer(STEPS, RATES))
    values[20:] = np.inf  # step 1000 on
    c = cell(status="diverged", values=values)
    got = run({"kind": "decay_rate", "metric": "fft_error", "window": [0, 950]}, c)
    assert set(got.values) == set(LABELS)
    got = run({"kind": "decay_rate", "metric": "fft_error", "window": [0, 1000]}, c)
    assert not got.values


def test_zero_initial_value_cannot_be_divided_by():
    values = 2.0 * np.exp(-np.outer(STEPS, RATES))
    values[0, 0] = 0.0
    got = run(
        {"kind": "final", "metric": "fft_error", "relative_to_initial": True}, cell(values=values)
    )
    assert set(got.values) == {"1", "2"} and "step-0 value is 0" in got.missing["0"]


def spiking_cell(**kwargs) -> CellResult:
    """``mse`` = 1 until step 1000, a spike to 7 at step 1100, then 0.5 (Fig. 12's switch)."""
    values = np.where(STEPS < 1000, 1.0, 0.5)
    values = np.where(STEPS == 1100, 7.0, values)[:, None].repeat(3, axis=1)
    return cell(values=values, **kwargs)


def window_max(window: list[int], **extra) -> dict:
    """The ``window`` observable: the largest ``fft_error`` in ``window``."""
    return {"kind": "window", "statistic": "max", "metric": "fft_error", "window": window, **extra}


def test_window_max_and_relative_to_its_start():
    c = spiking_cell()
    got = run(window_max([1000, 2000]), c)
    assert got.values == dict.fromkeys(LABELS, 7.0)
    # divided by the value at the last evaluation at or before step 1000 (0.5 at 1000)
    got = run(window_max([1000, 2000], relative_to_start=True), c)
    assert got.values == dict.fromkeys(LABELS, 14.0)
    got = run(window_max([990, 1050], relative_to_start=True), c)
    # start value 1.0 (step 950), largest value in [990, 1050] is 0.5 (steps 1000, 1050)
    assert got.values == dict.fromkeys(LABELS, 0.5)
    # the window before the spike does not see it
    got = run(window_max([0, 1050]), c)
    assert got.values == dict.fromkeys(LABELS, 1.0)


def test_window_missing_when_not_covered():
    c = spiking_cell()
    late = run(window_max([1500, 3000]), c)
    assert "training ended at step 2000" in late.why_missing("0")
    gap = run(window_max([1010, 1040]), c)
    assert "no evaluation in window" in gap.why_missing("0")
    diverged = run(window_max([100, 1500]), cell(status="diverged", diverged_at=1200))
    assert "diverged at step 1200" in diverged.why_missing("0")


def test_window_median_ignores_a_spike():
    """Fig. 8's Adam: a late level that one spike does not move (unlike ``final``)."""
    c = spiking_cell()
    median = {
        "kind": "window",
        "metric": "fft_error",
        "window": [1000, 2000],
        "statistic": "median",
    }
    assert run(median, c).values == dict.fromkeys(LABELS, 0.5)
    mean = dict(median, statistic="mean")
    assert run(mean, c).values["0"] == pytest.approx((20 * 0.5 + 7.0) / 21)
    low = dict(median, statistic="min", window=[0, 2000])
    assert run(low, c).values["0"] == 0.5
