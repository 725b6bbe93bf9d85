"""The ``extreme_group`` claim kind."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from runner.kinds.base import SpecRuleError
from runner.kinds.claims.base import Stop, groups_field, verdict
from runner.kinds.claims.figures import groups_figure
from runner.kinds.claims.margins import relative_margin, relative_noise
from runner.kinds.claims.seeds import aggregate, spread, total
from runner.kinds.claims.selection import OneSelectionClaim, cell_ids, checked_groups, table
from runner.kinds.claims.sentences import in_cells, list_text, scope, seeds_text, word
from runner.kinds.observables import describe
from runner.results import Evidence
from runner.text import count, number


class ExtremeGroupClaim(OneSelectionClaim):
    """The group where the seed-aggregated observable is largest (``which: argmax``) or
    smallest (``argmin``) is one of the groups listed in ``in``: "under GD the slowest mode is
    among the highest frequencies". The extreme is taken over ``groups`` (every group of the
    observable when null), which must hold groups outside ``in``. The margin compares the best
    group inside ``in`` with the best outside, relative to the latter."""

    margin_text: ClassVar[str] = (
        "the best seed-aggregated value inside `in` (largest for argmax, smallest for argmin) "
        "against the best outside it, relative to the latter"
    )

    kind: Literal["extreme_group"]
    which: Literal["argmax", "argmin"] = Field(
        description="`argmax`: the group with the largest value; `argmin`: the smallest"
    )
    # ``in`` is a Python keyword: the field is declared through the class namespace so that the
    # spec, the schema, the docs and the errors all call it ``in`` (read it as getattr(c, "in")).
    __annotations__["in"] = "list[str]"
    locals()["in"] = Field(
        min_length=1,
        description="the groups, by label, one of which must hold the extreme (e.g. the highest "
        'frequencies `["9", "10"]`)',
    )
    groups: list[str] | None = groups_field(
        "the groups the extreme is taken over, by label (they include `in`); null: every group "
        "of the observable"
    )

    example: ClassVar[dict[str, Any]] = {
        "id": "gd_slowest_mode_is_high",
        "observable": "gd_rates",
        "where": {"optimizer": "gd"},
        "which": "argmin",
        "in": ["3", "4"],
    }

    @property
    def among(self) -> list[str]:
        """The groups of ``in``."""
        return list(getattr(self, "in"))

    def _largest(self) -> bool:
        return self.which == "argmax"

    def check(self, observables):
        if len(set(self.among)) < len(self.among):
            raise SpecRuleError(("in",), f"claim {self.id!r}: `in` repeats a group")
        if self.groups is None:
            return
        unknown = [g for g in self.among if g not in self.groups]
        if unknown:
            raise SpecRuleError(
                ("in",), f"claim {self.id!r}: `in` names {unknown}, which `groups` leaves out"
            )
        if not [g for g in self.groups if g not in self.among]:
            raise SpecRuleError(
                ("in",), f"claim {self.id!r}: every group is in `in`: the claim cannot fail"
            )

    def expected_sentence(self, observables=None, metrics=None):
        group = word(self.observable, observables, metrics) or "group"
        extreme = "largest" if self._largest() else "smallest"
        inside = scope(self.among, group)
        lead = "in one of" if len(self.among) > 1 else "in"
        return (
            f"{in_cells(self.where)}, {describe(self.observable, observables)} is {extreme} "
            f"{lead} {inside}, among {scope(self.groups, group, 'its')} "
            f"({self.aggregate} over seeds)."
        )

    def judge(self, context):
        t = table(context, self.observable, self.where)
        groups, _ = checked_groups(self, [t], self.groups)
        w, how, n = t.word, self.aggregate, len(t.seeds)
        inside = [g for g in groups if g in self.among]
        outside = [g for g in groups if g not in self.among]
        unknown = [g for g in self.among if g not in groups]
        if unknown:
            raise Stop(
                "ERROR",
                f"`in` names {w}s the observable lacks: {list_text(unknown)} (it has "
                f"{list_text(groups)})",
                cell_ids([t]),
            )
        if not outside:
            raise Stop("ERROR", f"every {w} is in `in`: the claim cannot fail", cell_ids([t]))
        pick = max if self._largest() else min
        agg = {g: aggregate(t.column(g), how) for g in groups}
        extreme = pick(groups, key=agg.__getitem__)  # the first in the metric's order on a tie
        best_in = pick(inside, key=agg.__getitem__)
        best_out = pick(outside, key=agg.__getitem__)
        passed = extreme in self.among
        margin = relative_margin(agg[best_in], agg[best_out], above=self._largest())
        seeds_noise = total(spread(t.column(best_in), how), spread(t.column(best_out), how))
        numerical = t.max_error([best_in]) + t.max_error([best_out])
        noise = relative_noise(seeds_noise, agg[best_in], agg[best_out], numerical)

        evidence, per_seed = [], {}
        name = self.which
        for s in t.seeds:
            values = {g: t.at(s, g) for g in groups}
            at = pick(groups, key=values.__getitem__)
            per_seed[s] = at
            row = {
                name: f"{w} {at}",
                "value": values[at],
                "best in": values[pick(inside, key=values.__getitem__)],
                "best out": values[pick(outside, key=values.__getitem__)],
            }
            evidence.append(Evidence(f"s{s}", row, t.cells[s].cell_id, at in self.among))
        row = {
            name: f"{w} {extreme}",
            "value": agg[extreme],
            "best in": agg[best_in],
            "best out": agg[best_out],
        }
        evidence.append(Evidence(f"{how} over {count(n, 'seed')}", row, None, passed))

        extreme_word = "largest" if self._largest() else "smallest"
        held = sum(at in self.among for at in per_seed.values())
        listed = scope(self.among, w)
        if passed:
            where = "as claimed" if len(self.among) == 1 else f"one of {listed}"
            other = f"the {extreme_word} elsewhere: {w} {best_out} ({number(agg[best_out])})"
        else:
            if len(self.among) == 1:
                where, other = f"not {listed}", f"{listed} has {number(agg[best_in])}"
            else:
                where = f"not one of {listed}"
                other = f"the {extreme_word} of {listed}: {w} {best_in} ({number(agg[best_in])})"
        sentence = (
            f"Observed ({seeds_text(how, n)}): {extreme_word} in {w} {extreme} "
            f"({number(agg[extreme])}), {where}; {other}; per seed in {scope(self.among, w)} "
            f"in {held} of {count(n, 'seed')}."
        )
        observed = {
            "aggregate": how,
            "seeds": t.seeds,
            "groups": agg,
            "extreme": extreme,
            "best_inside": {"group": best_in, "value": agg[best_in]},
            "best_outside": {"group": best_out, "value": agg[best_out]},
            "per_seed": per_seed,
        }
        return self.result(
            context,
            verdict(passed),
            sentence,
            observed=observed,
            margin=margin,
            noise=noise,
            evidence=evidence,
            cells=cell_ids([t]),
            groups=groups_figure({t.label: agg}, self.observable),
        )


__all__ = ["ExtremeGroupClaim"]
