"""What the kinds over a sweep axis share (``monotonic``, ``independent_of``): the observable at
every value of a sweep key (:func:`along`), and :class:`AxisClaim`, their judgement with a test
of the seed-aggregated sequence along the axis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import Field

from runner.kinds.base import Where
from runner.kinds.claims.base import OBSERVABLE, ClaimBase, GroupReduce, Stop, verdict, where_field
from runner.kinds.claims.figures import groups_figure
from runner.kinds.claims.seeds import AGGREGATES, GroupCheck, Numbers, aggregate, in_all, per_seed
from runner.kinds.claims.selection import Context, Table, cell_ids, checked_groups, distinct, table
from runner.kinds.claims.sentences import (
    group_sentence,
    in_cells,
    row_label,
    where_repr,
    where_text,
    word,
)
from runner.kinds.observables import describe
from runner.results import Evidence
from runner.text import number, value


@dataclass
class Axis:
    """The observable along a sweep key: a table per value, the per-seed numbers to check
    (per group for ``all``/``any``; else the ``group_reduce`` of each seed under the group
    ``""``), their seed aggregates ``series[group][i]`` at the ``i``-th value and the
    observable's numerical error ``errors[i][group]`` there (the largest over seeds, and over
    groups for a numeric ``group_reduce``)."""

    points: list[Any]
    tables: list[Table]
    groups: list[str]
    per_seed: list[dict[int, Numbers]]
    series: dict[str, list[float]]
    word: str
    errors: list[dict[str, float]] = field(default_factory=list)


def axis_points(claim: Any, context: Context, numeric: bool) -> list[Any]:
    """The values the axis takes in the cells ``claim.where`` selects (sorted when numeric)."""
    points: list[Any] = []
    for cell in context.matching(claim.where):
        selector = cell.selector()
        if claim.axis not in selector:
            keys = ", ".join(k for k in selector if k != "seed")
            raise Stop("ERROR", f"axis {claim.axis!r} is not a key of cell {cell.cell_id} ({keys})")
        points = distinct([*points, selector[claim.axis]])
    if numeric:
        if not all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in points):
            raise Stop("ERROR", f"axis {claim.axis!r} has non-numeric values {points}")
        points.sort()
    return points


def along(claim: Any, context: Context, numeric: bool) -> Axis:
    """The observable at every value of ``claim.axis`` (INCONCLUSIVE with fewer than two)."""
    points = axis_points(claim, context, numeric)
    if len(points) < 2:
        reason = (
            f"axis {claim.axis!r} takes one value ({value(points[0])}) in "
            f"where={where_repr(claim.where)}"
        )
        raise Stop("INCONCLUSIVE", reason)
    tables = [
        table(context, claim.observable, {**claim.where, claim.axis: p}, f"{claim.axis}={value(p)}")
        for p in points
    ]
    groups, _ = checked_groups(claim, tables, None)
    if claim.group_reduce in ("all", "any"):
        seeds = [{s: {g: t.at(s, g) for g in groups} for s in t.seeds} for t in tables]
        checked = groups
        errors = [{g: t.max_error([g]) for g in groups} for t in tables]
    else:
        reduce = AGGREGATES[claim.group_reduce]
        seeds = [{s: {"": v} for s, v in per_seed(t, groups, reduce).items()} for t in tables]
        checked = [""]
        errors = [{"": t.max_error(groups)} for t in tables]
    series = {
        g: [aggregate([v[g] for v in by_seed.values()], claim.aggregate) for by_seed in seeds]
        for g in checked
    }
    return Axis(points, tables, checked, seeds, series, tables[0].word, errors)


class AxisClaim(ClaimBase):
    """A kind over a sweep axis (its fields ``observable``, ``axis``, ``where``,
    ``group_reduce``): one panel (a colour per axis value), per-seed rows, the figure. A
    subclass says what it expects (:meth:`expectation`), tests a sequence (:meth:`test`) and
    words the outcome (:meth:`group_phrase`, :meth:`verdict_text`)."""

    observable: str = Field(description=OBSERVABLE)
    axis: str = Field(description="a sweep key: the observable is read at each of its values")
    where: Where = where_field()
    group_reduce: GroupReduce = Field(
        "median",
        description="each seed's groups reduced to one number first (`median`, `mean`, `max`, "
        "`min`), or tested group by group: `all` (every group) or `any` (some group)",
    )

    numeric_axis: ClassVar[bool] = False  # sort the axis values (and require numbers)

    def selections(self, context):
        # One panel: the cells along the axis share it, a colour per axis value (Fig. 4 style).
        return [(f"{where_text(self.where)}, by {self.axis}", dict(self.where))]

    def sweep_refs(self):
        return [(("axis",), self.axis)]

    def expected_sentence(self, observables=None, metrics=None):
        group = word(self.observable, observables, metrics)
        subject = describe(self.observable, observables)
        scope = ""
        if not group:  # a scalar metric: no groups to speak of
            pass
        elif self.group_reduce in ("all", "any"):
            scope = f" in {'every' if self.group_reduce == 'all' else 'at least one'} {group}"
        else:
            subject = f"the {self.group_reduce} over {group}s of {subject}"
        return (
            f"{in_cells(self.where)}, {subject} {self.expectation()}{scope} "
            f"({self.aggregate} over seeds)."
        )

    def expectation(self) -> str:
        raise NotImplementedError

    def test(self, seq: Sequence[float]) -> tuple[bool, float]:
        """Whether the sequence along the axis meets the claim, and the margin."""
        raise NotImplementedError

    def noise(
        self, seq: Sequence[float], seeds: Sequence[Sequence[float]], errors: Sequence[float]
    ) -> float | None:
        """The noise of :meth:`test`'s margin on the seed-aggregated ``seq``, from each seed's
        own sequence along the axis (``seeds``, the seeds every axis value has) and the
        numerical errors at each axis value (``errors[i]``); None when unknown."""
        return None

    def precheck(self, data: Axis) -> None:
        """Stop before the test (e.g. values a ratio cannot take)."""

    def group_phrase(self) -> str:
        """What each group satisfies, after ``3 of 5 modes``."""
        raise NotImplementedError

    def verdict_text(self, seq: Sequence[float], passed: bool) -> str:
        raise NotImplementedError

    def judge(self, context):
        data = along(self, context, numeric=self.numeric_axis)
        self.precheck(data)
        evidence = []
        common = [s for s in data.tables[0].seeds if in_all(s, data.tables)]
        for g in data.groups:
            for s in common:
                seq = [data.per_seed[i][s][g] for i in range(len(data.points))]
                label = (
                    row_label(s, g, data.word) if g else f"s{s} ({self.group_reduce} over groups)"
                )
                ids = ", ".join(t.cells[s].cell_id for t in data.tables)
                row = {t.label: v for t, v in zip(data.tables, seq, strict=True)}
                evidence.append(Evidence(label, row, ids, self.test(seq)[0]))
        summary: dict[str, dict[str, Any]] = {}
        for g in data.groups:
            ok, margin = self.test(data.series[g])
            own = [[data.per_seed[i][s][g] for i in range(len(data.points))] for s in common]
            noise = self.noise(data.series[g], own, [e[g] for e in data.errors])
            summary[g] = {"values": data.series[g], "margin": margin, "noise": noise, "passed": ok}
            row = {t.label: v for t, v in zip(data.tables, data.series[g], strict=True)}
            label = f"{self.aggregate} over seeds" + (f" {data.word} {g}" if g else "")
            evidence.append(Evidence(label, row, None, ok))
        check = GroupCheck(data.groups, summary, [])
        reduce = "any" if self.group_reduce == "any" else "all"
        passed, margin, _ = check.decide(reduce)
        if data.groups == [""]:
            values = ", ".join(
                f"{number(v)} ({value(p)})"
                for p, v in zip(data.points, data.series[""], strict=True)
            )
            sentence = (
                f"Observed {self.group_reduce} over {data.word}s ({self.aggregate} over seeds) "
                f"along {self.axis}: {values}; "
                f"{self.verdict_text(data.series[''], passed)}."
            )
            values_fig = {
                f"{self.group_reduce} over groups": {
                    value(p): data.series[""][i] for i, p in enumerate(data.points)
                }
            }
        else:
            sentence = group_sentence(
                check,
                data.word,
                self.aggregate,
                self.group_phrase(),
                lambda g: ", ".join(number(v) for v in summary[g]["values"]),
            )
            values_fig = {
                t.label: {g: data.series[g][i] for g in data.groups}
                for i, t in enumerate(data.tables)
            }
        return self.result(
            context,
            verdict(passed),
            sentence,
            observed={
                "aggregate": self.aggregate,
                "axis": self.axis,
                "points": data.points,
                "groups": summary,
            },
            margin=margin,
            noise=check.noise(reduce),
            noise_unknown=(
                "1 seed" if len(common) == 1 else f"{len(common)} seeds at every {self.axis} value"
            ),
            evidence=evidence,
            cells=cell_ids(data.tables),
            groups=groups_figure(values_fig, self.observable),
        )


__all__ = ["Axis", "AxisClaim", "along"]
