"""The ``matches`` claim kind."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from runner.kinds.claims.base import ClaimBase, Side, Stop, groups_field, verdict
from runner.kinds.claims.figures import groups_figure
from runner.kinds.claims.margins import relative_margin, relative_noise
from runner.kinds.claims.seeds import Numbers, check_groups, spread
from runner.kinds.claims.selection import cell_ids, checked_groups, table
from runner.kinds.claims.sentences import (
    capital,
    group_name,
    in_scope,
    seeds_text,
    where_text,
    word,
)
from runner.kinds.observables import describe
from runner.text import count, number


class MatchesClaim(ClaimBase):
    """``|left - right| <= atol + rtol |right|`` per group: two observables of the same cells, or
    one observable in two selections; cells paired by seed, judged on the seed aggregates."""

    margin_text: ClassVar[str] = (
        "|left - right| of the seed aggregates against the tolerance `atol + rtol |right|`, in "
        "the deciding (worst) group"
    )

    kind: Literal["matches"]
    left: Side = Field(description="the measured side: an observable in the cells of its `where`")
    right: Side = Field(description="the predicted side; its |value| scales `rtol`")
    rtol: float = Field(0.0, ge=0, description="relative tolerance, a fraction of |right|")
    atol: float = Field(0.0, ge=0, description="absolute tolerance, in the observable's units")
    groups: list[str] | None = groups_field()

    example: ClassVar[dict[str, Any]] = {
        "id": "gn_rates_match_lemma",
        "left": {"observable": "gn_rates", "where": {"optimizer": "gn"}},
        "right": {"observable": "gn_lemma_rates", "where": {"optimizer": "gn"}},
        "rtol": 0.3,
    }

    def figure_observable(self):
        return self.left.observable

    def selections(self, context):
        return [(f"left: {where_text(self.left.where)}", self.left.where)]

    def expected_sentence(self, observables=None, metrics=None):
        group = word(self.left.observable, observables, metrics)
        left = f"{describe(self.left.observable, observables)} in {where_text(self.left.where)}"
        right = f"{describe(self.right.observable, observables)} in {where_text(self.right.where)}"
        return (
            f"{capital(left)} matches {right} within {number(self.atol)} + {number(self.rtol)} x "
            f"|right|{in_scope(self.groups, group)} ({self.aggregate} over paired seeds)."
        )

    def judge(self, context):
        left = table(context, self.left.observable, self.left.where, "left")
        right = table(context, self.right.observable, self.right.where, "right")
        seeds = [s for s in left.seeds if s in right.cells]
        if not seeds:
            reason = f"left seeds {left.seeds} and right seeds {right.seeds} have none in common"
            raise Stop("INCONCLUSIVE", reason, cell_ids([left, right]))
        groups, dropped = checked_groups(self, [left, right], self.groups, seeds=seeds)
        how, w = self.aggregate, left.word

        def tol(x: Numbers) -> float:
            return self.atol + self.rtol * abs(x["right"])

        def test(x: Numbers) -> tuple[bool, float]:
            diff = abs(x["left"] - x["right"])
            return diff <= tol(x), relative_margin(diff, tol(x), above=False)

        def noise(g: str, columns: dict, x: Numbers) -> float | None:
            # the paired seeds' differences move between seeds
            paired = columns["left"] - columns["right"]
            numerical = left.max_error([g], seeds) + right.max_error([g], seeds)
            diff = abs(x["left"] - x["right"])
            return relative_noise(spread(paired, how), diff, tol(x), numerical)

        def shown(x: Numbers) -> dict[str, Any]:
            return {**x, "|diff|": abs(x["left"] - x["right"]), "tol": tol(x)}

        check = check_groups(
            {"left": left, "right": right}, groups, how, test, shown, seeds, noise=noise
        )
        passed, margin, _ = check.decide("all")
        s = check.summary
        worst = min(groups, key=lambda g: s[g]["margin"])
        x = shown(s[worst])
        sentence = (
            f"Observed ({seeds_text(how, len(seeds))}): {len(groups) - len(check.failing())} of "
            f"{count(len(groups), w)} match; worst {group_name(w, worst)}: left "
            f"{number(x['left'])} vs right {number(x['right'])} (|diff| {number(x['|diff|'])}, "
            f"tol {number(x['tol'])})."
        )
        observed: dict[str, Any] = {"aggregate": how, "seeds": seeds, "groups": s}
        unpaired = sorted(set(left.seeds) ^ set(right.seeds))
        if unpaired:
            observed["unpaired_seeds"] = unpaired
        if dropped:
            observed["groups_dropped"] = dropped
        values = {
            f"left: {self.left.observable}": {g: s[g]["left"] for g in groups},
            f"right: {self.right.observable}": {g: s[g]["right"] for g in groups},
        }
        return self.result(
            context,
            verdict(passed),
            sentence,
            observed=observed,
            margin=margin,
            noise=check.noise("all"),
            evidence=check.evidence,
            cells=cell_ids([left, right]),
            groups=groups_figure(values, self.left.observable),
        )


__all__ = ["MatchesClaim"]
