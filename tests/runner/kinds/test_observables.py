"""Observables on synthetic cells whose answers are known in closed form."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import TypeAdapter

from runner.kinds.observables import ALL_GROUPS, Observed, describe, observe
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


def test_decay_rate_non_positive_value_makes_group_missing_without_a_floor():
    values = 2.0 * np.exp(-np.outer(STEPS, RATES))
    values[10, 1] = 0.0  # step 500
    decay = {"kind": "decay_rate", "metric": "fft_error", "window": [300, 1000]}
    got = run({**decay, "floor": None}, cell(values=values))
    assert set(got.values) == {"0", "2"}
    assert "non-positive or non-finite" in got.missing["1"] and "step 500" in got.missing["1"]
    # with a floor a zero is below it: the point is left out, the rate is that of the others
    floored = run(decay, cell(values=values))
    assert floored.values["1"] == pytest.approx(RATES[1], rel=1e-9)
    assert floored.points == {"0": 15, "1": 14, "2": 15}
    values[10, 1] = np.nan
    assert "non-finite value" in run(decay, cell(values=values)).missing["1"]


def test_decay_rate_with_fewer_than_min_points_is_missing():
    decay = {"kind": "decay_rate", "metric": "fft_error"}
    got = run({**decay, "window": [510, 540]}, cell())
    assert not got.values and "fewer than 3 evaluated points" in got.missing["0"]
    two = run({**decay, "window": [500, 550]}, cell())  # steps 500 and 550
    assert not two.values and "(2)" in two.missing["0"]
    got = run({**decay, "window": [500, 550], "min_points": 2}, cell())
    np.testing.assert_allclose([got.values[g] for g in LABELS], RATES, rtol=1e-9)
    assert not got.errors  # two points lie on their line: no standard error
    assert got.points == dict.fromkeys(LABELS, 2)
    with pytest.raises(ValueError):
        observables(x={**decay, "window": [0, 100], "min_points": 1})


HALVING = math.log(2)


def rounding_tail(rate=HALVING, start=0.3, level=1e-11, steps=41, seed=0) -> tuple:
    """A mode that halves per step next to modes that stay near 1 (specs/lemmas.yaml's mode 0),
    plus an absolute rounding error of up to ``level``: its last points are rounding, not decay."""
    t = np.arange(steps)
    noise = np.random.default_rng(seed).uniform(-level, level, size=(steps, 3))
    values = np.column_stack([start * np.exp(-rate * t), np.ones(steps), 2 * np.ones(steps)])
    return t, np.abs(values + noise)


def lemma_cell(values: np.ndarray, t: np.ndarray, dtype=np.float64) -> CellResult:
    return CellResult(
        cell_id="c0",
        optimizer="lm",
        seed=0,
        point={},
        status="finished",
        eval_steps=t,
        metrics={"mode_error": values.astype(dtype)},
        groups={"mode_error": LABELS},
        records={},
        steps_done=int(t[-1]),
    )


def test_decay_rate_floor_keeps_the_fit_off_the_rounding_tail():
    t, values = rounding_tail()
    c = lemma_cell(values, t)
    decay = {"kind": "decay_rate", "metric": "mode_error", "window": [0, 40]}
    plain = run({**decay, "floor": None}, c)
    assert abs(plain.values["0"] - math.log(2)) > 1e-2  # 0.3 / 2^40 = 3e-13: rounding
    fixed = run({**decay, "floor": 1e-6}, c)  # 1e5 x the rounding level
    assert fixed.points["0"] == 19  # 0.3 / 2^t > 1e-6 up to t = 18.2
    assert abs(fixed.values["0"] - math.log(2)) < 1e-6
    assert fixed.errors["0"] < 1e-7
    assert fixed.points["1"] == fixed.points["2"] == 41  # the others stay far above it
    # auto: eps64 x the largest root-sum-square of a row, 5e-16: the tail at 1e-11 is kept
    assert run(decay, c).values["0"] == plain.values["0"]
    assert "above 1e-06" in run_describe({**decay, "floor": 1e-6})
    assert run_describe(decay) == "the decay rate of mode_error on steps 0..40 (x)"
    assert "(every point)" in run_describe({**decay, "floor": None})


def run_describe(spec: dict) -> str:
    return describe("x", observables(x=spec))


def test_decay_rate_auto_floor_drops_what_is_zero_to_rounding():
    """A mode fitted to zero: from step 30 on its value is below eps x the metric's scale (here
    exactly 0 or 1e-17, the last digit of numbers of size 1): auto leaves those points out."""
    t, values = rounding_tail(level=0.0)
    values[30:, 0] = [0.0, 1e-17] * 5 + [0.0]
    decay = {"kind": "decay_rate", "metric": "mode_error", "window": [0, 40]}
    got = run(decay, lemma_cell(values, t))
    assert got.points == {"0": 30, "1": 41, "2": 41}
    assert got.values["0"] == pytest.approx(math.log(2), rel=1e-9)
    assert "non-positive" in run({**decay, "floor": None}, lemma_cell(values, t)).missing["0"]


def test_decay_rate_auto_floor_follows_the_recorded_precision():
    """float32 values: the floor is eps32 = 1.2e-7 x the scale sqrt(0.09 + 1 + 4) = 2.7e-7."""
    t, values = rounding_tail(level=0.0)
    decay = {"kind": "decay_rate", "metric": "mode_error", "window": [0, 40]}
    got = run(decay, lemma_cell(values, t, np.float32))
    floor = np.finfo(np.float32).eps * np.sqrt(0.3**2 + 1 + 4)
    assert got.points["0"] == int(np.sum(values[:, 0].astype(np.float32) > floor)) == 21
    assert got.values["0"] == pytest.approx(math.log(2), rel=1e-5)
    assert run(decay, lemma_cell(values, t)).points["0"] == 41  # float64: 0.3 / 2^40 is signal
    too_few = run({**decay, "min_points": 22}, lemma_cell(values, t, np.float32))
    reason = too_few.missing["0"]
    assert "21 of 41 evaluated points in window [0, 40] above the floor 2.69e-07" in reason
    assert "fewer than min_points=22" in reason and set(too_few.values) == {"1", "2"}


def test_decay_rate_error_is_the_slope_standard_error():
    rng = np.random.default_rng(1)
    noisy = 2.0 * np.exp(-np.outer(STEPS, RATES) + 0.01 * rng.standard_normal((STEPS.size, 3)))
    decay = {"kind": "decay_rate", "metric": "fft_error", "window": [0, 1000]}
    got = run(decay, cell(values=noisy))
    inside = STEPS <= 1000
    for g, label in enumerate(LABELS):
        (slope, _), cov = np.polyfit(STEPS[inside], np.log(noisy[inside, g]), 1, cov="unscaled")
        residual = np.log(noisy[inside, g]) - np.polyval([slope, _], STEPS[inside])
        sigma2 = residual @ residual / (inside.sum() - 2)
        assert got.values[label] == pytest.approx(-slope, rel=1e-9)
        assert got.errors[label] == pytest.approx(np.sqrt(sigma2 * cov[0, 0]), rel=1e-9)
        assert got.points[label] == inside.sum() == 21
    # 1 % noise in ln(e) over 1000 steps: a standard error near 0.01 * sqrt(12 / 21) / 1000
    assert 3e-6 < got.errors["0"] < 2e-5
    exact = run(decay, cell())
    assert max(exact.errors.values()) < 1e-15


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


# --- group_spread --------------------------------------------------------------------------------

RATES_OBSERVABLE = {"rates": {"kind": "decay_rate", "metric": "fft_error", "window": [300, 1000]}}


def spread(c: CellResult | None = None, **fields) -> Observed:
    return run({"kind": "group_spread", "of": "rates", **fields}, c or cell(), RATES_OBSERVABLE)


def test_group_spread_is_one_number_per_cell():
    ratio = spread()
    assert ratio.labels == [""] and ratio.values[""] == pytest.approx(0.01 / 0.002, rel=1e-9)
    cv = spread(statistic="cv")
    assert cv.values[""] == pytest.approx(np.std(RATES) / np.mean(RATES), rel=1e-9)
    assert spread(groups=["0", "1"]).values[""] == pytest.approx(2.0, rel=1e-9)
    obs = observables(x={"kind": "group_spread", "of": "rates"}, **RATES_OBSERVABLE)
    assert obs["x"].metric_name(obs) == "fft_error" and obs["x"].scalar
    assert describe("x", obs) == "the max/min ratio over its groups of rates (x)"
    groups = observables(x={"kind": "group_spread", "of": "rates", "groups": ["1", "2", "3"]})
    assert describe("x", groups) == "the max/min ratio over groups 1..3 of rates (x)"


def test_group_spread_missing_when_undefined():
    grows = 2.0 * np.exp(-np.outer(STEPS, [0.01, -0.001, 0.002]))  # group 1 grows
    got = spread(cell(values=grows))
    assert not got.values and "max/min ratio undefined" in got.missing[""]
    assert spread(cell(values=grows), statistic="cv").values[""] > 0
    one = spread(groups=["0"])
    assert "a spread needs 2 groups or more" in one.missing[""]
    lost = spread(cell(status="diverged", diverged_at=800))
    assert "has no value in group 0: cell diverged at step 800" in lost.missing[""]
    assert "cell errored" in spread(cell(status="error", error="Boom")).why_missing("")
    assert "group 7: group '7' not recorded" in spread(groups=["0", "7"]).missing[""]


def test_group_spread_error_from_the_rates_errors():
    rng = np.random.default_rng(2)
    noisy = 2.0 * np.exp(-np.outer(STEPS, RATES) + 0.01 * rng.standard_normal((STEPS.size, 3)))
    rates = run(RATES_OBSERVABLE["rates"], cell(values=noisy))
    got = spread(cell(values=noisy))
    hi, lo = max(rates.values.values()), min(rates.values.values())
    first_order = (hi / lo) * (rates.errors["0"] / hi + rates.errors["2"] / lo)
    assert got.errors[""] == pytest.approx(first_order, rel=2e-2)  # moving one end at a time
    # a group that is neither end does not move the ratio
    assert spread(cell(values=noisy), groups=["0", "2"]).errors[""] == got.errors[""]


def test_group_spread_and_delay_name_observables_that_fit():
    from runner.kinds.base import SpecRuleError
    from tests.runner.kinds.claims.helpers import OBSERVABLES, make_spec

    def problem(extra: dict) -> str:
        with pytest.raises(ValueError) as error:
            make_spec([], {**OBSERVABLES, **extra})
        (cause,) = [e for e in error.value.errors() if e["type"] == "value_error"]
        assert isinstance(cause["ctx"]["error"], SpecRuleError)
        return str(cause["ctx"]["error"])

    make_spec([], {**OBSERVABLES, "spread": {"kind": "group_spread", "of": "rates"}})
    assert problem({"s": {"kind": "group_spread", "of": "ratez"}}) == (
        "observables.s: 'ratez' is not an observable"
    )
    twice = {"s": {"kind": "group_spread", "of": "rates"}, "t": {"kind": "group_spread", "of": "s"}}
    assert "'s' is a group_spread (one number per cell)" in problem(twice)
    assert problem({"d": {"kind": "delay", "start": "rates", "end": "loss_1e-3"}}) == (
        "observables.d: 'rates' is not a crossing observable"
    )


def test_a_claim_compares_spreads_as_scalars():
    """GD's spread of mode rates against GN's: one number per cell, so no group in the sentences."""
    from runner.kinds.claims import judge
    from tests.runner.kinds.claims.helpers import CELLS, OBSERVABLES, make_spec

    spread_obs = {"kind": "group_spread", "of": "rates", "statistic": "cv"}
    claim = {
        "id": "c",
        "kind": "compare",
        "left": {"observable": "spread", "where": {"optimizer": "gd"}},
        "right": {"observable": "spread", "where": {"optimizer": "gn"}},
        "op": ">",
        "factor": 10,
    }
    spec = make_spec([claim], {**OBSERVABLES, "spread": spread_obs})
    (result,) = judge(spec, CELLS)
    assert result.verdict == "PASS"
    assert result.expected_sentence == (
        "The cv over its groups of rates (spread) in optimizer=gd is > 10 x the cv over its "
        "groups of rates (spread) in optimizer=gn (median over seeds)."
    )
    gd_rates = np.array([0.01, 0.005, 0.002, 0.001, 0.0005])
    assert result.observed["groups"][""]["left"] == pytest.approx(
        np.std(gd_rates) / np.mean(gd_rates), rel=1e-6
    )
    assert result.observed_sentence.startswith("Observed left 0.95 > 10 x right 0.0141")
