"""The ``rate`` claim kind on synthetic cells (see helpers.py)."""

from __future__ import annotations

import dataclasses

import pytest

from runner.kinds.claims import Context
from tests.runner.kinds.claims.helpers import CELLS, one, run_cells


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


GN_RATE = {
    "kind": "rate",
    "observable": "rates",
    "where": {"optimizer": "gn"},
    "expected_rate": 0.01,
    "rtol": 0.1,
}


def test_rate_margin_is_relative_to_the_nearer_band_edge():
    result = one(GN_RATE, CELLS)
    groups = result.observed["groups"]
    # GN's fastest mode (1, 0.0102 x 1.01) is nearest the upper edge 0.011
    assert result.margin == pytest.approx((0.011 - groups["1"]["rate"]) / 0.011)
    assert result.margin == min(g["margin"] for g in groups.values())
    assert groups["3"]["margin"] == pytest.approx(
        min((groups["3"]["rate"] - 0.009) / 0.009, (0.011 - groups["3"]["rate"]) / 0.011)
    )
    ci = groups["1"]["ci95"]
    assert result.noise == pytest.approx((ci[1] - ci[0]) / 2 / 0.011)
    assert not result.fragile


def _with_errors(monkeypatch, error: float) -> None:
    """Every decay rate carries a numerical error (``Observed.errors``), as a fit's standard
    error does."""
    observe = Context.observe

    def with_errors(self, name, cell):
        observed = dataclasses.replace(observe(self, name, cell))
        if name == "rates":
            observed.errors = {g: error for g in observed.values}
        return observed

    monkeypatch.setattr(Context, "observe", with_errors)


def test_a_rate_standard_error_adds_to_the_noise_and_can_make_it_fragile(monkeypatch):
    _with_errors(monkeypatch, 1e-4)
    calm = one(GN_RATE, CELLS)
    ci = calm.observed["groups"]["1"]["ci95"]
    assert calm.noise == pytest.approx(((ci[1] - ci[0]) / 2 + 1e-4) / 0.011)
    assert calm.verdict == "PASS" and not calm.fragile
    _with_errors(monkeypatch, 1e-3)
    shaky = one(GN_RATE, CELLS)
    assert shaky.verdict == "PASS" and shaky.fragile
    assert shaky.fragile_reason.startswith("margin 0.0635 inside noise 0.1")
    # one seed: no seed spread, but the numerical error alone is a known noise
    single = one(GN_RATE, run_cells(seeds=(0,)))
    assert single.noise == pytest.approx(1e-3 / 0.011)
    assert "noise_unknown" not in single.observed
