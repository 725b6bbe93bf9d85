"""The ``extreme_group`` claim kind on synthetic cells (see helpers.py): GD's rates fall with the
mode index (0.01 .. 0.0005), so its slowest mode is mode 4 and its fastest mode 0."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.runner.kinds.claims.helpers import CELLS, make_spec, one

GD_SLOWEST = {
    "kind": "extreme_group",
    "observable": "rates",
    "where": {"optimizer": "gd"},
    "which": "argmin",
    "in": ["3", "4"],
}


def test_expected_sentence_names_the_extreme_and_the_groups():
    result = one(GD_SLOWEST, CELLS)
    assert result.expected_sentence == (
        "In cells with optimizer=gd, the decay rate of fft_error on steps 100..1000 (rates) is "
        "smallest in one of modes 3, 4, among its modes (median over seeds)."
    )
    among = one({**GD_SLOWEST, "which": "argmax", "in": ["0"], "groups": ["0", "1", "2"]}, CELLS)
    assert "is largest in mode 0, among modes 0..2 (median" in among.expected_sentence


def test_pass_when_the_extreme_is_inside():
    result = one(GD_SLOWEST, CELLS)
    assert result.verdict == "PASS"
    assert result.observed_sentence == (
        "Observed (median over 3 seeds): smallest in mode 4 (0.000505), one of modes 3, 4; the "
        "smallest elsewhere: mode 2 (0.00202); per seed in modes 3, 4 in 3 of 3 seeds."
    )
    # margin: the best inside (mode 4) against the best outside (mode 2), relative to the latter
    assert result.margin == pytest.approx((0.002 - 0.0005) / 0.002)
    assert result.observed["extreme"] == "4" and result.observed["per_seed"] == dict.fromkeys(
        [0, 1, 2], "4"
    )
    assert result.noise is not None and result.noise > 0 and not result.fragile
    assert [e.passed for e in result.evidence] == [True] * 4
    assert result.figure["groups"]["values"]["optimizer=gd"]["4"] == pytest.approx(0.000505)


def test_fail_when_the_extreme_is_outside():
    result = one({**GD_SLOWEST, "which": "argmax"}, CELLS)
    assert result.verdict == "FAIL"
    assert result.observed_sentence == (
        "Observed (median over 3 seeds): largest in mode 0 (0.0101), not one of modes 3, 4; "
        "the largest of modes 3, 4: mode 3 (0.00101); per seed in modes 3, 4 in 0 of 3 seeds."
    )
    assert result.margin == pytest.approx((0.001 - 0.01) / 0.01)  # -0.9
    fastest = one({**GD_SLOWEST, "which": "argmax", "in": ["0"]}, CELLS)
    assert "largest in mode 0 (0.0101), as claimed; the largest elsewhere: mode 1" in (
        fastest.observed_sentence
    )
    slowest = one({**GD_SLOWEST, "in": ["0"]}, CELLS)
    assert "smallest in mode 4 (0.000505), not mode 0; mode 0 has 0.0101; per seed" in (
        slowest.observed_sentence
    )
    assert fastest.verdict == "PASS" and fastest.margin == pytest.approx((0.01 - 0.005) / 0.005)


def test_groups_restrict_where_the_extreme_is_looked_for():
    # among modes 0..2 GD's slowest is mode 2
    result = one({**GD_SLOWEST, "in": ["2"], "groups": ["0", "1", "2"]}, CELLS)
    assert result.verdict == "PASS" and result.margin == pytest.approx((0.005 - 0.002) / 0.005)


def test_inconclusive_and_error():
    few = one({**GD_SLOWEST, "min_seeds": 4}, CELLS)
    assert few.verdict == "INCONCLUSIVE" and "fewer than min_seeds=4" in few.reason
    nobody = one(GD_SLOWEST, [c for c in CELLS if c.optimizer != "gd"])
    assert nobody.verdict == "INCONCLUSIVE" and "no cell matches" in nobody.reason
    late = one({**GD_SLOWEST, "observable": "err_1e-4"}, CELLS)  # modes 3, 4 never get there
    assert late.verdict == "INCONCLUSIVE" and "never crossed" in late.reason
    typo = one({**GD_SLOWEST, "in": ["4", "44"]}, CELLS)
    assert typo.verdict == "ERROR" and "`in` names modes the observable lacks: 44" in typo.reason
    everything = one({**GD_SLOWEST, "in": ["0", "1", "2", "3", "4"]}, CELLS)
    assert everything.verdict == "ERROR" and "cannot fail" in everything.reason


def test_ill_posed_claims_are_spec_errors():
    claim = {"id": "x", **GD_SLOWEST}
    with pytest.raises(ValidationError, match="`in` names \\['4'\\], which `groups` leaves out"):
        make_spec([{**claim, "groups": ["1", "2", "3"]}])
    with pytest.raises(ValidationError, match="every group is in `in`"):
        make_spec([{**claim, "groups": ["3", "4"]}])
    with pytest.raises(ValidationError, match="repeats a group"):
        make_spec([{**claim, "in": ["4", "4"]}])
    with pytest.raises(ValidationError):
        make_spec([{**claim, "in": []}])
    with pytest.raises(ValidationError):
        make_spec([{**claim, "which": "max"}])
