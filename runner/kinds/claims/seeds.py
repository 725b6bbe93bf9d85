"""Numbers over seeds: the claim's ``aggregate``, its bootstrap 95% interval, the seed spread
a margin's noise is made of (:func:`spread`), and a condition tested per group on the seed
aggregates with an evidence row per seed (:func:`check_groups`)."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from runner.kinds.claims.margins import seed_spread
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
# (group, the per-seed columns of each side, their aggregates) -> the margin's noise
Noise = Callable[[str, dict[str, np.ndarray], Numbers], "float | None"]


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


def spread(values: np.ndarray | Sequence[float], how: str) -> float | None:
    """How far a number moves between seeds (:func:`~.margins.seed_spread`): half the bootstrap
    95% interval of its ``how`` aggregate with 3+ seeds, else half its range; None for one seed.
    Every seed at the same infinity: 0; an infinity among finite values: inf."""
    data = [float(v) for v in values]
    found = seed_spread(data, ci(data, how))
    return 0.0 if found is not None and math.isnan(found) else found


def total(*parts: float | None) -> float | None:
    """The sum of the known parts (None when none is known)."""
    known = [p for p in parts if p is not None]
    return float(sum(known)) if known else None


def steps(seq: Sequence[float], direction: str) -> np.ndarray:
    """The steps along ``seq`` in ``direction`` (positive: the claimed way)."""
    diffs = np.diff(np.asarray(seq, dtype=float))
    return -diffs if direction == "decreasing" else diffs


def monotone(seq: Sequence[float], direction: str, strict: bool) -> tuple[bool, float]:
    """Whether ``seq`` increases/decreases, and its smallest step in that direction."""
    smallest = float(steps(seq, direction).min())
    return (smallest > 0 if strict else smallest >= 0), smallest


def value_scale(seq: Sequence[float]) -> float:
    """The scale a step along ``seq`` is measured in: its largest finite |value| (1 if 0)."""
    finite = [abs(float(v)) for v in seq if math.isfinite(v)]
    largest = max(finite, default=0.0)
    return largest if largest > 0 else 1.0


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

    def needed(self, reduce: str | float) -> int:
        """How many groups must pass: ``all``, ``any`` or a fraction of them."""
        n = len(self.groups)
        if reduce == "all":
            return n
        if reduce == "any":
            return 1
        return max(1, math.ceil(float(reduce) * n - 1e-9))

    def decisive(self, reduce: str | float) -> str:
        """The group that decides: the ``needed``-th best by margin."""
        ranked = sorted(self.groups, key=lambda g: self.summary[g]["margin"], reverse=True)
        return ranked[self.needed(reduce) - 1]

    def decide(self, reduce: str | float) -> tuple[bool, float, int]:
        """``(passed, margin, needed)``: ``all``, ``any`` or a fraction of the groups must pass;
        the margin is that of the group that decides (:meth:`decisive`)."""
        need = self.needed(reduce)
        margin = self.summary[self.decisive(reduce)]["margin"]
        return len(self.groups) - len(self.failing()) >= need, margin, need

    def noise(self, reduce: str | float) -> float | None:
        """The noise of the deciding group's margin (None when unknown)."""
        return self.summary[self.decisive(reduce)].get("noise")


def check_groups(
    sides: Mapping[str, Table],
    groups: Sequence[str],
    how: str,
    test: Test,
    shown: Callable[[Numbers], dict[str, Any]] = dict,
    seeds: Sequence[int] | None = None,
    noise: Noise | None = None,
) -> GroupCheck:
    """Run ``test`` on ``{side: value}`` per seed (seeds all sides share, or ``seeds``) and on
    the per-side aggregates (each side over its own seeds, or over ``seeds``), per group;
    ``noise`` gives each group's margin its noise (``summary[group]["noise"]``)."""
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
        if noise is not None:
            summary[g]["noise"] = noise(g, columns, numbers)
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
    "Noise",
    "Numbers",
    "aggregate",
    "check_groups",
    "ci",
    "in_all",
    "monotone",
    "oriented",
    "per_seed",
    "spread",
    "steps",
    "total",
    "value_scale",
]
