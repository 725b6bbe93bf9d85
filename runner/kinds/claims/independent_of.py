"""The ``independent_of`` claim kind."""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import Field

from runner.kinds.claims.axis import AxisClaim
from runner.kinds.claims.base import Stop
from runner.kinds.claims.margins import relative_margin, relative_noise
from runner.kinds.claims.seeds import spread
from runner.kinds.claims.selection import cell_ids
from runner.text import number


class IndependentOfClaim(AxisClaim):
    """The seed-aggregated observable varies by at most ``max_factor`` (max/min; positive values
    only) across the values of a sweep key ``axis``."""

    margin_text: ClassVar[str] = (
        "the max/min ratio of the seed-aggregated values along `axis` against `max_factor`, "
        "in the deciding group"
    )

    kind: Literal["independent_of"]
    max_factor: float = Field(
        gt=1, description="the largest allowed max/min of the observable across the axis values"
    )

    example: ClassVar[dict[str, Any]] = {
        "id": "gn_rate_independent_of_alpha",
        "observable": "gn_rates",
        "axis": "model.alpha",
        "where": {"optimizer": "gn"},
        "max_factor": 1.5,
    }

    def expectation(self):
        return f"varies by at most a factor {number(self.max_factor)} (max/min) across {self.axis}"

    def precheck(self, data):
        for g, seq in data.series.items():
            for t, v in zip(data.tables, seq, strict=True):
                if v <= 0:
                    where = t.label + (f" {data.word} {g}" if g else "")
                    reason = (
                        f"max/min factor undefined for non-positive values ({where} = {number(v)})"
                    )
                    raise Stop("INCONCLUSIVE", reason, cell_ids(data.tables))

    def test(self, seq):
        factor = max(seq) / min(seq) if min(seq) > 0 else math.inf
        return factor <= self.max_factor, relative_margin(factor, self.max_factor, above=False)

    def noise(self, seq, seeds, errors):
        # each seed's own max/min factor; the relative errors of the aggregate's two ends add up
        own = [max(s) / min(s) if min(s) > 0 else math.inf for s in seeds]
        hi = max(range(len(seq)), key=seq.__getitem__)
        lo = min(range(len(seq)), key=seq.__getitem__)
        factor = seq[hi] / seq[lo] if seq[lo] > 0 else math.inf
        numerical = factor * (errors[hi] / seq[hi] + errors[lo] / seq[lo]) if seq[lo] > 0 else 0.0
        return relative_noise(spread(own, self.aggregate), factor, self.max_factor, numerical)

    def group_phrase(self):
        return f"within a factor {number(self.max_factor)} across {self.axis}"

    def verdict_text(self, seq, passed):
        return f"factor {number(max(seq) / min(seq))}, allowed {number(self.max_factor)}"


__all__ = ["IndependentOfClaim"]
