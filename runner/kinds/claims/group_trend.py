"""The ``group_trend`` claim kind."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from runner.kinds.base import SpecRuleError
from runner.kinds.claims.base import Stop, verdict
from runner.kinds.claims.figures import groups_figure
from runner.kinds.claims.margins import relative_margin, relative_noise
from runner.kinds.claims.seeds import aggregate, spread, total
from runner.kinds.claims.selection import OneSelectionClaim, cell_ids, checked_groups, table
from runner.kinds.claims.sentences import clip, in_cells, scope, seeds_text, word
from runner.kinds.observables import describe
from runner.results import Evidence
from runner.text import count, number


class GroupTrendClaim(OneSelectionClaim):
    """Along the groups in order (the metric's label order, or ``order``) the seed-aggregated
    observable increases or decreases (not strictly: equal neighbours are in order), with at
    most ``max_violations`` adjacent pairs out of order: "GD's remaining error grows with the
    mode index". The margin is that of the pair that decides: the (``max_violations`` + 1)-th
    smallest relative step in ``direction``."""

    margin_text: ClassVar[str] = (
        "the step from one group to the next in `direction`, relative to the first of the two, "
        "in the deciding pair (with `max_violations` k, the k+1-th smallest)"
    )

    kind: Literal["group_trend"]
    direction: Literal["increasing", "decreasing"] = Field(
        description="how the observable runs along the groups (not strictly)"
    )
    order: list[str] | None = Field(
        None,
        min_length=2,
        description="the groups, by label, in the order the trend runs along; null: every group "
        "of the observable in the metric's order",
    )
    max_violations: int = Field(0, ge=0, description="how many adjacent pairs may be out of order")

    example: ClassVar[dict[str, Any]] = {
        "id": "gd_slower_at_high_modes",
        "observable": "gd_rates",
        "where": {"optimizer": "gd"},
        "direction": "decreasing",
    }

    def check(self, observables):
        if self.order is None:
            return
        if len(set(self.order)) < len(self.order):
            raise SpecRuleError(("order",), f"claim {self.id!r}: `order` repeats a group")
        if self.max_violations >= len(self.order) - 1:
            raise SpecRuleError(
                ("max_violations",),
                f"claim {self.id!r}: {len(self.order) - 1} adjacent pairs and max_violations="
                f"{self.max_violations}: the claim cannot fail",
            )

    def expected_sentence(self, observables=None, metrics=None):
        group = word(self.observable, observables, metrics) or "group"
        along = scope(self.order, group) if self.order is not None else f"its {group}s in order"
        allowed = (
            f", at most {count(self.max_violations, 'adjacent pair')} out of order"
            if self.max_violations
            else ""
        )
        return (
            f"{in_cells(self.where)}, {describe(self.observable, observables)} is "
            f"{self.direction} (not strictly) along {along}{allowed} ({self.aggregate} over "
            "seeds)."
        )

    def _step(self, lower: float, upper: float) -> float:
        """The relative step from ``lower`` to ``upper`` in ``direction`` (:mod:`.margins`)."""
        return relative_margin(upper, lower, above=self.direction == "increasing")

    def _violations(self, seq: list[float]) -> int:
        up = self.direction == "increasing"
        return sum((b < a) if up else (b > a) for a, b in zip(seq, seq[1:], strict=False))

    def judge(self, context):
        t = table(context, self.observable, self.where)
        groups, _ = checked_groups(self, [t], self.order)
        w, how, n = t.word, self.aggregate, len(t.seeds)
        if len(groups) < 2:
            raise Stop("INCONCLUSIVE", f"a trend needs 2 {w}s or more, got {groups}")
        pairs = list(zip(groups, groups[1:], strict=False))
        agg = {g: aggregate(t.column(g), how) for g in groups}
        seq = [agg[g] for g in groups]
        steps = {(a, b): self._step(agg[a], agg[b]) for a, b in pairs}
        out = [p for p in pairs if self._violations([agg[p[0]], agg[p[1]]])]
        passed = len(out) <= self.max_violations
        ranked = sorted(pairs, key=steps.__getitem__)
        deciding = ranked[self.max_violations] if self.max_violations < len(pairs) else None
        margin = noise = None
        if deciding is not None:
            a, b = deciding
            margin = steps[deciding]
            seeds_noise = total(spread(t.column(a), how), spread(t.column(b), how))
            numerical = t.max_error([a]) + t.max_error([b])
            noise = relative_noise(seeds_noise, agg[b], agg[a], numerical)

        evidence = []
        for s in t.seeds:
            values = [t.at(s, g) for g in groups]
            bad = self._violations(values)
            row = {"out of order": bad, "allowed": self.max_violations}
            evidence.append(Evidence(f"s{s}", row, t.cells[s].cell_id, bad <= self.max_violations))
        for a, b in pairs:
            row = {"from": agg[a], "to": agg[b], "relative step": steps[(a, b)]}
            label = f"{how} over {count(n, 'seed')} {w} {a} -> {b}"
            evidence.append(Evidence(label, row, None, (a, b) not in out))

        def shown(pair: tuple[str, str]) -> str:
            a, b = pair
            return f"{a} -> {b} ({number(agg[a])} -> {number(agg[b])})"

        sentence = (
            f"Observed ({seeds_text(how, n)}): {len(out)} of {count(len(pairs), 'adjacent pair')} "
            f"out of order (allowed {self.max_violations})"
        )
        if out:
            sentence += f": {w} " + clip([shown(p) for p in out], ", ")
        else:
            sentence += f"; the smallest step: {w} {shown(ranked[0])}"
        observed = {
            "aggregate": how,
            "seeds": t.seeds,
            "order": groups,
            "groups": agg,
            "violations": [list(p) for p in out],
            "sequence": seq,
        }
        return self.result(
            context,
            verdict(passed),
            sentence + ".",
            observed=observed,
            margin=margin,
            noise=noise,
            evidence=evidence,
            cells=cell_ids([t]),
            groups=groups_figure({t.label: agg}, self.observable),
        )


__all__ = ["GroupTrendClaim"]
