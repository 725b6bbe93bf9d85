"""Rules every claim kind shares (selection, seeds, missing values, errors, determinism), on
synthetic cells (:mod:`tests.runner.kinds.claims.helpers`)."""

from __future__ import annotations

import json

import pytest
from pydantic import TypeAdapter

from runner.kinds.claims import Claim, Context, judge, judge_claim
from runner.kinds.claims.rate import RateClaim
from runner.results import ClaimResult
from tests.runner.kinds.claims.helpers import (
    CELLS,
    GN,
    alpha_cells,
    curves,
    grokking_cell,
    grokking_judge,
    make_spec,
    one,
    run_cells,
    threshold,
)

# A rate claim on the GN cells (rates all about 0.01) that the rules below vary.
GN_RATES = {"kind": "rate", "observable": "rates", "where": {"optimizer": "gn"}, "min": 0}
# The grokking delay is the same at every alpha within a factor 2 (add the cells' where).
FLAT_DELAY = {
    "kind": "independent_of",
    "observable": "delay",
    "axis": "model.alpha",
    "max_factor": 2,
}


def test_ill_posed_claims_are_rejected_by_the_schema():
    """A rate without its tolerance or a spread without bounds never reaches the judge."""
    from pydantic import ValidationError

    base = {"observable": "rates", "where": {"optimizer": "gn"}}
    for bad, words in [
        ({"id": "a", "kind": "rate", **base, "expected_rate": 1}, "rtol"),
        ({"id": "b", "kind": "uniform_across", **base}, "max and/or min"),
    ]:
        with pytest.raises(ValidationError, match=words):
            TypeAdapter(Claim).validate_python(bad)


def test_missing_crossing_follows_on_missing():
    claim = threshold("err_1e-4", {"optimizer": "gd"}, "<", 2000)
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
    result = one(GN_RATES, cells)
    assert result.verdict == "INCONCLUSIVE"
    assert "gn_s1: cell errored: ValueError: boom" in result.reason
    assert "gn_s2 modes 0..4: cell diverged at step 500" in result.reason


def test_too_few_seeds_is_inconclusive():
    result = one({**GN_RATES, "min_seeds": 5}, CELLS)
    assert result.verdict == "INCONCLUSIVE"
    assert result.reason == ("3 seeds (0, 1, 2) in where={optimizer: gn}, fewer than min_seeds=5")


def test_no_matching_cell_is_inconclusive_and_names_the_values():
    """The spec sweeps alpha over 1, 2, 4 (validate accepts the where), but the run holds no
    alpha = 4 cell (a partial or resumed run): the claim says which values the cells have."""
    cells = alpha_cells(lambda a: 0.01, alphas=(1, 2))
    result = one({**GN_RATES, "where": {"optimizer": "gn", "model.alpha": 4}}, cells)
    assert result.verdict == "INCONCLUSIVE"
    assert result.reason.startswith("no cell matches where={optimizer: gn, model.alpha: 4}")
    assert "model.alpha takes 1, 2" in result.reason


def test_ambiguous_where_is_an_error():
    cells = alpha_cells(lambda a: 0.01)
    result = one(GN_RATES, cells)
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
    def boom(self, context):
        raise RuntimeError("kaput")

    monkeypatch.setattr(RateClaim, "judge", boom)
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
        {"id": "x", **threshold("nope", {"optimizer": "gn"}, "<", 1)}
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
    result = one({**GN_RATES, "min_seeds": 4}, CELLS)
    assert result.verdict == "INCONCLUSIVE" and result.observed_sentence.startswith("Not judged")
    assert result.figure["series"]["selections"] == [
        {"label": "optimizer=gn", "where": {"optimizer": "gn"}}
    ]
    assert "groups" not in result.figure


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
    flat = {**FLAT_DELAY, "where": {"optimizer": "lm"}}
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
    flat = {**FLAT_DELAY, "where": {"optimizer": "sgd"}}
    assert grokking_judge(flat, cells).verdict == "FAIL"
    some = grokking_judge(
        {**flat, "where": {"optimizer": "sgd", "model.alpha": {"in": [1, 2]}}}, cells
    )
    assert some.verdict == "PASS" and some.observed["points"] == [1.0, 2.0]
    assert "model.alpha={1, 2}" in some.expected_sentence
    with pytest.raises(ValueError, match="unknown optimizer 'adam'"):
        grokking_judge({**flat, "where": {"optimizer": {"in": ["sgd", "adam"]}}}, cells)


def test_noise_and_fragile_round_trip_and_old_claims_still_load():
    result = one(threshold("final_rel", {"optimizer": "gn"}, "<", 1e-6), CELLS)
    data = result.to_dict()
    assert {"noise", "fragile", "fragile_reason"} <= set(data)
    again = ClaimResult.from_dict(json.loads(json.dumps(data)))
    assert (again.noise, again.fragile, again.fragile_reason) == (
        result.noise,
        result.fragile,
        result.fragile_reason,
    )
    old = {k: v for k, v in data.items() if k not in ("noise", "fragile", "fragile_reason")}
    loaded = ClaimResult.from_dict(old)  # a claims.json written before these fields
    assert (loaded.noise, loaded.fragile, loaded.fragile_reason) == (None, False, None)


def test_every_kind_reports_its_margin_in_the_relative_unit():
    """One unit for every kind: ``margin`` is a relative distance to the bound, so a claim that
    clears its bound by a factor of 2 reads about 1 (threshold) or 0.5 (below a bound)."""
    above = one(threshold("final_loss", {"optimizer": "gn"}, ">", 0.5e-9), CELLS)
    assert above.margin == pytest.approx(above.observed["groups"][""]["value"] / 0.5e-9 - 1)
    rate = one({**GN_RATES, "min": 0.005}, CELLS)
    worst = min(g["rate"] for g in rate.observed["groups"].values())
    assert rate.margin == pytest.approx((worst - 0.005) / 0.005)
    assert rate.noise is not None


def test_an_inconclusive_or_errored_claim_is_never_fragile():
    claim = {**threshold("final_rel", {"optimizer": "gn"}, "<", 1e-6), "min_seeds": 5}
    result = one(claim, CELLS)
    assert result.verdict == "INCONCLUSIVE" and not result.fragile and result.margin is None
