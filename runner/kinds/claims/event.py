"""The ``event`` claim kind."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field

from runner.kinds.base import SpecRuleError
from runner.kinds.claims.base import Stop, verdict
from runner.kinds.claims.figures import groups_figure
from runner.kinds.claims.margins import relative_margin, relative_noise
from runner.kinds.claims.seeds import aggregate, ci, spread
from runner.kinds.claims.selection import OneSelectionClaim, cell_ids, checked_groups, table
from runner.kinds.claims.sentences import clip, in_cells, row_label
from runner.kinds.observables import describe
from runner.results import Evidence
from runner.text import count, number


class EventClaim(OneSelectionClaim):
    """A crossing observable happens in every seed and group (``happens: true``; with
    ``before``, its seed-aggregated step is below ``before``), or in none (``happens: false``;
    with ``before``: not before that step). A crossing that does not happen within the steps run
    is an observation here, not a missing value."""

    margin_text: ClassVar[str] = (
        "with `before`: the seed-aggregated crossing step against `before` (`happens: false`: "
        "the earliest crossing step over seeds), in the deciding group; without `before` none"
    )

    kind: Literal["event"]
    observable: str = Field(description="name of a `crossing` observable of the spec")
    happens: bool = Field(
        True, description="`true`: the crossing happens in every seed and group; `false`: in none"
    )
    before: int | None = Field(
        None,
        description="a step: the crossing happens before it (with `happens: false`: not before it)",
    )

    example: ClassVar[dict[str, Any]] = {
        "id": "lm_reaches_1e-3",
        "observable": "reaches_1e-3",
        "where": {"optimizer": "lm"},
        "before": 1000,
    }

    def check(self, observables):
        observable = observables.get(self.observable)
        if observable is not None and observable.kind != "crossing":
            raise SpecRuleError(
                ("observable",),
                f"claim {self.id!r}: observable {self.observable!r} is not a crossing",
            )

    def expected_sentence(self, observables=None, metrics=None):
        subject = f"{in_cells(self.where)}, {describe(self.observable, observables)}"
        if not self.happens:
            before = f" before step {self.before}" if self.before is not None else ""
            return f"{subject} does not happen{before} in any seed."
        before = f", at {self.aggregate} step < {self.before}" if self.before is not None else ""
        return f"{subject} happens in every seed{before}."

    def judge(self, context):
        obs = context.observables.get(self.observable)
        if obs is None or obs.kind != "crossing":
            raise Stop(
                "ERROR", f"event needs a crossing observable; {self.observable!r} is not one"
            )
        t = table(context, self.observable, self.where)
        groups, _ = checked_groups(self, [t], None, ignore=lambda o, g: g in o.censored)
        how, w, n, before = self.aggregate, t.word, len(t.seeds), self.before

        def early(step: float | None) -> bool:
            return step is not None and (before is None or step < before)

        evidence, summary, parts = [], {}, []
        for g in groups:
            steps = {s: t.observed[s].get(g) for s in t.seeds}
            for s, step in steps.items():
                row: dict[str, Any] = {"step": step, "before": before}
                if step is None:
                    row["note"] = t.observed[s].why_missing(g)
                ok = early(step) == self.happens
                evidence.append(Evidence(row_label(s, g, w), row, t.cells[s].cell_id, ok))
            hit = [v for v in steps.values() if v is not None]
            without = [s for s, v in steps.items() if v is None]
            agg = aggregate(hit, how) if hit else None
            margin: float | None = None
            noise: float | None = None
            numerical = t.max_error([g], [s for s, v in steps.items() if v is not None])
            if self.happens:
                ok = not without and (before is None or (agg is not None and agg < before))
                if before is not None and agg is not None and not without:
                    margin = relative_margin(agg, before, above=False)
                    noise = relative_noise(spread(hit, how), agg, before, numerical)
            else:
                ok = not any(early(v) for v in hit)
                if before is not None and hit:  # the earliest crossing decides
                    margin = relative_margin(min(hit), before, above=True)
                    noise = relative_noise(spread(hit, how), min(hit), before, numerical)
            interval = ci(hit, how) if not without else None
            summary[g] = {
                "step": agg,
                "ci95": interval,
                "seeds_without": without,
                "margin": margin,
                "noise": noise,
                "passed": ok,
            }
            agg_row = {"step": agg, "before": before, "seeds without": len(without)}
            evidence.append(
                Evidence(
                    f"{how} over {count(n, 'seed')}" + (f" {w} {g}" if g else ""),
                    agg_row,
                    None,
                    ok,
                )
            )
            text = f"{w} {g}: " if g else ""
            text += f"happened in {n - len(without)} of {count(n, 'seed')}"
            if agg is not None:
                text += f", {how} step {number(agg)}" + (
                    f" (95% CI [{number(interval[0])}, {number(interval[1])}])" if interval else ""
                )
            if without:
                why = t.observed[without[0]].why_missing(g)
                text += f"; not in seed {', '.join(map(str, without))} ({why})"
            parts.append((ok, text))
        passed = all(s["passed"] for s in summary.values())
        known = [s for s in summary.values() if s["margin"] is not None]
        deciding = min(known, key=lambda s: s["margin"]) if known else None
        failing = [text for ok, text in parts if not ok]
        shown = failing or [text for _, text in parts][:2] + (
            [f"and {len(parts) - 2} more {w}s"] if len(parts) > 2 else []
        )
        band = [None, before] if before is not None and self.happens else None
        steps_fig = {g: s["step"] for g, s in summary.items() if s["step"] is not None}
        return self.result(
            context,
            verdict(passed),
            f"Observed {clip(shown)}.",
            observed={"aggregate": how, "seeds": t.seeds, "groups": summary},
            margin=None if deciding is None else deciding["margin"],
            noise=None if deciding is None else deciding["noise"],
            noise_unknown="1 seed" if self.happens else "1 seed crossed",
            evidence=evidence,
            cells=cell_ids([t]),
            groups=groups_figure({t.label: steps_fig}, f"{self.observable} (step)", band),
        )


__all__ = ["EventClaim"]
