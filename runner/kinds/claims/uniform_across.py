"""The ``uniform_across`` claim kind."""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from runner.kinds.claims.base import (
    Stop,
    groups_field,
    verdict,
)
from runner.kinds.claims.figures import groups_figure
from runner.kinds.claims.margins import relative_margin, relative_noise
from runner.kinds.claims.seeds import aggregate, ci, per_seed, spread
from runner.kinds.claims.selection import (
    OneSelectionClaim,
    cell_ids,
    checked_groups,
    distinct,
    table,
)
from runner.kinds.claims.sentences import clip, in_cells, list_text, scope, seeds_text, word
from runner.kinds.observables import describe
from runner.results import Evidence
from runner.text import count, number


class UniformAcrossClaim(OneSelectionClaim):
    """The spread of the observable across groups, per seed then aggregated: ``max_min_ratio``
    (+inf when some group is <= 0 while another is positive; undefined, INCONCLUSIVE, when none is
    positive) or ``cv`` (population std / |mean|), at most ``max`` and/or at least ``min``."""

    margin_text: ClassVar[str] = (
        "the seed-aggregated statistic (max/min ratio or cv) against `max` and/or `min`"
    )

    kind: Literal["uniform_across"]
    groups: list[str] | None = groups_field()
    statistic: Literal["max_min_ratio", "cv"] = Field(
        "max_min_ratio",
        description="the spread across groups: `max_min_ratio`, largest over smallest value; "
        "`cv`, standard deviation over |mean|",
    )
    max: float | None = Field(None, description="the spread is at most this (uniform)")
    min: float | None = Field(None, description="the spread is at least this (not uniform)")

    example: ClassVar[dict[str, Any]] = {
        "id": "gn_uniform",
        "observable": "gn_rates",
        "where": {"optimizer": "gn"},
        "max": 2,
    }

    @model_validator(mode="after")
    def _bounded(self) -> UniformAcrossClaim:
        if self.max is None and self.min is None:
            raise ValueError("give max and/or min")
        return self

    def expected_sentence(self, observables=None, metrics=None):
        group = word(self.observable, observables, metrics)
        stat = "max/min ratio" if self.statistic == "max_min_ratio" else "coefficient of variation"
        bounds = [f"at most {number(self.max)}"] if self.max is not None else []
        bounds += [f"at least {number(self.min)}"] if self.min is not None else []
        return (
            f"{in_cells(self.where)}, the {stat} of {describe(self.observable, observables)} "
            f"across {scope(self.groups, group, 'its')} is "
            f"{' and '.join(bounds) or '(no bound given)'} ({self.aggregate} over seeds)."
        )

    def ok(self, x: float) -> bool:
        return (self.max is None or x <= self.max) and (self.min is None or x >= self.min)

    def edge(self, x: float) -> tuple[float, float]:
        """``(margin, bound)``: the relative margin of the statistic ``x`` to the nearer of
        ``max`` and ``min`` (the smaller of the two), and that bound."""
        margins = (
            [(relative_margin(x, self.max, above=False), self.max)] if self.max is not None else []
        )
        margins += (
            [(relative_margin(x, self.min, above=True), self.min)] if self.min is not None else []
        )
        return min(margins, key=lambda pair: pair[0])

    def margin(self, x: float) -> float:
        """The relative margin of the statistic (:meth:`edge`)."""
        return self.edge(x)[0]

    def numerical(self, values: dict[str, float], errors: dict[str, float], stat: float) -> float:
        """The statistic's numerical error from its values' errors (first order): a ratio's
        relative errors add at its two ends; a cv moves by at most ``e (1 + cv) / |mean|``."""
        if not any(errors.values()) or not math.isfinite(stat):
            return 0.0
        if self.statistic == "max_min_ratio":
            lo, hi = min(values, key=values.__getitem__), max(values, key=values.__getitem__)
            return stat * (errors[hi] / abs(values[hi]) + errors[lo] / abs(values[lo]))
        mean = abs(float(np.mean(list(values.values()))))
        return max(errors.values()) * (1 + stat) / mean

    def judge(self, context):
        if self.max is None and self.min is None:
            raise Stop("ERROR", "give max and/or min")
        t = table(context, self.observable, self.where)
        groups, _ = checked_groups(self, [t], self.groups)
        if len(groups) < 2:
            raise Stop("INCONCLUSIVE", f"a spread needs at least 2 groups, got {groups}")
        how, w, n = self.aggregate, t.word, len(t.seeds)
        ratio = self.statistic == "max_min_ratio"
        name = "max/min ratio" if ratio else "cv"
        for s in t.seeds:
            values = {g: t.at(s, g) for g in groups}
            if ratio and max(values.values()) <= 0:
                listed = clip([f"{w} {g} = {number(v)}" for g, v in values.items()], ", ")
                reason = f"max/min ratio undefined: no positive value (seed {s}: {listed})"
                raise Stop("INCONCLUSIVE", reason, cell_ids([t]))
            if not ratio and np.mean(list(values.values())) == 0:
                raise Stop("INCONCLUSIVE", f"cv undefined: seed {s} has mean 0", cell_ids([t]))

        def statistic(v: np.ndarray) -> float:
            # A group at or below zero while another is positive (a mode that stalls or grows
            # while others decay) makes the spread unbounded: the ratio is +inf.
            if ratio:
                return float(v.max() / v.min()) if v.min() > 0 else math.inf
            return float(v.std() / abs(v.mean()))

        seeds = per_seed(t, groups, statistic)
        evidence, numerical, unbounded = [], 0.0, {}
        for s, stat in seeds.items():
            values = {g: t.at(s, g) for g in groups}
            errors = {g: t.error(s, g) for g in groups}
            numerical = max(numerical, self.numerical(values, errors, stat))
            if ratio and math.isinf(stat):
                unbounded[s] = [g for g in groups if values[g] <= 0]
            lo_g, hi_g = min(values, key=values.__getitem__), max(values, key=values.__getitem__)
            row = {
                name: stat,
                "min": values[lo_g],
                "min at": f"{w} {lo_g}",
                "max": values[hi_g],
                "max at": f"{w} {hi_g}",
            }
            evidence.append(Evidence(f"s{s}", row, t.cells[s].cell_id, self.ok(stat)))
        x, x_ci = aggregate(list(seeds.values()), how), ci(list(seeds.values()), how)
        passed = self.ok(x)
        evidence.append(
            Evidence(
                f"{how} over {count(n, 'seed')}",
                {name: x, "bound max": self.max, "bound min": self.min},
                None,
                passed,
            )
        )
        agg = {g: aggregate(t.column(g), how) for g in groups}
        ranked = sorted(groups, key=agg.__getitem__)
        low = ranked[: 2 if len(groups) >= 4 else 1]
        sentence = (
            f"Observed {name} {number(x)} ({seeds_text(how, n, x_ci)})"
            + self._unbounded(unbounded, x, w, n)
            + "; smallest: "
            + ", ".join(f"{w} {g} ({number(agg[g])})" for g in low)
            + f"; largest: {w} {ranked[-1]} ({number(agg[ranked[-1]])})."
        )
        observed = {
            "aggregate": how,
            "seeds": t.seeds,
            "statistic": self.statistic,
            "value": x,
            "ci95": x_ci,
            "per_seed": seeds,
            "groups": agg,
        }
        return self.result(
            context,
            verdict(passed),
            sentence,
            observed=observed,
            margin=self.margin(x),
            noise=relative_noise(spread(list(seeds.values()), how), x, self.edge(x)[1], numerical),
            evidence=evidence,
            cells=cell_ids([t]),
            groups=groups_figure({t.label: agg}, self.observable),
        )

    @staticmethod
    def _unbounded(unbounded: dict[int, list[str]], x: float, w: str, n: int) -> str:
        """Why a max/min ratio is +inf: the groups <= 0 (per seed when they differ)."""
        if not unbounded:
            return ""

        def named(groups: list[str]) -> str:
            return f"{w} {list_text(groups)}" if len(groups) == 1 else f"{w}s {list_text(groups)}"

        where = ""
        if len({tuple(groups) for groups in unbounded.values()}) > 1:
            # different groups in different seeds: say which in which
            listed = " and ".join(f"{named(g)} in seed {seed}" for seed, g in unbounded.items())
            verb = "are"
        else:
            groups = distinct(g for groups in unbounded.values() for g in groups)
            listed, verb = named(groups), "is" if len(groups) == 1 else "are"
            if len(unbounded) < n:
                seeds = list_text(list(unbounded))
                where = f" in seed{'' if len(unbounded) == 1 else 's'} {seeds}"
        lead = ": unbounded" if math.isinf(x) else "; unbounded"
        return f"{lead}{where}, because {listed} {verb} <= 0 while other {w}s are positive"


__all__ = ["UniformAcrossClaim"]
