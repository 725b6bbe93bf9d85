"""The ``threshold`` claim kind."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from runner.kinds.claims.base import (
    Comparison,
    GroupReduce,
    groups_field,
    verdict,
)
from runner.kinds.claims.figures import groups_figure
from runner.kinds.claims.margins import relative_margin, relative_noise
from runner.kinds.claims.seeds import (
    AGGREGATES,
    OPS,
    Numbers,
    aggregate,
    check_groups,
    ci,
    per_seed,
    spread,
)
from runner.kinds.claims.selection import (
    OneSelectionClaim,
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
    group_sentence,
    in_cells,
    in_scope,
    scope,
    seeds_text,
    word,
)
from runner.kinds.observables import describe
from runner.results import Evidence
from runner.text import count, number


class ThresholdClaim(OneSelectionClaim):
    """The observable against a fixed value: in every group (``all``), in some group (``any``),
    or after reducing each seed's groups (``max``/``min``/``median``/``mean``). With
    ``for_each`` the selection is split by a sweep key and the bound must hold at every value
    of it (the margin is the smallest)."""

    margin_text: ClassVar[str] = (
        "the seed-aggregated value (of the deciding group, or the reduction over groups) "
        "against `value`"
    )

    kind: Literal["threshold"]
    groups: list[str] | None = groups_field()
    reduce: GroupReduce = Field(
        "all",
        description="`all`: every group meets the bound; `any`: at least one does; `max`, "
        "`min`, `median`, `mean`: each seed's groups reduced to one number, which meets it",
    )
    op: Comparison = Field(description="how the observable compares with `value`")
    value: float = Field(description="the bound, in the observable's units")
    for_each: str | None = Field(
        None,
        description="a sweep key: judge at every value of it (the selection restricted to that "
        "value); the bound must hold at all",
    )

    example: ClassVar[dict[str, Any]] = {
        "id": "gd_keeps_error",
        "observable": "gd_final",
        "where": {"optimizer": "gd"},
        "op": ">",
        "value": 0.5,
    }

    def expected_sentence(self, observables=None, metrics=None):
        group, subject = (
            word(self.observable, observables, metrics),
            describe(self.observable, observables),
        )
        test = f"{self.op} {number(self.value)}"
        if self.reduce == "all":
            body = f"{subject} is {test}{in_scope(self.groups, group)}"
        elif self.reduce == "any":
            body = f"{subject} is {test}{in_scope(self.groups, group, 'in one of', 'its')}"
        else:
            body = (
                f"the {self.reduce} over {scope(self.groups, group, 'its')} of {subject} is {test}"
            )
        each = f" at every value of {self.for_each}" if self.for_each else ""
        return f"{in_cells(self.where)}, {body}{each} ({self.aggregate} over seeds)."

    def sweep_refs(self):
        return [(("for_each",), self.for_each)] if self.for_each is not None else []

    def judge(self, context):
        if self.for_each is not None:
            return self._judge_for_each(context)
        t = table(context, self.observable, self.where)
        groups, _ = checked_groups(self, [t], self.groups)
        if self.reduce in ("all", "any"):
            return self._per_group(context, t, groups)
        return self._reduced(context, t, groups)

    def _judge_for_each(self, context):
        """The claim at every value of ``for_each``, each judged as a claim of its own whose
        ``where`` adds that value; all must hold. A value that ends early (:class:`Stop`) ends
        the claim."""
        key = self.for_each
        points = for_each_values(context, [self.where], key)
        parts = [
            (p, self.model_copy(update={"where": {**self.where, key: p}, "for_each": None}))
            for p in points
        ]
        judged = [(p, claim.judge(context)) for p, claim in parts]
        passed = all(part.verdict == "PASS" for _, part in judged)
        margins = [part for _, part in judged if part.margin is not None]
        deciding = min(margins, key=lambda part: part.margin) if margins else None
        sentence = for_each_sentence(
            key, [(p, part.observed_sentence, part.verdict == "PASS") for p, part in judged]
        )
        observed, evidence = for_each_record(
            key, [(p, part.observed, part.evidence) for p, part in judged]
        )
        return self.result(
            context,
            verdict(passed),
            sentence,
            observed=observed,
            margin=None if deciding is None else deciding.margin,
            noise=None if deciding is None else deciding.noise,
            evidence=evidence,
            cells=distinct(c for _, part in judged for c in part.cells),
        )

    def above(self) -> bool:
        return self.op in (">", ">=")

    def _per_group(self, context, t, groups):
        how, bound = self.aggregate, self.value

        def test(x: Numbers) -> tuple[bool, float]:
            return OPS[self.op](x["value"], bound), relative_margin(x["value"], bound, self.above())

        def noise(g: str, columns: dict, x: Numbers) -> float | None:
            return relative_noise(
                spread(columns["value"], how), x["value"], bound, t.max_error([g])
            )

        check = check_groups(
            {"value": t},
            groups,
            how,
            test,
            lambda x: {**x, "op": self.op, "bound": bound},
            noise=noise,
        )
        passed, margin, _ = check.decide(self.reduce)
        s = check.summary
        if groups == [""]:
            sentence = (
                f"Observed {apart(s['']['value'], bound)} "
                f"({seeds_text(how, len(t.seeds), s['']['ci95'])}), "
                f"{'' if passed else 'not '}{self.op} {number(bound)}."
            )
        else:
            what = f"{self.op} {number(bound)}"
            sentence = group_sentence(check, t.word, how, what, lambda g: number(s[g]["value"]))
        band = [None, bound] if self.op in ("<", "<=") else [bound, None]
        return self.result(
            context,
            verdict(passed),
            sentence,
            observed={"aggregate": how, "seeds": t.seeds, "groups": s},
            margin=margin,
            noise=check.noise(self.reduce),
            evidence=check.evidence,
            cells=cell_ids([t]),
            groups=groups_figure(
                {t.label: {g: s[g]["value"] for g in groups}}, self.observable, band
            ),
        )

    def _reduced(self, context, t, groups):
        how, n = self.aggregate, len(t.seeds)
        seeds = per_seed(t, groups, AGGREGATES[self.reduce])
        x, x_ci = aggregate(list(seeds.values()), how), ci(list(seeds.values()), how)
        passed = OPS[self.op](x, self.value)
        shown = {"op": self.op, "bound": self.value}
        evidence = [
            Evidence(
                f"s{s}",
                {self.reduce: v, **shown},
                t.cells[s].cell_id,
                OPS[self.op](v, self.value),
            )
            for s, v in seeds.items()
        ]
        evidence.append(
            Evidence(f"{how} over {count(n, 'seed')}", {self.reduce: x, **shown}, None, passed)
        )
        agg = {g: aggregate(t.column(g), how) for g in groups}
        at = ""
        if self.reduce in ("max", "min") and len(groups) > 1:
            extreme = (max if self.reduce == "max" else min)(groups, key=lambda g: agg[g])
            at = f", at {t.word} {extreme}"
        sentence = (
            f"Observed {self.reduce} over {count(len(groups), t.word)} {apart(x, self.value)} "
            f"({seeds_text(how, n, x_ci)}){at}: {'' if passed else 'not '}{self.op} "
            f"{number(self.value)}."
        )
        return self.result(
            context,
            verdict(passed),
            sentence,
            observed={
                "aggregate": how,
                "seeds": t.seeds,
                "value": x,
                "ci95": x_ci,
                "per_seed": seeds,
                "groups": agg,
            },
            margin=relative_margin(x, self.value, self.above()),
            noise=relative_noise(
                spread(list(seeds.values()), how), x, self.value, t.max_error(groups)
            ),
            evidence=evidence,
            cells=cell_ids([t]),
            groups=groups_figure({t.label: agg}, self.observable),
        )


__all__ = ["ThresholdClaim"]
