"""The ``seed_spread`` claim kind."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from runner.kinds.claims.base import groups_field, verdict
from runner.kinds.claims.margins import relative_margin, relative_noise
from runner.kinds.claims.selection import OneSelectionClaim, cell_ids, checked_groups, table
from runner.kinds.claims.sentences import group_name, in_cells, in_scope, word
from runner.kinds.observables import describe
from runner.results import Evidence
from runner.text import count, number


class SeedSpreadClaim(OneSelectionClaim):
    """The spread over seeds, ``max - min`` of the observable across the seeds of one selection,
    is at most ``max`` in every group (a narrow seed band, App. E of the paper)."""

    margin_text: ClassVar[str] = (
        "the widest spread over seeds against `max`; its noise is the observable's numerical "
        "error only (a spread over seeds has no seed spread of its own)"
    )

    kind: Literal["seed_spread"]
    groups: list[str] | None = groups_field()
    max: float = Field(
        ge=0, description="the largest allowed max - min over seeds, in the observable's units"
    )
    min_seeds: int = Field(
        2, ge=2, description="fewer seeds than this: INCONCLUSIVE (a spread needs at least 2)"
    )

    example: ClassVar[dict[str, Any]] = {
        "id": "gn_seed_band",
        "observable": "gn_final",
        "where": {"optimizer": "gn"},
        "max": 0.01,
    }

    def expected_sentence(self, observables=None, metrics=None):
        group = word(self.observable, observables, metrics)
        return (
            f"{in_cells(self.where)}, {describe(self.observable, observables)} differs across "
            f"seeds by at most {number(self.max)} (max - min){in_scope(self.groups, group)} "
            f"(at least {self.min_seeds} seeds)."
        )

    def judge(self, context):
        t = table(context, self.observable, self.where)
        groups, _ = checked_groups(self, [t], self.groups)
        w, n = t.word, len(t.seeds)
        spreads: dict[str, dict[str, float]] = {}
        evidence = []
        for seed in t.seeds:
            row = {group_name(w, g) or "value": t.at(seed, g) for g in groups}
            evidence.append(Evidence(f"s{seed}", row, t.cells[seed].cell_id, None))
        for g in groups:
            column = t.column(g)
            low, high = float(column.min()), float(column.max())
            spreads[g] = {"min": low, "max": high, "spread": high - low}
            evidence.append(
                Evidence(
                    f"spread over {count(n, 'seed')}" + (f", {group_name(w, g)}" if g else ""),
                    {**spreads[g], "bound": self.max},
                    None,
                    high - low <= self.max,
                )
            )
        widest = max(groups, key=lambda g: spreads[g]["spread"])
        passed = spreads[widest]["spread"] <= self.max
        column = t.column(widest)
        ends = [t.seeds[int(column.argmax())], t.seeds[int(column.argmin())]]
        numerical = sum(t.error(seed, widest) for seed in ends)
        at = f" at {group_name(w, widest)}" if widest else ""
        sentence = (
            f"Observed spread {number(spreads[widest]['spread'])}{at} over {count(n, 'seed')} "
            f"(from {number(spreads[widest]['min'])} to {number(spreads[widest]['max'])}), "
            f"{'' if passed else 'not '}<= {number(self.max)}."
        )
        return self.result(
            context,
            verdict(passed),
            sentence,
            observed={"seeds": t.seeds, "groups": spreads, "value": spreads[widest]["spread"]},
            margin=relative_margin(spreads[widest]["spread"], self.max, above=False),
            noise=relative_noise(None, spreads[widest]["spread"], self.max, numerical),
            noise_unknown="a spread over seeds has no seed noise of its own",
            evidence=evidence,
            cells=cell_ids([t]),
        )


__all__ = ["SeedSpreadClaim"]
