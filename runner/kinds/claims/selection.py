"""Selecting cells for a claim: the run's cells and the spec's observables (:class:`Context`),
one observable in the cells of one ``where`` (:class:`Table`), which groups are judged, and the
checks that end a claim before its own test (no cell, too few seeds, missing values)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import Field

from runner.kinds.base import Where
from runner.kinds.claims.base import OBSERVABLE, ClaimBase, Stop, where_field
from runner.kinds.claims.sentences import (
    clip,
    group_name,
    list_text,
    where_repr,
    where_text,
)
from runner.kinds.metrics import group_word
from runner.kinds.observables import ALL_GROUPS, Observable, Observed, metric_of, observe
from runner.results import CellResult, Verdict, same_value
from runner.text import count, value


def distinct(items: Iterable[Any]) -> list[Any]:
    """The items in order, each once (numbers equal to a relative 1e-9 are the same)."""
    out: list[Any] = []
    for item in items:
        if not any(same_value(item, seen) for seen in out):
            out.append(item)
    return out


def for_each_values(context: Context, wheres: Iterable[Where], key: str) -> list[Any]:
    """The values the sweep key ``key`` takes in the cells any of ``wheres`` selects (a claim's
    ``for_each``): distinct, sorted when they are numbers. A selected cell without the key ends
    the claim as an ERROR."""
    from runner.kinds.claims.base import Stop

    values: list[Any] = []
    for where in wheres:
        for cell in context.matching(where):
            selector = cell.selector()
            if key not in selector:
                raise Stop("ERROR", f"for_each {key!r} is not a key of cell {cell.cell_id}")
            values = distinct([*values, selector[key]])
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        values.sort()
    return values


def for_each_sentence(key: str, parts: list[tuple[Any, str, bool]]) -> str:
    """``At KEY = v1: ...; at v2: ... Holds at k of n values of KEY.`` from ``(value, observed
    sentence, passed)`` per value."""
    from runner.text import count, value

    sentence = f"At {key} = " + "; at ".join(f"{value(p)}: {s.rstrip('.')}" for p, s, _ in parts)
    held = sum(passed for _, _, passed in parts)
    return f"{sentence}. Holds at {held} of {count(len(parts), 'value')} of {key}."


def for_each_record(
    key: str, parts: list[tuple[Any, dict[str, Any], list[Any]]]
) -> tuple[dict[str, Any], list[Any]]:
    """A for_each claim's ``observed`` (the values and each one's observed) and evidence (each
    value's rows, labelled ``KEY=v: ...``), from ``(value, observed, evidence)`` per value."""
    from runner.results import Evidence
    from runner.text import value

    observed = {
        "for_each": key,
        "points": [p for p, _, _ in parts],
        "at": {value(p): seen for p, seen, _ in parts},
    }
    evidence = [
        Evidence(f"{key}={value(p)}: {e.label}", e.values, e.cell_id, e.passed)
        for p, _, rows in parts
        for e in rows
    ]
    return observed, evidence


@dataclass
class Context:
    """The run's cells, the spec's observables and its metrics by recorded name (``metric_key``:
    what a group of each metric is called); each observable computed once per cell."""

    observables: Mapping[str, Observable]
    cells: Sequence[CellResult]
    metrics: Mapping[str, Any] = field(default_factory=dict)
    _cache: dict[tuple[str, int], Observed] = field(default_factory=dict)

    def observe(self, name: str, cell: CellResult) -> Observed:
        key = (name, id(cell))
        if key not in self._cache:
            self._cache[key] = observe(name, self.observables, cell)
        return self._cache[key]

    def word(self, metric: str | None) -> str:
        """What a group of ``metric`` is called in observed sentences: ``mode`` or ``group``."""
        return "mode" if group_word(metric, self.metrics) == "mode" else "group"

    def matching(self, where: Where) -> list[CellResult]:
        """Every cell ``where`` selects (INCONCLUSIVE when there is none)."""
        cells = [cell for cell in self.cells if cell.matches(where)]
        if not cells:
            raise Stop(
                "INCONCLUSIVE", f"no cell matches where={where_repr(where)}{self._hint(where)}"
            )
        return cells

    def by_seed(self, where: Where) -> dict[int, CellResult]:
        """The cells ``where`` selects, by seed (ERROR when a seed has several)."""
        found: dict[int, list[CellResult]] = {}
        for cell in self.matching(where):
            found.setdefault(cell.seed, []).append(cell)
        for seed, cells in found.items():
            if len(cells) > 1:
                selectors = [c.selector() for c in cells]
                keys = sorted({k for s in selectors for k in s})
                differ = [k for k in keys if len({repr(s.get(k)) for s in selectors}) > 1]
                raise Stop(
                    "ERROR",
                    f"where={where_repr(where)} selects {len(cells)} cells for seed {seed}, "
                    f"differing in {', '.join(differ) or 'nothing selectable'}: add them to where",
                    [c.cell_id for c in cells],
                )
        return {seed: found[seed][0] for seed in sorted(found)}

    def _hint(self, where: Where) -> str:
        if not self.cells:
            return " (the run has no cells)"
        parts = []
        for key in where:
            seen = distinct(c.selector()[key] for c in self.cells if key in c.selector())
            values = ", ".join(value(v) for v in seen)
            parts.append(f"{key} takes {values}" if seen else f"no cell has the key {key!r}")
        return f" ({'; '.join(parts)}): a typo in a value, or a point this profile does not run?"


@dataclass
class Table:
    """One observable in the cells of one selection, by seed; ``word`` names its groups."""

    label: str
    where: Where
    observable: str
    cells: dict[int, CellResult]
    observed: dict[int, Observed]
    metric: str | None
    word: str = "group"

    @property
    def seeds(self) -> list[int]:
        return list(self.cells)

    def labels(self) -> list[str]:
        return distinct(g for obs in self.observed.values() for g in obs.labels)

    def at(self, seed: int, group: str) -> float:
        """The value (after :func:`check_missing`: present)."""
        return self.observed[seed].values[group]

    def column(self, group: str, seeds: Iterable[int] | None = None) -> np.ndarray:
        chosen = self.seeds if seeds is None else list(seeds)
        return np.array([self.at(s, group) for s in chosen], dtype=float)

    def error(self, seed: int, group: str) -> float:
        """The observable's numerical error of the value (its ``errors``, in the value's units;
        0 when the observable gives none)."""
        errors = getattr(self.observed[seed], "errors", None) or {}
        found = errors.get(group)
        if found is None:
            return 0.0
        found = abs(float(found))
        return found if np.isfinite(found) else 0.0

    def max_error(self, groups: Iterable[str], seeds: Iterable[int] | None = None) -> float:
        """The largest numerical error over ``groups`` and the seeds (all, or ``seeds``)."""
        chosen = self.seeds if seeds is None else list(seeds)
        return max((self.error(s, g) for g in groups for s in chosen), default=0.0)


def table(context: Context, observable: str, where: Where, label: str | None = None) -> Table:
    """The observable in the cells ``where`` selects (one per seed)."""
    cells = context.by_seed(where)
    observed = {seed: context.observe(observable, cell) for seed, cell in cells.items()}
    metric = metric_of(observable, context.observables)
    return Table(
        label=where_text(where) if label is None else label,
        where=dict(where),
        observable=observable,
        cells=cells,
        observed=observed,
        metric=metric,
        word=context.word(metric),
    )


class OneSelectionClaim(ClaimBase):
    """A kind that reads one observable in the cells of one ``where`` (threshold, rate,
    uniform_across, event, seed_spread): its figure has one panel, that selection."""

    observable: str = Field(description=OBSERVABLE)
    where: Where = where_field()

    def selections(self, context):
        return [(where_text(self.where), self.where)]


def choose_groups(
    tables: Sequence[Table], requested: list[str] | None
) -> tuple[list[str], list[str]]:
    """``(groups, dropped)``: the requested groups; else every group of one table, or the groups
    common to several (``dropped``: the groups some table lacks)."""
    if requested is not None:
        return list(requested), []
    known = [labels for labels in (t.labels() for t in tables) if labels]
    union = distinct(g for labels in known for g in labels)
    common = [g for g in union if all(g in labels for labels in known)]
    return common, [g for g in union if g not in common]


def cell_ids(tables: Sequence[Table]) -> list[str]:
    return distinct(c.cell_id for t in tables for c in t.cells.values())


def check_seeds(
    claim: ClaimBase, tables: Sequence[Table], seeds: Sequence[int] | None = None
) -> None:
    """INCONCLUSIVE when a selection (or ``seeds``) has fewer seeds than ``min_seeds``."""
    for t in tables:
        have = t.seeds if seeds is None else list(seeds)
        if len(have) < claim.min_seeds:
            where = f"where={where_repr(t.where)}" if seeds is None else "both sides"
            raise Stop(
                "INCONCLUSIVE",
                f"{count(len(have), 'seed')} ({', '.join(map(str, have)) or 'none'}) in {where}, "
                f"fewer than min_seeds={claim.min_seeds}",
                cell_ids(tables),
            )


def check_missing(
    claim: ClaimBase,
    tables: Sequence[Table],
    groups: Sequence[str],
    seeds: Sequence[int] | None = None,
    ignore: Callable[[Observed, str], bool] | None = None,
) -> None:
    """Stop with ``on_missing`` when a needed value is missing (``ignore`` exempts some)."""
    problems: list[str] = []
    cells: list[str] = []
    for t in tables:
        for seed in t.seeds if seeds is None else seeds:
            cell, observed = t.cells[seed], t.observed[seed]
            if ALL_GROUPS in observed.missing and not observed.labels:
                problems.append(f"{cell.cell_id}: {observed.missing[ALL_GROUPS]}")
                cells.append(cell.cell_id)
                continue
            lost = [
                (g, observed.why_missing(g) or "")
                for g in groups
                if g not in observed.values and not (ignore and ignore(observed, g))
            ]
            if not lost:
                continue
            cells.append(cell.cell_id)
            reasons = distinct(r for _, r in lost)
            if len(reasons) == 1 and len(lost) > 1:
                listed = list_text([g for g, _ in lost])
                problems.append(f"{cell.cell_id} {t.word}s {listed}: {reasons[0]}")
            else:
                problems.extend(f"{cell.cell_id} {group_name(t.word, g)}: {r}" for g, r in lost)
    if problems:
        verdict: Verdict = "FAIL" if claim.on_missing == "fail" else "INCONCLUSIVE"
        raise Stop(verdict, f"missing values ({clip(problems)})", cells)
    if not groups:
        raise Stop("INCONCLUSIVE", "the observable has no groups in the selected cells")


__all__ = [
    "Context",
    "Table",
    "cell_ids",
    "check_missing",
    "check_seeds",
    "choose_groups",
    "distinct",
    "OneSelectionClaim",
    "table",
]


def checked_groups(
    claim: ClaimBase,
    tables: Sequence[Table],
    requested: list[str] | None,
    *,
    seeds: Sequence[int] | None = None,
    ignore: Callable[[Observed, str], bool] | None = None,
) -> tuple[list[str], list[str]]:
    """The checks every kind makes before its own test, in their order (see the package
    docstring): enough seeds in each selection (or ``seeds``, the ones the sides share: one
    check says it for both), then the groups (:func:`choose_groups`), then no missing value in a
    needed group. Returns ``(groups, dropped)``."""
    check_seeds(claim, tables[:1] if seeds is not None else tables, seeds)
    groups, dropped = choose_groups(tables, requested)
    check_missing(claim, tables, groups, seeds, ignore)
    return groups, dropped
