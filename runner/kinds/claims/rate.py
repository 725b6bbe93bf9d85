"""The ``rate`` claim kind."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from runner.kinds.claims.base import (
    OBSERVABLE,
    Stop,
    groups_field,
    verdict,
)
from runner.kinds.claims.figures import groups_figure
from runner.kinds.claims.margins import relative_margin, relative_noise
from runner.kinds.claims.seeds import Numbers, check_groups, spread
from runner.kinds.claims.selection import OneSelectionClaim, cell_ids, checked_groups, table
from runner.kinds.claims.sentences import group_sentence, in_cells, in_scope, seeds_text, word
from runner.kinds.observables import describe
from runner.text import number


class RateClaim(OneSelectionClaim):
    """A fitted rate lies, in every group, within ``rtol`` of ``expected_rate`` and/or within
    ``[min, max]`` (every condition given must hold)."""

    margin_text: ClassVar[str] = (
        "the fitted rate against the nearer edge of the acceptable band (`expected_rate` +- "
        "`rtol`, `min`, `max` combined), in the deciding group"
    )

    kind: Literal["rate"]
    observable: str = Field(description=OBSERVABLE + ", usually a `decay_rate`")
    groups: list[str] | None = groups_field()
    expected_rate: float | None = Field(
        None, description="the rate the paper predicts (give `rtol` with it)"
    )
    rtol: float | None = Field(
        None, gt=0, description="relative tolerance around `expected_rate` (0.3: within 30%)"
    )
    min: float | None = Field(None, description="the smallest acceptable rate")
    max: float | None = Field(None, description="the largest acceptable rate")

    example: ClassVar[dict[str, Any]] = {
        "id": "gn_rate_is_lr",
        "observable": "gn_rates",
        "where": {"optimizer": "gn"},
        "expected_rate": 0.01,
        "rtol": 0.3,
    }

    @model_validator(mode="after")
    def _bounded(self) -> RateClaim:
        if (self.expected_rate is None) != (self.rtol is None):
            raise ValueError("give expected_rate together with rtol")
        if self.expected_rate is None and self.min is None and self.max is None:
            raise ValueError("give expected_rate with rtol, or min and/or max")
        return self

    def expected_sentence(self, observables=None, metrics=None):
        tests = []
        if self.expected_rate is not None:
            rtol = f"{number(100 * self.rtol)}%" if self.rtol is not None else "(rtol missing)"
            tests.append(f"within {rtol} of {number(self.expected_rate)}")
        if self.min is not None and self.max is not None:
            tests.append(f"in [{number(self.min)}, {number(self.max)}]")
        elif self.min is not None:
            tests.append(f"at least {number(self.min)}")
        elif self.max is not None:
            tests.append(f"at most {number(self.max)}")
        group = word(self.observable, observables, metrics)
        return (
            f"{in_cells(self.where)}, {describe(self.observable, observables)} is "
            f"{' and '.join(tests) or '(no bound given)'}{in_scope(self.groups, group)} "
            f"({self.aggregate} over seeds)."
        )

    def band(self) -> list[float | None]:
        """The acceptable rates ``[low, high]`` (an open end None)."""
        lo, hi = self.min, self.max
        if self.expected_rate is not None and self.rtol is not None:
            spread = self.rtol * abs(self.expected_rate)
            lo = max(v for v in (lo, self.expected_rate - spread) if v is not None)
            hi = min(v for v in (hi, self.expected_rate + spread) if v is not None)
        return [lo, hi]

    def edge(self, rate: float) -> tuple[float, float]:
        """``(margin, edge)``: the relative margin of ``rate`` to the nearer edge of
        :meth:`band` (the smaller of the two), and that edge."""
        lo, hi = self.band()
        margins = []
        if lo is not None:
            margins.append((relative_margin(rate, lo, above=True), lo))
        if hi is not None:
            margins.append((relative_margin(rate, hi, above=False), hi))
        return min(margins, key=lambda pair: pair[0])

    def margin(self, rate: float) -> float:
        """The smallest of the margins of the conditions given (:meth:`edge`)."""
        return self.edge(rate)[0]

    def judge(self, context):
        if (self.expected_rate is None) != (self.rtol is None):
            raise Stop("ERROR", "give expected_rate and rtol together (or min and/or max)")
        if self.expected_rate is None and self.min is None and self.max is None:
            raise Stop("ERROR", "give expected_rate with rtol, or min and/or max")
        t = table(context, self.observable, self.where)
        groups, _ = checked_groups(self, [t], self.groups)
        how, (lo, hi) = self.aggregate, self.band()

        def test(x: Numbers) -> tuple[bool, float]:
            m = self.margin(x["rate"])
            return m >= 0, m

        def noise(g: str, columns: dict, x: Numbers) -> float | None:
            edge = self.edge(x["rate"])[1]
            return relative_noise(spread(columns["rate"], how), x["rate"], edge, t.max_error([g]))

        check = check_groups(
            {"rate": t}, groups, how, test, lambda x: {**x, "low": lo, "high": hi}, noise=noise
        )
        passed, margin, _ = check.decide("all")
        s = check.summary
        band = (
            f"in [{number(lo)}, {number(hi)}]"
            if lo is not None and hi is not None
            else (f">= {number(lo)}" if lo is not None else f"<= {number(hi)}")
        )
        if groups == [""]:
            seeds = seeds_text(how, len(t.seeds), s[""]["ci95"])
            sentence = f"Observed rate {number(s['']['rate'])} ({seeds}); expected {band}."
        else:
            sentence = group_sentence(check, t.word, how, band, lambda g: number(s[g]["rate"]))
        return self.result(
            context,
            verdict(passed),
            sentence,
            observed={"aggregate": how, "seeds": t.seeds, "band": [lo, hi], "groups": s},
            margin=margin,
            noise=check.noise("all"),
            evidence=check.evidence,
            cells=cell_ids([t]),
            groups=groups_figure(
                {t.label: {g: s[g]["rate"] for g in groups}}, self.observable, [lo, hi]
            ),
        )


__all__ = ["RateClaim"]
