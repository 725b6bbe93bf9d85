"""Claim kinds on synthetic cells: error curves ``exp(-r_g t)`` with known rates per group."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from pydantic import TypeAdapter

from runner import claims as claims_module
from runner.claims import CLAIM_KINDS, Context, describe_kinds, judge, judge_claim
from runner.results import CellResult, ClaimResult
from runner.spec import Claim, Spec

STEPS = np.arange(0, 2001, 50)
LABELS = ["0", "1", "2", "3", "4"]
GD = [0.01, 0.005, 0.002, 0.001, 0.0005]
LM = [0.01, 0.008, 0.005, 0.003, 0.002]
GN = [0.0101, 0.0102, 0.0099, 0.0098, 0.01]

OBSERVABLES = {
    "rates": {"kind": "decay_rate", "metric": "fft_error", "window": [100, 1000]},
    "late_rates": {"kind": "decay_rate", "metric": "fft_error", "window": [1000, 2000]},
    "lemma": {"kind": "final", "metric": "lemma_rate"},
    "final_err": {"kind": "final", "metric": "fft_error"},
    "final_rel": {"kind": "final", "metric": "fft_error", "relative_to_initial": True},
    "final_loss": {"kind": "final", "metric": "loss"},
    "loss_1e-3": {"kind": "crossing", "metric": "loss", "below": 1e-3},
    "err_1e-4": {"kind": "crossing", "metric": "fft_error", "below": 1e-4},
}


def curves(optimizer, seed, rates, *, point=None, status="finished", **kwargs) -> CellResult:
    """``fft_error[t, g] = exp(-rates[g] t)`` (seed ``s`` scales the rates by ``1 + 0.01 s``),
    ``lemma_rate`` = the rates, ``loss[t] = mean_g exp(-2 rates[g] t)``."""
    rates = np.asarray(rates, dtype=float) * (1 + 0.01 * seed)
    t = np.arange(2001)
    point = point or {}
    suffix = "".join(f"_{k.split('.')[-1]}{v}" for k, v in point.items())
    return CellResult(
        cell_id=f"{optimizer}{suffix}_s{seed}",
        optimizer=optimizer,
        seed=seed,
        point=point,
        status=status,
        eval_steps=STEPS,
        metrics={
            "fft_error": np.exp(-np.outer(STEPS, rates)),
            "lemma_rate": np.tile(rates, (STEPS.size, 1)),
        },
        groups={"fft_error": LABELS, "lemma_rate": LABELS},
        records={"loss": np.exp(-2 * np.outer(t, rates)).mean(axis=1)},
        steps_done=2000,
        **kwargs,
    )


def run_cells(seeds=(0, 1, 2)) -> list[CellResult]:
    return [
        curves(name, s, rates)
        for name, rates in (("gd", GD), ("lm", LM), ("gn", GN))
        for s in seeds
    ]


def alpha_cells(rate_of_alpha, seeds=(0, 1, 2), alphas=(1, 2, 4)) -> list[CellResult]:
    return [
        curves("gn", s, [rate_of_alpha(a)] * 5, point={"model.alpha": float(a)})
        for a in alphas
        for s in seeds
    ]


def make_spec(claims: list[dict], observables: dict | None = None) -> Spec:
    return Spec.model_validate(
        {
            "name": "synthetic",
            "task": {"kind": "regression_1d"},
            "model": {"kind": "mlp", "hidden": [8]},
            "optimizers": {
                "gd": {"kind": "gd", "learning_rate": 0.01},
                "lm": {"kind": "lm", "learning_rate": 0.01, "damping": 0.1},
                "gn": {"kind": "gn", "learning_rate": 0.01, "eps": 1e-6},
            },
            "train": {"steps": 2000, "eval_every": 50},
            "sweep": {"grid": {"model.alpha": [1.0, 2.0, 4.0]}},
            "metrics": [{"kind": "fft_error", "modes": 5}, {"kind": "lemma_rate"}],
            "observables": OBSERVABLES if observables is None else observables,
            "claims": claims,
        }
    )


def one(claim: dict, cells: list[CellResult]) -> ClaimResult:
    claim = {"id": "c", **claim}
    TypeAdapter(Claim).validate_python(claim)  # the claim alone is a valid claim
    (result,) = judge(make_spec([claim]), cells)
    return result


CELLS = run_cells()


# --- registry and rendering --------------------------------------------------------------------


def test_registry_has_every_kind_of_the_spec():
    kinds = {m.model_fields["kind"].annotation.__args__[0] for m in Claim.__args__[0].__args__}
    assert set(CLAIM_KINDS) == kinds
    for name, cls in CLAIM_KINDS.items():
        assert cls.kind == name and cls.params_model.model_fields["kind"]


def test_describe_kinds_examples_validate_and_render():
    described = describe_kinds()
    assert [d["kind"] for d in described] == list(CLAIM_KINDS)
    for d in described:
        assert yaml.safe_load(d["example"]) == [d["example_data"]]
        TypeAdapter(Claim).validate_python(d["example_data"])
        assert d["sentence"].endswith(".")
        names = [p["name"] for p in d["parameters"]]
        assert "id" in names and "kind" not in names
    threshold = next(d for d in described if d["kind"] == "threshold")
    params = {p["name"]: p for p in threshold["parameters"]}
    assert params["op"]["type"] == '"<" | "<=" | ">" | ">="' and params["op"]["required"]
    assert params["reduce"]["default"] == "all" and params["groups"]["type"] == "list[str] | null"
    assert params["where"]["default"] == {}


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


# --- threshold ---------------------------------------------------------------------------------


def test_threshold_all_pass_and_fail():
    ok = one(
        {
            "kind": "threshold",
            "observable": "final_rel",
            "where": {"optimizer": "gn"},
            "op": "<",
            "value": 1e-6,
        },
        CELLS,
    )
    assert ok.verdict == "PASS" and ok.holds and ok.margin > 0
    bad = one(
        {
            "kind": "threshold",
            "observable": "final_rel",
            "where": {"optimizer": "gd"},
            "op": "<",
            "value": 1e-3,
        },
        CELLS,
    )
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
    assert result.margin == pytest.approx(result.observed["value"] - 0.5)
    assert "at mode 4" in result.observed_sentence


def test_threshold_scalar_reports_bootstrap_ci():
    result = one(
        {
            "kind": "threshold",
            "observable": "final_loss",
            "where": {"optimizer": "gn"},
            "op": "<",
            "value": 1e-9,
        },
        CELLS,
    )
    assert result.verdict == "PASS"
    ci = result.observed["groups"][""]["ci95"]
    assert ci[0] <= result.observed["groups"][""]["value"] <= ci[1]
    assert "95% CI" in result.observed_sentence
    single = one(
        {
            "kind": "threshold",
            "observable": "final_loss",
            "where": {"optimizer": "gn", "seed": 0},
            "op": "<",
            "value": 1e-9,
        },
        CELLS,
    )
    assert single.observed["groups"][""]["ci95"] is None


# --- compare -----------------------------------------------------------------------------------


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


# --- ordering ----------------------------------------------------------------------------------


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


# --- rate --------------------------------------------------------------------------------------


def test_rate_relative_and_band():
    gn = {"kind": "rate", "observable": "rates", "where": {"optimizer": "gn"}}
    ok = one({**gn, "expected_rate": 0.01, "rtol": 0.1}, CELLS)
    assert ok.verdict == "PASS" and 0 < ok.margin < 0.1
    assert ok.figure["groups"]["band"] == pytest.approx([0.009, 0.011])
    assert ok.figure["series"]["window"] == [100, 1000]
    gd = one({**gn, "where": {"optimizer": "gd"}, "expected_rate": 0.01, "rtol": 0.1}, CELLS)
    assert gd.verdict == "FAIL" and "not: mode 1" in gd.observed_sentence
    assert one({**gn, "min": 0.009, "max": 0.0105}, CELLS).verdict == "PASS"
    assert one({**gn, "min": 0.0099}, CELLS).verdict == "FAIL"


def test_ill_posed_claims_are_rejected_by_the_schema():
    """A rate without its tolerance or a spread without bounds never reaches the judge."""
    from pydantic import TypeAdapter, ValidationError

    from runner.spec import Claim

    base = {"observable": "rates", "where": {"optimizer": "gn"}}
    for bad, words in [
        ({"id": "a", "kind": "rate", **base, "expected_rate": 1}, "rtol"),
        ({"id": "b", "kind": "uniform_across", **base}, "max and/or min"),
    ]:
        with pytest.raises(ValidationError, match=words):
            TypeAdapter(Claim).validate_python(bad)


# --- uniform_across ----------------------------------------------------------------------------


def test_uniform_across_ratio_and_cv():
    gn = {"kind": "uniform_across", "observable": "rates", "where": {"optimizer": "gn"}}
    ok = one({**gn, "max": 2}, CELLS)
    assert ok.verdict == "PASS"
    assert ok.observed["value"] == pytest.approx(0.0102 / 0.0098)
    assert ok.margin == pytest.approx(np.log(2) - np.log(0.0102 / 0.0098))
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


# --- monotonic and independent_of --------------------------------------------------------------


def test_monotonic_along_a_sweep_axis():
    cells = alpha_cells(lambda a: 0.004 / a)  # slower decay at larger alpha: final error grows
    base = {"kind": "monotonic", "observable": "final_err", "axis": "model.alpha"}
    up = one({**base, "direction": "increasing"}, cells)
    assert up.verdict == "PASS" and up.margin > 0
    assert up.observed["points"] == [1.0, 2.0, 4.0]
    # one panel holding every axis value (each gets its own colour in the report)
    assert [s["label"] for s in up.figure["series"]["selections"]] == ["all cells, by model.alpha"]
    assert one({**base, "direction": "decreasing"}, cells).verdict == "FAIL"
    per_mode = one({**base, "direction": "increasing", "group_reduce": "all"}, cells)
    assert per_mode.verdict == "PASS"
    flat = alpha_cells(lambda a: 0.004)
    assert one({**base, "direction": "increasing"}, flat).verdict == "PASS"
    strict = one({**base, "direction": "increasing", "strict": True}, flat)
    assert strict.verdict == "FAIL"


def test_independent_of():
    base = {"kind": "independent_of", "observable": "rates", "axis": "model.alpha"}
    ok = one({**base, "max_factor": 1.5}, alpha_cells(lambda a: 0.01 * (1 + 0.01 * a)))
    assert ok.verdict == "PASS" and ok.margin > 0
    bad = one({**base, "max_factor": 1.5}, alpha_cells(lambda a: 0.01 / a))
    assert bad.verdict == "FAIL" and "factor 4" in bad.observed_sentence
    assert bad.margin == pytest.approx(np.log(1.5) - np.log(4), rel=1e-6)


def test_axis_with_one_value_is_inconclusive():
    cells = alpha_cells(lambda a: 0.01, alphas=(1,))
    result = one(
        {"kind": "independent_of", "observable": "rates", "axis": "model.alpha", "max_factor": 2},
        cells,
    )
    assert result.verdict == "INCONCLUSIVE" and "one value" in result.reason


# --- event ---------------------------------------------------------------------------------------


def test_event_happens_before_a_step():
    base = {"kind": "event", "observable": "loss_1e-3"}
    gn = one({**base, "where": {"optimizer": "gn"}, "before": 1000}, CELLS)
    # mean_g exp(-2 r_g t) < 1e-3 about t = ln(1000) / 0.02 = 345
    assert gn.verdict == "PASS" and 0 < gn.margin < 700
    late = one({**base, "where": {"optimizer": "gn"}, "before": 300}, CELLS)
    assert late.verdict == "FAIL" and late.margin < 0
    gd = one({**base, "where": {"optimizer": "gd"}}, CELLS)
    assert gd.verdict == "FAIL"
    assert "not in seed 0, 1, 2 (never crossed below 0.001 within 2000 steps)" in (
        gd.observed_sentence
    )
    never = one({**base, "where": {"optimizer": "gd"}, "happens": False}, CELLS)
    assert never.verdict == "PASS"


# --- stable ------------------------------------------------------------------------------------


def test_stable():
    assert one({"kind": "stable"}, CELLS).verdict == "PASS"
    cells = [*CELLS, curves("lm", 7, LM, status="diverged", diverged_at=312)]
    result = one({"kind": "stable", "where": {"optimizer": "lm"}}, cells)
    assert result.verdict == "FAIL" and "lm_s7 diverged at step 312" in result.observed_sentence
    assert one({"kind": "stable", "where": {"optimizer": "gd"}}, cells).verdict == "PASS"
    absent = [*CELLS, curves("gd", 7, GD, status="missing")]
    assert one({"kind": "stable", "where": {"optimizer": "gd"}}, absent).verdict == "INCONCLUSIVE"


# --- matches -----------------------------------------------------------------------------------


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


# --- shared rules ------------------------------------------------------------------------------


def test_missing_crossing_follows_on_missing():
    claim = {
        "kind": "threshold",
        "observable": "err_1e-4",
        "where": {"optimizer": "gd"},
        "op": "<",
        "value": 2000,
    }
    result = one(claim, CELLS)
    assert result.verdict == "INCONCLUSIVE"
    assert "gd_s0 modes 2..4: never crossed below 0.0001 within 2000 steps" in result.reason
    assert result.cells == ["gd_s0", "gd_s1", "gd_s2"]
    failing = one({**claim, "on_missing": "fail"}, CELLS)
    assert failing.verdict == "FAIL" and failing.reason == result.reason


def test_errored_and_diverged_cells_are_missing_values():
    cells = [
        curves("gn", 0, GN),
        curves("gn", 1, GN, status="error", error="Traceback\nValueError: boom"),
        curves("gn", 2, GN, status="diverged", diverged_at=500),
    ]
    result = one(
        {"kind": "rate", "observable": "rates", "where": {"optimizer": "gn"}, "min": 0}, cells
    )
    assert result.verdict == "INCONCLUSIVE"
    assert "gn_s1: cell errored: ValueError: boom" in result.reason
    assert "gn_s2 modes 0..4: cell diverged at step 500" in result.reason


def test_too_few_seeds_is_inconclusive():
    result = one(
        {
            "kind": "rate",
            "observable": "rates",
            "where": {"optimizer": "gn"},
            "min": 0,
            "min_seeds": 5,
        },
        CELLS,
    )
    assert result.verdict == "INCONCLUSIVE"
    assert result.reason == ("3 seeds (0, 1, 2) in where={optimizer: gn}, fewer than min_seeds=5")


def test_no_matching_cell_is_inconclusive_and_names_the_values():
    cells = alpha_cells(lambda a: 0.01)
    result = one(
        {
            "kind": "rate",
            "observable": "rates",
            "where": {"optimizer": "gn", "model.alpha": 3},
            "min": 0,
        },
        cells,
    )
    assert result.verdict == "INCONCLUSIVE"
    assert result.reason.startswith("no cell matches where={optimizer: gn, model.alpha: 3}")
    assert "model.alpha takes 1, 2, 4" in result.reason


def test_ambiguous_where_is_an_error():
    cells = alpha_cells(lambda a: 0.01)
    result = one(
        {"kind": "rate", "observable": "rates", "where": {"optimizer": "gn"}, "min": 0}, cells
    )
    assert result.verdict == "ERROR" and "differing in model.alpha" in result.reason


def test_negative_control_holds_when_it_fails():
    result = one(
        {
            "kind": "uniform_across",
            "observable": "rates",
            "where": {"optimizer": "gd"},
            "max": 2,
            "expected": "fail",
        },
        CELLS,
    )
    assert result.verdict == "FAIL" and result.holds
    assert result.to_dict()["holds"] is True


def test_a_claim_that_raises_is_error_and_the_others_still_run(monkeypatch):
    def boom(self, claim, context):
        raise RuntimeError("kaput")

    monkeypatch.setattr(claims_module.RateKind, "judge", boom)
    spec = make_spec(
        [
            {"id": "a", "kind": "rate", "observable": "rates", "min": 0},
            {"id": "b", "kind": "stable"},
        ]
    )
    first, second = judge(spec, CELLS)
    assert first.verdict == "ERROR" and first.reason == "RuntimeError: kaput"
    assert first.expected_sentence.startswith("In all cells")
    assert second.verdict == "PASS"


def test_judge_claim_with_an_unknown_observable_is_error():
    claim = TypeAdapter(Claim).validate_python(
        {
            "id": "x",
            "kind": "threshold",
            "observable": "nope",
            "where": {"optimizer": "gn"},
            "op": "<",
            "value": 1,
        }
    )
    result = judge_claim(claim, Context({}, CELLS))
    assert result.verdict == "ERROR" and "nope" in result.reason


def test_judging_is_deterministic_and_round_trips():
    claims = [
        {"id": "t", "kind": "threshold", "observable": "final_loss", "op": "<", "value": 1,
         "where": {"optimizer": "gn"}},
        {"id": "u", "kind": "uniform_across", "observable": "rates", "max": 2,
         "where": {"optimizer": "gn"}},
        {"id": "e", "kind": "event", "observable": "loss_1e-3", "where": {"optimizer": "gd"}},
        {"id": "m", "kind": "matches", "rtol": 0.1,
         "left": {"observable": "rates", "where": {"optimizer": "lm"}},
         "right": {"observable": "lemma", "where": {"optimizer": "lm"}}},
    ]  # fmt: skip
    spec = make_spec(claims)
    first = [r.to_dict() for r in judge(spec, run_cells())]
    second = [r.to_dict() for r in judge(spec, run_cells())]
    assert first == second
    assert first[1]["observed"]["ci95"] is not None
    text = json.dumps(first)
    for data in json.loads(text):
        again = ClaimResult.from_dict(data)
        assert again.to_dict() == data
        assert again.holds == data["holds"]


def test_ill_posed_claims_are_spec_errors():
    """An event on a non-crossing observable or an axis that is not swept fails validation."""
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="not a crossing"):
        make_spec([{"id": "e", "kind": "event", "observable": "final_loss"}])
    with pytest.raises(ValidationError, match="not a sweep key"):
        make_spec(
            [
                {
                    "id": "m",
                    "kind": "monotonic",
                    "observable": "final_err",
                    "axis": "model.width",
                    "direction": "increasing",
                }
            ]
        )


def test_an_inconclusive_result_still_has_its_series_figure():
    result = one(
        {
            "kind": "rate",
            "observable": "rates",
            "where": {"optimizer": "gn"},
            "min": 0,
            "min_seeds": 4,
        },
        CELLS,
    )
    assert result.verdict == "INCONCLUSIVE" and result.observed_sentence.startswith("Not judged")
    assert result.figure["series"]["selections"] == [
        {"label": "optimizer=gn", "where": {"optimizer": "gn"}}
    ]
    assert "groups" not in result.figure


def test_compare_for_each_value_of_a_sweep_key():
    """``for_each``: the comparison at every alpha; all values must hold."""
    cells = [
        curves(opt, s, [rate(a)] * 5, point={"model.alpha": float(a)})
        for opt, rate in (("gd", lambda a: 0.004 / a), ("lm", lambda a: 0.004))
        for a in (1, 2, 4)
        for s in (0, 1)
    ]
    base = {
        "kind": "compare",
        "left": {"observable": "final_err", "where": {"optimizer": "lm"}},
        "right": {"observable": "final_err", "where": {"optimizer": "gd"}},
        "for_each": "model.alpha",
    }
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
    ambiguous = one({**{k: v for k, v in base.items() if k != "for_each"}, "op": "<="}, cells)
    assert ambiguous.verdict == "ERROR" and "model.alpha" in ambiguous.reason


def test_compare_for_each_must_be_a_sweep_key():
    with pytest.raises(ValueError, match="axis 'model.width' is not a sweep key"):
        make_spec(
            [
                {
                    "id": "c",
                    "kind": "compare",
                    "left": {"observable": "final_err", "where": {"optimizer": "lm"}},
                    "right": {"observable": "final_err", "where": {"optimizer": "gd"}},
                    "op": "<",
                    "for_each": "model.width",
                }
            ]
        )


def grokking_cell(optimizer, alpha, t_train, t_test, seed=0, steps=1000):
    """Accuracy curves that jump from 0 to 1 at ``t_train`` (train) and ``t_test`` (test)."""
    evals = np.arange(0, steps + 1, 10)
    step = lambda t: (evals >= t).astype(float) if t is not None else np.zeros(evals.size)  # noqa: E731
    return CellResult(
        cell_id=f"{optimizer}_a{alpha}_s{seed}",
        optimizer=optimizer,
        seed=seed,
        point={"model.alpha": float(alpha)},
        status="finished",
        eval_steps=evals,
        metrics={"train_accuracy": step(t_train), "accuracy": step(t_test)},
        groups={},
        records={"loss": np.ones(steps)},
        steps_done=steps,
    )


GROKKING_OBSERVABLES = {
    "t_train": {"kind": "crossing", "metric": "train_accuracy", "above": 0.95},
    "t_test": {"kind": "crossing", "metric": "accuracy", "above": 0.9},
    "delay": {"kind": "delay", "start": "t_train", "end": "t_test"},
}


def grokking_judge(claim, cells):
    spec = Spec.model_validate(
        {
            "name": "grokking",
            "task": {"kind": "modular_addition", "modulus": 5},
            "model": {"kind": "mlp", "hidden": [4]},
            "optimizers": {
                "sgd": {"kind": "gd", "learning_rate": 1.0},
                "lm": {"kind": "lm", "learning_rate": 0.1, "damping": 0.1},
            },
            "train": {"steps": 1000, "eval_every": 10},
            "sweep": {"grid": {"model.alpha": [1.0, 2.0, 4.0]}},
            "metrics": [{"kind": "accuracy", "on": "train"}, {"kind": "accuracy"}],
            "observables": GROKKING_OBSERVABLES,
            "claims": [{"id": "c", **claim}],
        }
    )
    (result,) = judge(spec, cells)
    return result


def test_grokking_delay_claims_on_synthetic_curves():
    """SGD's delay grows with alpha (100, 300, 700 steps); LM's stays 50; an SGD run that never
    generalises makes the delay missing, which follows on_missing."""
    cells = [grokking_cell("sgd", a, 100, 100 + d) for a, d in ((1, 100), (2, 300), (4, 700))]
    cells += [grokking_cell("lm", a, 10, 60) for a in (1, 2, 4)]
    grows = {
        "kind": "monotonic",
        "observable": "delay",
        "axis": "model.alpha",
        "where": {"optimizer": "sgd"},
        "direction": "increasing",
        "strict": True,
    }
    assert grokking_judge(grows, cells).verdict == "PASS"
    flat = {
        "kind": "independent_of",
        "observable": "delay",
        "axis": "model.alpha",
        "where": {"optimizer": "lm"},
        "max_factor": 2,
    }
    assert grokking_judge(flat, cells).verdict == "PASS"
    assert grokking_judge({**flat, "where": {"optimizer": "sgd"}}, cells).verdict == "FAIL"
    shorter = {
        "kind": "compare",
        "left": {"observable": "delay", "where": {"optimizer": "lm"}},
        "right": {"observable": "delay", "where": {"optimizer": "sgd"}},
        "op": "<",
        "for_each": "model.alpha",
    }
    compared = grokking_judge(shorter, cells)
    assert compared.verdict == "PASS"
    # the figure: each side's delay against alpha
    assert compared.figure["groups"]["values"] == {
        "left: optimizer=lm": {"1": 50.0, "2": 50.0, "4": 50.0},
        "1 x right: optimizer=sgd": {"1": 100.0, "2": 300.0, "4": 700.0},
    }
    never = [c for c in cells if c.cell_id != "sgd_a4_s0"]
    never.append(grokking_cell("sgd", 4, 100, None))
    missing = grokking_judge(grows, never)
    assert missing.verdict == "INCONCLUSIVE"
    assert "never crossed above 0.9 within 1000 steps" in missing.reason
    assert grokking_judge({**grows, "on_missing": "fail"}, never).verdict == "FAIL"


def test_where_in_selects_several_values_of_a_key():
    """``{in: [...]}`` restricts an axis claim to some sweep values (e.g. the alphas at which an
    event happens at all)."""
    cells = [grokking_cell("sgd", a, 100, 100 + d) for a, d in ((1, 100), (2, 150), (4, 900))]
    flat = {
        "kind": "independent_of",
        "observable": "delay",
        "axis": "model.alpha",
        "where": {"optimizer": "sgd"},
        "max_factor": 2,
    }
    assert grokking_judge(flat, cells).verdict == "FAIL"
    some = grokking_judge(
        {**flat, "where": {"optimizer": "sgd", "model.alpha": {"in": [1, 2]}}}, cells
    )
    assert some.verdict == "PASS" and some.observed["points"] == [1.0, 2.0]
    assert "model.alpha={1, 2}" in some.expected_sentence
    with pytest.raises(ValueError, match="unknown optimizer 'adam'"):
        grokking_judge({**flat, "where": {"optimizer": {"in": ["sgd", "adam"]}}}, cells)


# --- seed_spread -------------------------------------------------------------------------------


def test_seed_spread_is_max_minus_min_over_seeds():
    # lemma = the rates scaled by 1 + 0.01 s: over seeds 0-2 the spread of gn's group g is
    # 0.02 GN[g], at most 0.02 x 0.0102 = 2.04e-4 (group 1)
    claim = {"kind": "seed_spread", "observable": "lemma", "where": {"optimizer": "gn"}}
    result = one({**claim, "max": 2.1e-4}, CELLS)
    assert result.verdict == "PASS"
    assert result.observed["value"] == pytest.approx(0.02 * 0.0102)
    assert "mode 1" in result.observed_sentence  # lemma_rate is a per-mode metric
    assert one({**claim, "max": 2.0e-4}, CELLS).verdict == "FAIL"
    single = run_cells(seeds=(0,))
    assert one({**claim, "max": 1.0}, single).verdict == "INCONCLUSIVE"  # one seed: no band
