"""The ``stable`` claim kind."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from runner.kinds.base import Where
from runner.kinds.claims.base import ClaimBase, Stop, where_field
from runner.kinds.claims.sentences import clip, where_text
from runner.results import CellResult, Evidence, Verdict
from runner.text import count


class StableClaim(ClaimBase):
    """Every selected cell finished: a diverged or errored cell fails the claim; a cell that was
    not run is missing (``on_missing``)."""

    margin_text: ClassVar[str] = "none: a cell finished or it did not"

    kind: Literal["stable"]
    where: Where = where_field(
        "which cells must finish: a value per key (`optimizer`, `seed`, any sweep key) or "
        "`{in: [...]}`; `{}`: every cell of the run"
    )

    example: ClassVar[dict[str, Any]] = {"id": "gn_stable", "where": {"optimizer": "gn"}}

    def expected_sentence(self, observables=None, metrics=None):
        where = f"with {where_text(self.where)}" if self.where else "of the run"
        return f"Every cell {where} finishes with finite values (no divergence, no error)."

    def judge(self, context):
        cells = context.matching(self.where)
        ids = [c.cell_id for c in cells]
        seeds = sorted({c.seed for c in cells})
        if len(seeds) < self.min_seeds:
            listed = ", ".join(map(str, seeds))
            reason = (
                f"{count(len(seeds), 'seed')} ({listed}), fewer than min_seeds={self.min_seeds}"
            )
            raise Stop("INCONCLUSIVE", reason, ids)
        evidence = [
            Evidence(c.cell_id, _status_row(c), c.cell_id, c.status == "finished") for c in cells
        ]
        unstable = [c for c in cells if c.status in ("diverged", "error")]
        absent = [
            f"{c.cell_id}: cell missing (not run or not stored)"
            for c in cells
            if c.status == "missing"
        ]
        observed = {"unstable": [c.cell_id for c in unstable], "cells": len(cells), "seeds": seeds}
        if unstable:
            listed = clip([_status_text(c) for c in unstable])
            sentence = f"{len(unstable)} of {count(len(cells), 'cell')} did not finish: {listed}."
            return self.result(
                context, "FAIL", sentence, observed=observed, evidence=evidence, cells=ids
            )
        if absent:
            verdict: Verdict = "FAIL" if self.on_missing == "fail" else "INCONCLUSIVE"
            reason = f"missing values ({clip(absent)})"
            sentence = reason if verdict == "FAIL" else f"Not judged: {reason}"
            return self.result(
                context, verdict, f"{sentence}.", evidence=evidence, cells=ids, reason=reason
            )
        sentence = f"All {count(len(cells), 'cell')} finished ({count(len(seeds), 'seed')})."
        return self.result(
            context, "PASS", sentence, observed=observed, evidence=evidence, cells=ids
        )


def _status_row(cell: CellResult) -> dict[str, Any]:
    row: dict[str, Any] = {"status": cell.status, "steps_done": cell.steps_done}
    if cell.diverged_at is not None:
        row["diverged_at"] = cell.diverged_at
    if cell.error and cell.error.strip():
        row["error"] = cell.error.strip().splitlines()[-1]
    return row


def _status_text(cell: CellResult) -> str:
    if cell.status == "diverged":
        at = f" at step {cell.diverged_at}" if cell.diverged_at is not None else ""
        return f"{cell.cell_id} diverged{at}"
    last = (cell.error or "").strip().splitlines()
    return f"{cell.cell_id} errored" + (f" ({last[-1]})" if last else "")


__all__ = ["StableClaim"]
