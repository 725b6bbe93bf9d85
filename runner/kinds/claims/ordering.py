"""The ``ordering`` claim kind."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from runner.kinds.base import Where
from runner.kinds.claims.base import OBSERVABLE, ClaimBase, groups_field, verdict
from runner.kinds.claims.figures import groups_figure
from runner.kinds.claims.margins import relative_noise
from runner.kinds.claims.seeds import Numbers, check_groups, in_all, spread, steps, value_scale
from runner.kinds.claims.selection import cell_ids, checked_groups, table
from runner.kinds.claims.sentences import (
    capital,
    clip,
    in_scope,
    unique_labels,
    where_text,
    word,
)
from runner.kinds.observables import describe
from runner.text import count, number


class OrderingClaim(ClaimBase):
    """Along ``sequence`` (a list of selections) the seed-aggregated observable increases or
    decreases, not strictly, in each group; at most ``max_violations`` groups out of order."""

    margin_text: ClassVar[str] = (
        "the smallest step in the claimed direction along `sequence`, over the largest |value| "
        "of the group, in the deciding group (with `max_violations` k, the k+1-th worst)"
    )

    kind: Literal["ordering"]
    observable: str = Field(description=OBSERVABLE)
    sequence: list[Where] = Field(
        min_length=2,
        description="the selections in order, each a `where` (at least two)",
    )
    direction: Literal["increasing", "decreasing"] = Field(
        description="how the observable runs along `sequence` (not strictly)"
    )
    groups: list[str] | None = groups_field()
    max_violations: int = Field(0, ge=0, description="how many groups may be out of order")

    example: ClassVar[dict[str, Any]] = {
        "id": "lm_interpolates",
        "observable": "final_error",
        "sequence": [{"optimizer": "gd"}, {"optimizer": "lm"}, {"optimizer": "gn"}],
        "direction": "decreasing",
    }

    def selections(self, context):
        return [(where_text(w), w) for w in self.sequence]

    def wheres(self):
        return [*super().wheres(), *((("sequence", i), w) for i, w in enumerate(self.sequence))]

    def expected_sentence(self, observables=None, metrics=None):
        group = word(self.observable, observables, metrics)
        along = " -> ".join(where_text(w) for w in self.sequence)
        allowed = (
            f", at most {count(self.max_violations, group or 'group')} out of order"
            if self.max_violations
            else ""
        )
        return (
            f"{capital(describe(self.observable, observables))} is {self.direction} (not "
            f"strictly) along {along}{in_scope(self.groups, group)}{allowed} "
            f"({self.aggregate} over seeds)."
        )

    def judge(self, context):
        labels = unique_labels([where_text(w) for w in self.sequence])
        tables = [
            table(context, self.observable, w, lab)
            for w, lab in zip(self.sequence, labels, strict=True)
        ]
        groups, dropped = checked_groups(self, tables, self.groups)
        how, w = self.aggregate, tables[0].word

        def test(x: Numbers) -> tuple[bool, float]:
            seq = list(x.values())
            smallest = float(steps(seq, self.direction).min())
            return smallest >= 0, smallest / value_scale(seq)

        common = [s for s in tables[0].seeds if in_all(s, tables)]

        def noise(g: str, columns: dict, x: Numbers) -> float | None:
            # each seed's smallest step (the seeds every selection has) and the errors at the two
            # ends of the aggregate's, in the scale the margin reads a step in
            seq = list(x.values())
            own = [float(steps([t.at(s, g) for t in tables], self.direction).min()) for s in common]
            i = int(steps(seq, self.direction).argmin())
            numerical = sum(t.max_error([g]) for t in tables[i : i + 2])
            return relative_noise(spread(own, how), value_scale(seq), 0.0, numerical)

        check = check_groups({t.label: t for t in tables}, groups, how, test, noise=noise)
        violations = check.failing()
        passed = len(violations) <= self.max_violations
        s = check.summary
        # The claim fails when more than max_violations groups are out of order: the group that
        # decides is the (max_violations + 1)-th worst; none when no number of groups can fail it.
        need = len(groups) - self.max_violations
        deciding = check.decisive(need / len(groups)) if need > 0 else None
        sentence = (
            f"Observed ({how} over seeds): {len(violations)} of {count(len(groups), w)} "
            f"out of order (allowed {self.max_violations})"
        )
        if violations:
            shown = [
                f"{g} ({', '.join(number(s[g][t.label]) for t in tables)})" for g in violations
            ]
            sentence += f": {w} {clip(shown, ', ')}" if groups != [""] else f": {shown[0][2:-1]}"
        observed = {
            "aggregate": how,
            "sequence": labels,
            "seeds": {t.label: t.seeds for t in tables},
            "violations": violations,
            "groups": s,
        }
        if dropped:
            observed["groups_dropped"] = dropped
        return self.result(
            context,
            verdict(passed),
            sentence + ".",
            observed=observed,
            margin=None if deciding is None else s[deciding]["margin"],
            noise=None if deciding is None else s[deciding]["noise"],
            noise_unknown="1 seed" if len(common) == 1 else "no seed in every selection",
            evidence=check.evidence,
            cells=cell_ids(tables),
            groups=groups_figure(
                {t.label: {g: s[g][t.label] for g in groups} for t in tables}, self.observable
            ),
        )


__all__ = ["OrderingClaim"]
