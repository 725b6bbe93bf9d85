"""Numbers over seeds: the claim's ``aggregate``, its bootstrap 95% interval, and a condition
tested per group on the seed aggregates with an evidence row per seed (:func:`check_groups`)."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from runner.kinds.claims.selection import Table, distinct
from runner.kinds.claims.sentences import row_label
from runner.results import Evidence

BOOTSTRAP_SEED = 0
BOOTSTRAP_RESAMPLES = 2000

OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
AGGREGATES: dict[str, Callable[..., Any]] = {
    "median": np.median,
    "mean": np.mean,
    "min": np.min,
    "max": np.max,
}

Numbers = dict[str, float]
Test = Callable[[Numbers], tuple[bool, float]]


def aggregate(values: np.ndarray | Sequence[float], how: str) -> float:
    return float(AGGREGATES[how](np.asarray(values, dtype=float)))


def ci(values: np.ndarray | Sequence[float], how: str) -> list[float] | None:
    """Bootstrap 95% interval of the ``how`` aggregate over seeds (None under 3 seeds)."""
    data = np.asarray(values, dtype=float)
    if data.size < 3:
        return None
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    resampled = data[rng.integers(0, data.size, size=(BOOTSTRAP_RESAMPLES, data.size))]
    # inverted_cdf picks resampled values without interpolating (inf - inf would give nan)
    lo, hi = np.percentile(AGGREGATES[how](resampled, axis=1), [2.5, 97.5], method="inverted_cdf")
    return [float(lo), float(hi)]


def monotone(seq: Sequence[float], direction: str, strict: bool) -> tuple[bool, float]:
    """Whether ``seq`` increases/decreases, and its smallest step in that direction."""
    steps = np.diff(np.asarray(seq, dtype=float))
    smallest = float((-steps if direction == "decreasing" else steps).min())
    return (smallest > 0 if strict else smallest >= 0), smallest


def oriented(op: str, value: float, bound: float) -> float:
    """``bound - value`` for ``<``/``<=``, ``value - bound`` for ``>``/``>=``."""
    return bound - value if op in ("<", "<=") else value - bound


def in_all(seed: int, tables: Sequence[Table]) -> bool:
    return all(seed in t.cells for t in tables)


def per_seed(
    table: Table, groups: Sequence[str], reduce: Callable[[np.ndarray], float]
) -> dict[int, float]:
    """The per-seed reduction of each seed's values over ``groups``."""
    return {s: float(reduce(np.array([table.at(s, g) for g in groups]))) for s in table.seeds}


@dataclass
class GroupCheck:
    """A condition tested per group on seed-aggregated numbers: ``summary[group]`` holds the
    numbers, their ``ci95``, the ``margin`` and ``passed``; ``evidence`` the per-seed and
    aggregate rows."""

    groups: list[str]
    summary: dict[str, dict[str, Any]]
    evidence: list[Evidence]

    def failing(self) -> list[str]:
        return [g for g in self.groups if not self.summary[g]["passed"]]

    def decide(self, reduce: str | float) -> tuple[bool, float, int]:
        """``(passed, margin, needed)``: ``all``, ``any`` or a fraction of the groups must pass;
        the margin is that of the group that decides."""
        n = len(self.groups)
        if reduce == "all":
            need = n
        elif reduce == "any":
            need = 1
        else:
            need = max(1, math.ceil(float(reduce) * n - 1e-9))
        ranked = sorted((self.summary[g]["margin"] for g in self.groups), reverse=True)
        return n - len(self.failing()) >= need, ranked[need - 1], need


def check_groups(
    sides: Mapping[str, Table],
    groups: Sequence[str],
    how: str,
    test: Test,
    shown: Callable[[Numbers], dict[str, Any]] = dict,
    seeds: Sequence[int] | None = None,
) -> GroupCheck:
    """Run ``test`` on ``{side: value}`` per seed (seeds all sides share, or ``seeds``) and on
    the per-side aggregates (each side over its own seeds, or over ``seeds``), per group."""
    tables = list(sides.values())
    word = tables[0].word
    rows = seeds if seeds is not None else [s for s in tables[0].seeds if in_all(s, tables)]
    evidence, summary = [], {}
    for g in groups:
        for s in rows:
            numbers = {name: t.at(s, g) for name, t in sides.items()}
            cell_ids = " vs ".join(t.cells[s].cell_id for t in tables)
            evidence.append(
                Evidence(row_label(s, g, word), shown(numbers), cell_ids, test(numbers)[0])
            )
    counts = "/".join(distinct(str(len(seeds or t.seeds)) for t in tables))
    for g in groups:
        columns = {name: t.column(g, seeds) for name, t in sides.items()}
        numbers = {name: aggregate(column, how) for name, column in columns.items()}
        ok, margin = test(numbers)
        cis = {
            ("ci95" if len(sides) == 1 else f"{name}_ci95"): ci(column, how)
            for name, column in columns.items()
        }
        summary[g] = {**numbers, **cis, "margin": margin, "passed": ok}
        label = f"{how} over {counts} seed{'' if counts == '1' else 's'}" + (
            f" {word} {g}" if g else ""
        )
        evidence.append(Evidence(label, shown(numbers), None, ok))
    return GroupCheck(list(groups), summary, evidence)


__all__ = [
    "AGGREGATES",
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "OPS",
    "GroupCheck",
    "Numbers",
    "aggregate",
    "check_groups",
    "ci",
    "in_all",
    "monotone",
    "oriented",
    "per_seed",
]
