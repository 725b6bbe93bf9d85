"""The ``compare`` claim kind."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from runner.kinds.base import Where
from runner.kinds.claims.base import ClaimBase, Comparison, Side, Stop, groups_field, verdict
from runner.kinds.claims.figures import groups_figure
from runner.kinds.claims.margins import relative_margin, relative_noise
from runner.kinds.claims.seeds import OPS, Numbers, check_groups, spread, total
from runner.kinds.claims.selection import (
    cell_ids,
    checked_groups,
    distinct,
    for_each_record,
    for_each_sentence,
    for_each_values,
    table,
)
from runner.kinds.claims.sentences import (
    apart,
    capital,
    clip,
    group_name,
    group_sentence,
    in_scope,
    where_text,
    word,
)
from runner.kinds.observables import describe
from runner.results import Evidence
from runner.text import count, number, value


class CompareClaim(ClaimBase):
    """``left op factor * right`` per group, each side aggregated over its own seeds; ``all``,
    ``any`` or a fraction in (0, 1] of the groups must satisfy it. With a ``factor`` other than 1
    the claim is a ratio: a right-hand value <= 0 in a judged group makes it INCONCLUSIVE."""

    margin_text: ClassVar[str] = (
        "the left side against `factor` x the right side, in the deciding group (at the "
        "deciding `for_each` value)"
    )

    kind: Literal["compare"]
    left: Side = Field(description="the left-hand side: an observable in the cells of its `where`")
    right: Side = Field(description="the right-hand side, multiplied by `factor`")
    op: Comparison = Field(description="how the left side compares with `factor` x the right")
    factor: float = Field(1.0, description="multiplies the right-hand side")
    groups: list[str] | None = groups_field()
    reduce: Literal["all", "any"] | Annotated[float, Field(gt=0, le=1)] = Field(
        "all",
        description="`all` or `any` of the groups, or the fraction in (0, 1] of them, must "
        "satisfy the comparison",
    )
    for_each: str | None = Field(
        None,
        description="a sweep key: compare at every value of it (both sides restricted to that "
        "value); it must hold at all",
    )

    example: ClassVar[dict[str, Any]] = {
        "id": "gn_beats_gd",
        "left": {"observable": "final_error", "where": {"optimizer": "gd"}},
        "right": {"observable": "final_error", "where": {"optimizer": "gn"}},
        "op": ">",
        "factor": 10,
    }

    def figure_observable(self):
        return self.left.observable

    def selections(self, context):
        return [
            (f"left: {where_text(self.left.where)}", self.left.where),
            (f"right: {where_text(self.right.where)}", self.right.where),
        ]

    def sweep_refs(self):
        return [(("for_each",), self.for_each)] if self.for_each is not None else []

    def expected_sentence(self, observables=None, metrics=None):
        left = f"{describe(self.left.observable, observables)} in {where_text(self.left.where)}"
        right = f"{describe(self.right.observable, observables)} in {where_text(self.right.where)}"
        factor = f"{number(self.factor)} x " if self.factor != 1 else ""
        group = word(self.left.observable, observables, metrics)
        if self.reduce == "all":
            reduce = in_scope(self.groups, group)
        elif self.reduce == "any":
            reduce = in_scope(self.groups, group, "in at least one of", "its")
        else:
            share = number(100 * float(self.reduce))
            reduce = in_scope(self.groups, group or "group", f"in at least {share}% of", "its")
        each = f" at every value of {self.for_each}" if self.for_each else ""
        return (
            f"{capital(left)} is {self.op} {factor}{right}{reduce}{each} "
            f"({self.aggregate} over seeds)."
        )

    def judge(self, context):
        if not isinstance(self.reduce, str) and not 0 < self.reduce <= 1:
            raise Stop(
                "ERROR", f"reduce must be all, any or a fraction in (0, 1], got {self.reduce}"
            )
        if self.for_each is None:
            part = self._compare(context, {})
            return self.result(
                context,
                verdict(part.passed),
                part.sentence,
                observed=part.observed,
                margin=part.margin,
                noise=part.noise,
                evidence=part.evidence,
                cells=part.cells,
                groups=groups_figure(part.values, self.left.observable),
            )
        return self._judge_for_each(context)

    def _judge_for_each(self, context):
        """The comparison at every value of ``for_each``: all must hold; a value where a side
        has no cell or a missing value ends the claim as :meth:`_compare` does."""
        key = self.for_each
        points = for_each_values(context, (self.left.where, self.right.where), key)
        parts = [(p, self._compare(context, {key: p})) for p in points]
        passed = all(part.passed for _, part in parts)
        deciding = min((part for _, part in parts), key=lambda part: part.margin)
        sentence = for_each_sentence(key, [(p, part.sentence, part.passed) for p, part in parts])
        observed, evidence = for_each_record(
            key, [(p, part.observed, part.evidence) for p, part in parts]
        )
        figure_values: dict[str, dict[str, float]] = {}
        if all(part.groups == [""] for _, part in parts):
            for p, part in parts:
                for label, per_group in part.values.items():
                    figure_values.setdefault(label, {})[value(p)] = per_group[""]
        return self.result(
            context,
            verdict(passed),
            sentence,
            observed=observed,
            margin=deciding.margin,
            noise=deciding.noise,
            evidence=evidence,
            cells=distinct(c for _, part in parts for c in part.cells),
            groups=groups_figure(figure_values, self.left.observable) if figure_values else None,
        )

    def _compare(self, context, extra: Where) -> _Comparison:
        left_where, right_where = {**self.left.where, **extra}, {**self.right.where, **extra}
        left = table(context, self.left.observable, left_where, "left")
        right = table(context, self.right.observable, right_where, "right")
        groups, dropped = checked_groups(self, [left, right], self.groups)
        how, f = self.aggregate, self.factor
        above = self.op in (">", ">=")

        def test(x: Numbers) -> tuple[bool, float]:
            bound = f * x["right"]
            return OPS[self.op](x["left"], bound), relative_margin(x["left"], bound, above)

        def noise(g: str, columns: dict, x: Numbers) -> float | None:
            right_spread = spread(columns["right"], how)
            seeds = total(
                spread(columns["left"], how),
                None if right_spread is None else abs(f) * right_spread,
            )
            numerical = left.max_error([g]) + abs(f) * right.max_error([g])
            return relative_noise(seeds, x["left"], f * x["right"], numerical)

        check = check_groups(
            {"left": left, "right": right},
            groups,
            how,
            test,
            lambda x: {
                "left": x["left"],
                "op": self.op,
                "factor * right": f * x["right"],
                "right": x["right"],
            },
            noise=noise,
        )
        s = check.summary
        if f != 1:
            self._check_ratio(left, right, groups, s, right_where)
        passed, margin, need = check.decide(self.reduce)

        def versus(g: str) -> str:
            """``left 1.48 vs 10 x right 4.15 = 41.5`` (``left 1.48 vs right 4.15``)."""
            shown = apart(s[g]["left"], f * s[g]["right"])
            return f"left {shown} vs {self._right(s[g]['right'])}"

        if groups == [""]:
            sentence = (
                f"Observed left {apart(s['']['left'], f * s['']['right'])} "
                f"{'' if passed else 'not '}{self.op} {self._right(s['']['right'])} "
                f"({how} over {len(left.seeds)} and {count(len(right.seeds), 'seed')})."
            )
        else:
            times = f"{number(f)} x " if f != 1 else ""
            what = f"with left {self.op} {times}right (needed {need})"
            sentence = group_sentence(check, left.word, how, what, versus)
        observed = {
            "aggregate": how,
            "left_seeds": left.seeds,
            "right_seeds": right.seeds,
            "groups": s,
        }
        if dropped:
            observed["groups_dropped"] = dropped
        values = {
            f"left: {where_text(self.left.where)}": {g: s[g]["left"] for g in groups},
            f"{number(f)} x right: {where_text(self.right.where)}": {
                g: f * s[g]["right"] for g in groups
            },
        }
        return _Comparison(
            passed,
            margin,
            check.noise(self.reduce),
            sentence,
            observed,
            values,
            list(check.evidence),
            cell_ids([left, right]),
            groups,
        )

    def _right(self, right: float) -> str:
        """``10 x right 4.15 = 41.5``; ``right 4.15`` with factor 1."""
        if self.factor == 1:
            return f"right {number(right)}"
        return f"{number(self.factor)} x right {number(right)} = {number(self.factor * right)}"

    def _check_ratio(self, left, right, groups, summary, right_where) -> None:
        """A factor comparison is a ratio: INCONCLUSIVE where the right-hand value is <= 0
        (``left > 3 x right`` says nothing against a zero delay)."""
        bad = [g for g in groups if not summary[g]["right"] > 0]
        if not bad:
            return
        where = where_text(right_where)
        if groups == [""]:
            at = number(summary[""]["right"])
        else:
            at = clip([f"{group_name(right.word, g)} = {number(summary[g]['right'])}" for g in bad])
        raise Stop(
            "INCONCLUSIVE",
            f"the right-hand value is not positive ({self.right.observable} in {where}: {at}), "
            f"so left {self.op} {number(self.factor)} x right is not a ratio",
            cell_ids([left, right]),
        )


@dataclass
class _Comparison:
    """One comparison of :class:`CompareClaim` (at one ``for_each`` value)."""

    passed: bool
    margin: float
    noise: float | None
    sentence: str
    observed: dict[str, Any]
    values: dict[str, dict[str, float]]
    evidence: list[Evidence]
    cells: list[str]
    groups: list[str]


__all__ = ["CompareClaim"]
