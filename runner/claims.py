"""Claim kinds: assertions over observables, judged PASS / FAIL / INCONCLUSIVE / ERROR.

A registry in the manner of Great Expectations: :data:`CLAIM_KINDS` maps each ``kind`` of the
spec's ``claims`` to a small :class:`ClaimKind` class with its typed parameters (``params_model``,
the Pydantic class of :mod:`runner.spec`), a prescriptive renderer (``expected_sentence``: what
the claim expects) and ``evaluate``, which judges the claim and writes the diagnostic sentence
(what was observed). :func:`judge` judges every claim of a spec; :func:`describe_kinds` documents
the kinds for ``runner claims``.

Shared rules (the helpers between here and the kinds)
-----------------------------------------------------
* Selection: a ``where`` selects the cells with :meth:`CellResult.matches`, at most one per seed
  (several: ERROR, the ``where`` is ambiguous; the reason names the sweep keys to add). No cell:
  INCONCLUSIVE, "no cell matches where=..." with the values that exist (a typo in a value, or a
  point this profile does not run). ``stable`` counts cells, not seeds. ``groups: null`` takes
  every group of the observable in the metric's order; with several selections (compare,
  ordering, matches, the axis kinds) the groups common to all (the others are listed in
  ``observed["groups_dropped"]``).
* Seeds: per-seed numbers first (a value per group, or the per-seed reduction over groups for
  ``threshold`` with max/min/median/mean, ``uniform_across`` and the axis kinds with a numeric
  ``group_reduce``), then the claim's ``aggregate`` over seeds. Each selection is aggregated over
  its own seeds; ``matches`` pairs cells by seed and uses the seeds both sides have. With 3 or
  more seeds, ``observed`` holds a bootstrap 95% interval of the aggregate
  (:data:`BOOTSTRAP_RESAMPLES` resamples of the seeds, numpy generator seeded with
  :data:`BOOTSTRAP_SEED` on every call: re-judging gives the same interval).
* Order of checks: no matching cell (INCONCLUSIVE); fewer seeds than ``min_seeds`` in a selection
  (INCONCLUSIVE); a missing observable value in a needed group (``on_missing``: INCONCLUSIVE or
  FAIL; the reason names cell, group and why); then the kind's own test. ``expected: fail`` never
  changes the verdict (:attr:`ClaimResult.holds` reads it).
* ``margin`` is signed, positive when the condition is met, in these units: threshold, matches,
  monotonic (smallest step in the claimed direction), uniform_across with ``cv``, rate with
  min/max only: the observable's units; compare: relative, ``(left - factor*right) /
  |factor*right|`` oriented by ``op``; rate with ``expected_rate``: ``rtol - |rate - expected| /
  |expected|`` (with min/max too: the smaller of the margins); uniform_across with
  ``max_min_ratio`` and independent_of: natural log, ``ln(bound) - ln(ratio)``; ordering:
  allowed minus actual violations; event: steps (``before - step``); stable: None. A claim over
  groups takes the margin of the group that decides it (the worst one for ``all``).
* Evidence: a row per seed (and per group for per-group claims) with the numbers compared and
  whether that row meets the condition, then the aggregate rows the verdict is read from.

Figure contract (``ClaimResult.figure``, drawn by :mod:`runner.report`)
-----------------------------------------------------------------------
``{"series": S, "groups": G}``, either part absent (``{}``: no figure).

* ``S = {"kind": "series", "metric": str, "selections": [{"label": str, "where": dict}],
  "log_y": bool, "window": [a, b] | None}``: the metric against step per group, one panel per
  selection. Present when the observable reads a metric (every kind but a delay of unknown
  crossings; ``stable`` has none). ``log_y``: decay rates, and metrics whose finite values in the
  selected cells are all positive. ``window``: the decay-rate fit window.
* ``G = {"kind": "groups", "values": {label: {group: value}}, "band": [lo, hi] | None,
  "ylabel": str}``: seed-aggregated values per group and selection (per axis value for the axis
  kinds; with a numeric ``group_reduce`` one series whose "groups" are the axis values). ``band``:
  the acceptance band when one bound applies to every group (threshold all/any, rate, event
  ``before``), an open end None.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import UnionType
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar, Union, get_args, get_origin

import numpy as np
import yaml

from runner.observables import ALL_GROUPS, Observed, metric_of, observe
from runner.results import CellResult, ClaimResult, Evidence, Verdict, one_of
from runner.spec import (
    ClaimBase,
    CompareClaim,
    EventClaim,
    IndependentOfClaim,
    MatchesClaim,
    MonotonicClaim,
    Observable,
    OrderingClaim,
    RateClaim,
    SeedSpreadClaim,
    Spec,
    StableClaim,
    ThresholdClaim,
    UniformAcrossClaim,
    Where,
)

BOOTSTRAP_SEED = 0
BOOTSTRAP_RESAMPLES = 2000
MAX_LISTED = 6  # reasons and sentences list at most this many items, then "and N more"

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
MODE_METRICS = {"fft_error", "mode_error", "lemma_rate", "ntk_spectrum"}
SCALAR_METRICS = {"loss", "mse", "param_distance", "ntk_change"}


class Stop(Exception):
    """Ends a claim's evaluation with a verdict and a reason (no matching cell, too few seeds,
    missing values, an ill-posed claim)."""

    def __init__(self, verdict: Verdict, reason: str, cells: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.verdict: Verdict = verdict
        self.reason = reason
        self.cells = list(cells)


# --- selections ----------------------------------------------------------------------------------


@dataclass
class Context:
    """The run's cells and the spec's observables; each observable computed once per cell."""

    observables: Mapping[str, Observable]
    cells: Sequence[CellResult]
    _cache: dict[tuple[str, int], Observed] = field(default_factory=dict)

    def observe(self, name: str, cell: CellResult) -> Observed:
        key = (name, id(cell))
        if key not in self._cache:
            self._cache[key] = observe(name, self.observables, cell)
        return self._cache[key]

    def matching(self, where: Where) -> list[CellResult]:
        """Every cell ``where`` selects (INCONCLUSIVE when there is none)."""
        cells = [cell for cell in self.cells if cell.matches(where)]
        if not cells:
            raise Stop(
                "INCONCLUSIVE", f"no cell matches where={_where_repr(where)}{self._hint(where)}"
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
                    f"where={_where_repr(where)} selects {len(cells)} cells for seed {seed}, "
                    f"differing in {', '.join(differ) or 'nothing selectable'}: add them to where",
                    [c.cell_id for c in cells],
                )
        return {seed: found[seed][0] for seed in sorted(found)}

    def _hint(self, where: Where) -> str:
        if not self.cells:
            return " (the run has no cells)"
        parts = []
        for key in where:
            seen = _distinct(c.selector()[key] for c in self.cells if key in c.selector())
            values = ", ".join(_short(v) for v in seen)
            parts.append(f"{key} takes {values}" if seen else f"no cell has the key {key!r}")
        return f" ({'; '.join(parts)}): a typo in a value, or a point this profile does not run?"


@dataclass
class Table:
    """One observable in the cells of one selection, by seed."""

    label: str
    where: Where
    observable: str
    cells: dict[int, CellResult]
    observed: dict[int, Observed]
    metric: str | None

    @property
    def seeds(self) -> list[int]:
        return list(self.cells)

    def labels(self) -> list[str]:
        return _ordered_union(obs.labels for obs in self.observed.values())

    def at(self, seed: int, group: str) -> float:
        """The value (after :func:`_check_missing`: present)."""
        return self.observed[seed].values[group]

    def column(self, group: str, seeds: Iterable[int] | None = None) -> np.ndarray:
        chosen = self.seeds if seeds is None else list(seeds)
        return np.array([self.at(s, group) for s in chosen], dtype=float)

    def word(self) -> str:
        return "mode" if self.metric in MODE_METRICS else "group"


def _table(context: Context, observable: str, where: Where, label: str | None = None) -> Table:
    cells = context.by_seed(where)
    return Table(
        label=_where_text(where) if label is None else label,
        where=dict(where),
        observable=observable,
        cells=cells,
        observed={seed: context.observe(observable, cell) for seed, cell in cells.items()},
        metric=metric_of(observable, context.observables),
    )


def _groups(tables: Sequence[Table], requested: list[str] | None) -> tuple[list[str], list[str]]:
    """``(groups, dropped)``: the requested groups; else every group of one table, or the groups
    common to several (``dropped``: the groups some table lacks)."""
    if requested is not None:
        return list(requested), []
    known = [labels for labels in (t.labels() for t in tables) if labels]
    union = _ordered_union(known)
    common = [g for g in union if all(g in labels for labels in known)]
    return common, [g for g in union if g not in common]


def _check_seeds(claim: ClaimBase, tables: Sequence[Table], seeds: Sequence[int] | None = None):
    for table in tables:
        have = table.seeds if seeds is None else list(seeds)
        if len(have) < claim.min_seeds:
            where = f"where={_where_repr(table.where)}" if seeds is None else "both sides"
            raise Stop(
                "INCONCLUSIVE",
                f"{_count(len(have), 'seed')} ({', '.join(map(str, have)) or 'none'}) in {where}, "
                f"fewer than min_seeds={claim.min_seeds}",
                _cell_ids(tables),
            )


def _check_missing(
    claim: ClaimBase,
    tables: Sequence[Table],
    groups: Sequence[str],
    seeds: Sequence[int] | None = None,
    ignore: Callable[[Observed, str], bool] | None = None,
) -> None:
    """Stop with ``on_missing`` when a needed value is missing (``ignore`` exempts some)."""
    problems: list[str] = []
    cells: list[str] = []
    for table in tables:
        for seed in table.seeds if seeds is None else seeds:
            cell, observed = table.cells[seed], table.observed[seed]
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
            reasons = _ordered_union([[r for _, r in lost]])
            word = table.word()
            if len(reasons) == 1 and len(lost) > 1:
                listed = _list_text([g for g, _ in lost])
                problems.append(f"{cell.cell_id} {word}s {listed}: {reasons[0]}")
            else:
                problems.extend(f"{cell.cell_id} {_group_name(word, g)}: {r}" for g, r in lost)
    if problems:
        verdict: Verdict = "FAIL" if claim.on_missing == "fail" else "INCONCLUSIVE"
        raise Stop(verdict, f"missing values ({_clip(problems)})", cells)
    if not groups:
        raise Stop("INCONCLUSIVE", "the observable has no groups in the selected cells")


# --- numbers -------------------------------------------------------------------------------------


def _aggregate(values: np.ndarray | Sequence[float], how: str) -> float:
    return float(AGGREGATES[how](np.asarray(values, dtype=float)))


def _ci(values: np.ndarray | Sequence[float], how: str) -> list[float] | None:
    """Bootstrap 95% interval of the ``how`` aggregate over seeds (None under 3 seeds)."""
    data = np.asarray(values, dtype=float)
    if data.size < 3:
        return None
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    resampled = data[rng.integers(0, data.size, size=(BOOTSTRAP_RESAMPLES, data.size))]
    # inverted_cdf picks resampled values without interpolating (inf - inf would give nan)
    lo, hi = np.percentile(AGGREGATES[how](resampled, axis=1), [2.5, 97.5], method="inverted_cdf")
    return [float(lo), float(hi)]


def _monotone(seq: Sequence[float], direction: str, strict: bool) -> tuple[bool, float]:
    """Whether ``seq`` increases/decreases, and its smallest step in that direction."""
    steps = np.diff(np.asarray(seq, dtype=float))
    smallest = float((-steps if direction == "decreasing" else steps).min())
    return (smallest > 0 if strict else smallest >= 0), smallest


def _oriented(op: str, value: float, bound: float) -> float:
    """``bound - value`` for ``<``/``<=``, ``value - bound`` for ``>``/``>=``."""
    return bound - value if op in ("<", "<=") else value - bound


Numbers = dict[str, float]
Test = Callable[[Numbers], tuple[bool, float]]


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


def _check_groups(
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
    word = tables[0].word()
    rows = seeds if seeds is not None else [s for s in tables[0].seeds if _in_all(s, tables)]
    evidence, summary = [], {}
    for g in groups:
        for s in rows:
            numbers = {name: t.at(s, g) for name, t in sides.items()}
            cell_ids = " vs ".join(t.cells[s].cell_id for t in tables)
            evidence.append(
                Evidence(_row_label(s, g, word), shown(numbers), cell_ids, test(numbers)[0])
            )
    counts = "/".join(_distinct(str(len(seeds or t.seeds)) for t in tables))
    for g in groups:
        columns = {name: t.column(g, seeds) for name, t in sides.items()}
        numbers = {name: _aggregate(column, how) for name, column in columns.items()}
        ok, margin = test(numbers)
        cis = {
            ("ci95" if len(sides) == 1 else f"{name}_ci95"): _ci(column, how)
            for name, column in columns.items()
        }
        summary[g] = {**numbers, **cis, "margin": margin, "passed": ok}
        label = f"{how} over {counts} seed{'' if counts == '1' else 's'}" + (
            f" {word} {g}" if g else ""
        )
        evidence.append(Evidence(label, shown(numbers), None, ok))
    return GroupCheck(list(groups), summary, evidence)


def _in_all(seed: int, tables: Sequence[Table]) -> bool:
    return all(seed in t.cells for t in tables)


def _per_seed(table: Table, groups: Sequence[str], reduce: Callable[[np.ndarray], float]):
    """The per-seed reduction of each seed's values over ``groups``."""
    return {s: float(reduce(np.array([table.at(s, g) for g in groups]))) for s in table.seeds}


# --- text ----------------------------------------------------------------------------------------


def _fmt(x: Any) -> str:
    if x is None:
        return "n/a"
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    return str(int(x)) if x.is_integer() and abs(x) < 1e6 else f"{x:.3g}"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return _fmt(value)
    choices = one_of(value)
    if choices is not None:
        return "{" + ", ".join(_short(c) for c in choices) + "}"
    if isinstance(value, dict) and isinstance(value.get("kind"), str):
        # a swept sub-mapping (a whole task or model): its kind names it in sentences
        return f"{value['kind']}(...)"
    return str(value)


def _where_text(where: Where) -> str:
    return ", ".join(f"{k}={_short(v)}" for k, v in where.items()) or "all cells"


def _where_repr(where: Where) -> str:
    return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in where.items()) + "}"


def _in_cells(where: Where) -> str:
    return f"In cells with {_where_text(where)}" if where else "In all cells"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _list_text(items: Sequence[str]) -> str:
    """``1..10`` for consecutive integers, else a comma list."""
    items = [str(i) for i in items]
    if len(items) > 2 and all(i.lstrip("-").isdigit() for i in items):
        ints = [int(i) for i in items]
        if ints == list(range(ints[0], ints[0] + len(ints))):
            return f"{ints[0]}..{ints[-1]}"
    return ", ".join(items)


def _clip(items: Sequence[str], sep: str = "; ") -> str:
    more = f"{sep}and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    return sep.join(items[:MAX_LISTED]) + more


def _group_name(word: str, group: str) -> str:
    return f"{word} {group}" if group else "value"


def _scope(groups: Sequence[str] | None, word: str, every: str = "every") -> str:
    """``every mode`` / ``its modes`` / ``mode 3`` / ``modes 1..10``."""
    word = word or "group"
    if groups is None:
        return f"every {word}" if every == "every" else f"{every} {word}s"
    return f"{word} {groups[0]}" if len(groups) == 1 else f"{word}s {_list_text(groups)}"


def _in_scope(groups: Sequence[str] | None, word: str, lead: str = "in", every: str = "every"):
    """`` in every mode`` and the like; nothing for a scalar observable (``word`` empty)."""
    return "" if not word and groups is None else f" {lead} {_scope(groups, word, every)}"


def _seeds_text(how: str, n: int, ci: list[float] | None = None) -> str:
    ci_text = f", 95% CI [{_fmt(ci[0])}, {_fmt(ci[1])}]" if ci else ""
    return f"{how} over {_count(n, 'seed')}{ci_text}"


def _subject(name: str, observables: Mapping[str, Observable] | None) -> str:
    """The observable in words: ``the decay rate of fft_error on steps 300..1000 (gn_rates)``."""
    obs: Any = (observables or {}).get(name)
    if obs is None:
        return name
    relative = " / its step-0 value" if getattr(obs, "relative_to_initial", False) else ""
    if obs.kind == "final":
        text = f"the final {obs.metric}{relative}"
    elif obs.kind == "value_at":
        text = f"{obs.metric}{relative} at step {obs.step}"
    elif obs.kind == "decay_rate":
        text = f"the decay rate of {obs.metric} on steps {obs.window[0]}..{obs.window[1]}"
    elif obs.kind == "crossing":
        side, v = ("<", obs.below) if obs.below is not None else (">", obs.above)
        text = f"the first step with {obs.metric}{relative} {side} {_fmt(v)}"
    elif obs.kind == "window":
        start = f" / its value at step {obs.window[0]}" if obs.relative_to_start else ""
        text = (
            f"the {obs.statistic} of {obs.metric} on steps {obs.window[0]}..{obs.window[1]}{start}"
        )
    else:
        text = f"the delay from {obs.start} to {obs.end}"
    return f"{text} ({name})"


def _word(name: str, observables: Mapping[str, Observable] | None) -> str:
    """What a group of the observable is: ``mode``, ``group``, or ``""`` for a scalar metric."""
    if not observables or name not in observables:
        return "group"
    metric = metric_of(name, observables) or ""
    if metric in SCALAR_METRICS or metric.startswith("train/"):
        return ""
    return "mode" if metric in MODE_METRICS else "group"


def _capital(text: str) -> str:
    """Capitalise a leading "the" (an observable's bare name is left as written)."""
    return "The" + text[3:] if text.startswith("the ") else text


def _ordered_union(lists: Iterable[Iterable[str]]) -> list[str]:
    return _distinct(item for items in lists for item in items)


def _distinct(items: Iterable[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if not any(_same(item, seen) for seen in out):
            out.append(item)
    return out


def _same(a: Any, b: Any) -> bool:
    """Equality as :meth:`CellResult.matches` reads it (numbers to a relative 1e-9)."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
    return math.isclose(float(a), float(b), rel_tol=1e-9) if numbers else bool(a == b)


def _cell_ids(tables: Sequence[Table]) -> list[str]:
    return _ordered_union([c.cell_id for c in t.cells.values()] for t in tables)


def _row_label(seed: int, group: str, word: str) -> str:
    return f"s{seed}" + (f" {word} {group}" if group else "")


def _listing(groups: Sequence[str], show: Callable[[str], str]) -> str:
    return _clip([f"{g} ({show(g)})" for g in groups], ", ")


def _group_sentence(check: GroupCheck, word: str, how: str, what: str, show: Callable[[str], str]):
    """``Observed (median over seeds): 9 of 11 modes <what>; not: mode 4 (0.87), ...``."""
    failing = check.failing()
    text = (
        f"Observed ({how} over seeds): {len(check.groups) - len(failing)} of "
        f"{_count(len(check.groups), word)} {what}"
    )
    if failing:
        return f"{text}; not: {word} {_listing(failing, show)}."
    worst = min(check.groups, key=lambda g: check.summary[g]["margin"])
    return f"{text}; closest: {word} {worst} ({show(worst)})."


# --- figures -------------------------------------------------------------------------------------


def _series_figure(
    context: Context, observable: str, selections: Sequence[tuple[str, Where]]
) -> dict[str, Any] | None:
    obs: Any = context.observables.get(observable)
    metric = metric_of(observable, context.observables) if obs is not None else None
    if metric is None:
        return None
    return {
        "kind": "series",
        "metric": metric,
        "selections": [{"label": label, "where": dict(where)} for label, where in selections],
        "log_y": obs.kind == "decay_rate" or _all_positive(context, metric, selections),
        "window": list(obs.window) if obs.kind in ("decay_rate", "window") else None,
    }


def _all_positive(context: Context, metric: str, selections: Sequence[tuple[str, Where]]) -> bool:
    seen = False
    for cell in context.cells:
        if cell.has_series(metric) and any(cell.matches(w) for _, w in selections):
            values = cell.series(metric).values
            finite = values[np.isfinite(values)]
            if finite.size and finite.min() <= 0:
                return False
            seen = seen or bool(finite.size)
    return seen


def _groups_figure(
    values: Mapping[str, Mapping[str, float]], ylabel: str, band: list[Any] | None = None
) -> dict[str, Any]:
    return {
        "kind": "groups",
        "values": {label: dict(per_group) for label, per_group in values.items()},
        "band": band,
        "ylabel": ylabel,
    }


# --- the registry's base class -------------------------------------------------------------------

C = TypeVar("C", bound=ClaimBase)


class ClaimKind(Generic[C]):
    """One claim kind: typed parameters, an expected sentence, an evaluation.

    Subclasses set ``kind``, ``params_model`` and ``example`` (a minimal claim as in YAML) and
    implement :meth:`expected_sentence`, :meth:`judge` (raising :class:`Stop` to end early) and,
    for the series figure, :meth:`selections`.
    """

    kind: ClassVar[str]
    params_model: ClassVar[type[ClaimBase]]
    example: ClassVar[dict[str, Any]]

    def expected_sentence(
        self, claim: C, observables: Mapping[str, Observable] | None = None
    ) -> str:
        """Prescriptive: what the claim expects, from its parameters (and the observables, when
        given, to name what each observable measures)."""
        raise NotImplementedError

    def judge(self, claim: C, context: Context) -> ClaimResult:
        raise NotImplementedError

    def selections(self, claim: C, context: Context) -> list[tuple[str, Where]]:
        """``(label, where)`` of the panels of the series figure."""
        return []

    def figure_observable(self, claim: C) -> str | None:
        return getattr(claim, "observable", None)

    def evaluate(self, claim: C, context: Context) -> ClaimResult:
        """Judge ``claim``; the early endings (:class:`Stop`) become their verdicts."""
        try:
            return self.judge(claim, context)
        except Stop as stop:
            sentence = stop.reason if stop.verdict == "FAIL" else f"Not judged: {stop.reason}"
            return self.result(
                claim, context, stop.verdict, f"{sentence}.", cells=stop.cells, reason=stop.reason
            )

    def result(
        self,
        claim: C,
        context: Context,
        verdict: Verdict,
        observed_sentence: str,
        *,
        observed: dict[str, Any] | None = None,
        margin: float | None = None,
        evidence: Sequence[Evidence] = (),
        cells: Sequence[str] = (),
        groups: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> ClaimResult:
        figure: dict[str, Any] = {}
        observable = self.figure_observable(claim)
        try:
            picks = self.selections(claim, context)
            series = _series_figure(context, observable, picks) if observable and picks else None
        except Exception:  # noqa: BLE001 - a figure never decides a verdict
            series = None
        if series:
            figure["series"] = series
        if groups and groups.get("values"):
            figure["groups"] = groups
        return ClaimResult(
            id=claim.id,
            kind=self.kind,
            verdict=verdict,
            expected=claim.expected,
            expected_sentence=self.expected_sentence(claim, context.observables),
            observed_sentence=observed_sentence,
            statement=claim.statement,
            observed=observed or {},
            margin=None if margin is None else float(margin),
            evidence=list(evidence),
            cells=list(cells),
            figure=figure,
            reason=reason,
        )


def _verdict(passed: bool) -> Verdict:
    return "PASS" if passed else "FAIL"


def _one_selection(claim: Any, context: Context) -> list[tuple[str, Where]]:
    return [(_where_text(claim.where), claim.where)]


# --- kinds on one selection ----------------------------------------------------------------------


class ThresholdKind(ClaimKind[ThresholdClaim]):
    """The observable against a fixed value: in every group (``all``), in some group (``any``),
    or after reducing each seed's groups (``max``/``min``/``median``/``mean``)."""

    kind = "threshold"
    params_model = ThresholdClaim
    example = {
        "id": "gd_keeps_error",
        "kind": "threshold",
        "observable": "gd_final",
        "where": {"optimizer": "gd"},
        "op": ">",
        "value": 0.5,
    }
    selections = staticmethod(_one_selection)

    def expected_sentence(self, claim, observables=None):
        word, subject = (
            _word(claim.observable, observables),
            _subject(claim.observable, observables),
        )
        test = f"{claim.op} {_fmt(claim.value)}"
        if claim.reduce == "all":
            body = f"{subject} is {test}{_in_scope(claim.groups, word)}"
        elif claim.reduce == "any":
            body = f"{subject} is {test}{_in_scope(claim.groups, word, 'in one of', 'its')}"
        else:
            scope = _scope(claim.groups, word, "its")
            body = f"the {claim.reduce} over {scope} of {subject} is {test}"
        return f"{_in_cells(claim.where)}, {body} ({claim.aggregate} over seeds)."

    def judge(self, claim, context):
        table = _table(context, claim.observable, claim.where)
        _check_seeds(claim, [table])
        groups, _ = _groups([table], claim.groups)
        _check_missing(claim, [table], groups)
        if claim.reduce in ("all", "any"):
            return self._per_group(claim, context, table, groups)
        return self._reduced(claim, context, table, groups)

    def _per_group(self, claim, context, table, groups):
        how, word, bound = claim.aggregate, table.word(), claim.value

        def test(x: Numbers) -> tuple[bool, float]:
            return OPS[claim.op](x["value"], bound), _oriented(claim.op, x["value"], bound)

        check = _check_groups(
            {"value": table}, groups, how, test, lambda x: {**x, "op": claim.op, "bound": bound}
        )
        passed, margin, _ = check.decide(claim.reduce)
        s = check.summary
        if groups == [""]:
            sentence = (
                f"Observed {_fmt(s['']['value'])} "
                f"({_seeds_text(how, len(table.seeds), s['']['ci95'])}), "
                f"{'' if passed else 'not '}{claim.op} {_fmt(bound)}."
            )
        else:
            what = f"{claim.op} {_fmt(bound)}"
            sentence = _group_sentence(check, word, how, what, lambda g: _fmt(s[g]["value"]))
        band = [None, bound] if claim.op in ("<", "<=") else [bound, None]
        return self.result(
            claim,
            context,
            _verdict(passed),
            sentence,
            observed={"aggregate": how, "seeds": table.seeds, "groups": s},
            margin=margin,
            evidence=check.evidence,
            cells=_cell_ids([table]),
            groups=_groups_figure(
                {table.label: {g: s[g]["value"] for g in groups}}, claim.observable, band
            ),
        )

    def _reduced(self, claim, context, table, groups):
        how, word, n = claim.aggregate, table.word(), len(table.seeds)
        per_seed = _per_seed(table, groups, AGGREGATES[claim.reduce])
        x, ci = _aggregate(list(per_seed.values()), how), _ci(list(per_seed.values()), how)
        passed = OPS[claim.op](x, claim.value)
        shown = {"op": claim.op, "bound": claim.value}
        evidence = [
            Evidence(
                f"s{s}",
                {claim.reduce: v, **shown},
                table.cells[s].cell_id,
                OPS[claim.op](v, claim.value),
            )
            for s, v in per_seed.items()
        ]
        evidence.append(
            Evidence(f"{how} over {_count(n, 'seed')}", {claim.reduce: x, **shown}, None, passed)
        )
        agg = {g: _aggregate(table.column(g), how) for g in groups}
        at = ""
        if claim.reduce in ("max", "min") and len(groups) > 1:
            extreme = (max if claim.reduce == "max" else min)(groups, key=lambda g: agg[g])
            at = f", at {word} {extreme}"
        sentence = (
            f"Observed {claim.reduce} over {_count(len(groups), word)} {_fmt(x)} "
            f"({_seeds_text(how, n, ci)}){at}: {'' if passed else 'not '}{claim.op} "
            f"{_fmt(claim.value)}."
        )
        return self.result(
            claim,
            context,
            _verdict(passed),
            sentence,
            observed={
                "aggregate": how,
                "seeds": table.seeds,
                "value": x,
                "ci95": ci,
                "per_seed": per_seed,
                "groups": agg,
            },
            margin=_oriented(claim.op, x, claim.value),
            evidence=evidence,
            cells=_cell_ids([table]),
            groups=_groups_figure({table.label: agg}, claim.observable),
        )


class RateKind(ClaimKind[RateClaim]):
    """A fitted rate lies, in every group, within ``rtol`` of ``expected_rate`` and/or within
    ``[min, max]`` (every condition given must hold)."""

    kind = "rate"
    params_model = RateClaim
    example = {
        "id": "gn_rate_is_lr",
        "kind": "rate",
        "observable": "gn_rates",
        "where": {"optimizer": "gn"},
        "expected_rate": 0.01,
        "rtol": 0.3,
    }
    selections = staticmethod(_one_selection)

    def expected_sentence(self, claim, observables=None):
        tests = []
        if claim.expected_rate is not None:
            rtol = f"{_fmt(100 * claim.rtol)}%" if claim.rtol is not None else "(rtol missing)"
            tests.append(f"within {rtol} of {_fmt(claim.expected_rate)}")
        if claim.min is not None and claim.max is not None:
            tests.append(f"in [{_fmt(claim.min)}, {_fmt(claim.max)}]")
        elif claim.min is not None:
            tests.append(f"at least {_fmt(claim.min)}")
        elif claim.max is not None:
            tests.append(f"at most {_fmt(claim.max)}")
        word = _word(claim.observable, observables)
        return (
            f"{_in_cells(claim.where)}, {_subject(claim.observable, observables)} is "
            f"{' and '.join(tests) or '(no bound given)'}{_in_scope(claim.groups, word)} "
            f"({claim.aggregate} over seeds)."
        )

    @staticmethod
    def band(claim) -> list[float | None]:
        lo, hi = claim.min, claim.max
        if claim.expected_rate is not None and claim.rtol is not None:
            spread = claim.rtol * abs(claim.expected_rate)
            lo = max(v for v in (lo, claim.expected_rate - spread) if v is not None)
            hi = min(v for v in (hi, claim.expected_rate + spread) if v is not None)
        return [lo, hi]

    @staticmethod
    def margin(claim, rate: float) -> float:
        margins = []
        if claim.expected_rate is not None:
            e = claim.expected_rate
            margins.append(claim.rtol - abs(rate - e) / abs(e) if e else -abs(rate))
        if claim.min is not None:
            margins.append(rate - claim.min)
        if claim.max is not None:
            margins.append(claim.max - rate)
        return min(margins)

    def judge(self, claim, context):
        if (claim.expected_rate is None) != (claim.rtol is None):
            raise Stop("ERROR", "give expected_rate and rtol together (or min and/or max)")
        if claim.expected_rate is None and claim.min is None and claim.max is None:
            raise Stop("ERROR", "give expected_rate with rtol, or min and/or max")
        table = _table(context, claim.observable, claim.where)
        _check_seeds(claim, [table])
        groups, _ = _groups([table], claim.groups)
        _check_missing(claim, [table], groups)
        how, word, (lo, hi) = claim.aggregate, table.word(), self.band(claim)

        def test(x: Numbers) -> tuple[bool, float]:
            m = self.margin(claim, x["rate"])
            return m >= 0, m

        check = _check_groups(
            {"rate": table}, groups, how, test, lambda x: {**x, "low": lo, "high": hi}
        )
        passed, margin, _ = check.decide("all")
        s = check.summary
        band = (
            f"in [{_fmt(lo)}, {_fmt(hi)}]"
            if lo is not None and hi is not None
            else (f">= {_fmt(lo)}" if lo is not None else f"<= {_fmt(hi)}")
        )
        if groups == [""]:
            seeds = _seeds_text(how, len(table.seeds), s[""]["ci95"])
            sentence = f"Observed rate {_fmt(s['']['rate'])} ({seeds}); expected {band}."
        else:
            sentence = _group_sentence(check, word, how, band, lambda g: _fmt(s[g]["rate"]))
        return self.result(
            claim,
            context,
            _verdict(passed),
            sentence,
            observed={"aggregate": how, "seeds": table.seeds, "band": [lo, hi], "groups": s},
            margin=margin,
            evidence=check.evidence,
            cells=_cell_ids([table]),
            groups=_groups_figure(
                {table.label: {g: s[g]["rate"] for g in groups}}, claim.observable, [lo, hi]
            ),
        )


class UniformAcrossKind(ClaimKind[UniformAcrossClaim]):
    """The spread of the observable across groups, per seed then aggregated: ``max_min_ratio``
    (+inf when some group is <= 0 while another is positive; undefined, INCONCLUSIVE, when none is
    positive) or ``cv`` (population std / |mean|), at most ``max`` and/or at least ``min``."""

    kind = "uniform_across"
    params_model = UniformAcrossClaim
    example = {
        "id": "gn_uniform",
        "kind": "uniform_across",
        "observable": "gn_rates",
        "where": {"optimizer": "gn"},
        "max": 2,
    }
    selections = staticmethod(_one_selection)

    def expected_sentence(self, claim, observables=None):
        word = _word(claim.observable, observables)
        stat = "max/min ratio" if claim.statistic == "max_min_ratio" else "coefficient of variation"
        bounds = [f"at most {_fmt(claim.max)}"] if claim.max is not None else []
        bounds += [f"at least {_fmt(claim.min)}"] if claim.min is not None else []
        return (
            f"{_in_cells(claim.where)}, the {stat} of {_subject(claim.observable, observables)} "
            f"across {_scope(claim.groups, word, 'its')} is "
            f"{' and '.join(bounds) or '(no bound given)'} ({claim.aggregate} over seeds)."
        )

    @staticmethod
    def ok(claim, x: float) -> bool:
        return (claim.max is None or x <= claim.max) and (claim.min is None or x >= claim.min)

    @staticmethod
    def margin(claim, x: float) -> float:
        def f(v: float) -> float:
            if claim.statistic != "max_min_ratio":
                return v
            return math.log(v) if v > 0 else -math.inf

        margins = [f(claim.max) - f(x)] if claim.max is not None else []
        margins += [f(x) - f(claim.min)] if claim.min is not None else []
        return min(margins)

    def judge(self, claim, context):
        if claim.max is None and claim.min is None:
            raise Stop("ERROR", "give max and/or min")
        table = _table(context, claim.observable, claim.where)
        _check_seeds(claim, [table])
        groups, _ = _groups([table], claim.groups)
        _check_missing(claim, [table], groups)
        if len(groups) < 2:
            raise Stop("INCONCLUSIVE", f"a spread needs at least 2 groups, got {groups}")
        how, word, n = claim.aggregate, table.word(), len(table.seeds)
        ratio = claim.statistic == "max_min_ratio"
        name = "max/min ratio" if ratio else "cv"
        for s in table.seeds:
            values = {g: table.at(s, g) for g in groups}
            if ratio and max(values.values()) <= 0:
                listed = _clip([f"{word} {g} = {_fmt(v)}" for g, v in values.items()], ", ")
                reason = f"max/min ratio undefined: no positive value (seed {s}: {listed})"
                raise Stop("INCONCLUSIVE", reason, _cell_ids([table]))
            if not ratio and np.mean(list(values.values())) == 0:
                raise Stop("INCONCLUSIVE", f"cv undefined: seed {s} has mean 0", _cell_ids([table]))

        def statistic(v: np.ndarray) -> float:
            # A group at or below zero while another is positive (a mode that stalls or grows
            # while others decay) makes the spread unbounded: the ratio is +inf.
            if ratio:
                return float(v.max() / v.min()) if v.min() > 0 else math.inf
            return float(v.std() / abs(v.mean()))

        per_seed = _per_seed(table, groups, statistic)
        evidence = []
        for s, stat in per_seed.items():
            values = {g: table.at(s, g) for g in groups}
            lo_g, hi_g = min(values, key=values.__getitem__), max(values, key=values.__getitem__)
            row = {
                name: stat,
                "min": values[lo_g],
                "min at": f"{word} {lo_g}",
                "max": values[hi_g],
                "max at": f"{word} {hi_g}",
            }
            evidence.append(Evidence(f"s{s}", row, table.cells[s].cell_id, self.ok(claim, stat)))
        x, ci = _aggregate(list(per_seed.values()), how), _ci(list(per_seed.values()), how)
        passed = self.ok(claim, x)
        evidence.append(
            Evidence(
                f"{how} over {_count(n, 'seed')}",
                {name: x, "bound max": claim.max, "bound min": claim.min},
                None,
                passed,
            )
        )
        agg = {g: _aggregate(table.column(g), how) for g in groups}
        ranked = sorted(groups, key=agg.__getitem__)
        low = ranked[: 2 if len(groups) >= 4 else 1]
        sentence = (
            f"Observed {name} {_fmt(x)} ({_seeds_text(how, n, ci)}); smallest: "
            + ", ".join(f"{word} {g} ({_fmt(agg[g])})" for g in low)
            + f"; largest: {word} {ranked[-1]} ({_fmt(agg[ranked[-1]])})."
        )
        observed = {
            "aggregate": how,
            "seeds": table.seeds,
            "statistic": claim.statistic,
            "value": x,
            "ci95": ci,
            "per_seed": per_seed,
            "groups": agg,
        }
        return self.result(
            claim,
            context,
            _verdict(passed),
            sentence,
            observed=observed,
            margin=self.margin(claim, x),
            evidence=evidence,
            cells=_cell_ids([table]),
            groups=_groups_figure({table.label: agg}, claim.observable),
        )


# --- kinds on several selections -----------------------------------------------------------------


class CompareKind(ClaimKind[CompareClaim]):
    """``left op factor * right`` per group, each side aggregated over its own seeds; ``all``,
    ``any`` or a fraction in (0, 1] of the groups must satisfy it."""

    kind = "compare"
    params_model = CompareClaim
    example = {
        "id": "gn_beats_gd",
        "kind": "compare",
        "left": {"observable": "final_error", "where": {"optimizer": "gd"}},
        "right": {"observable": "final_error", "where": {"optimizer": "gn"}},
        "op": ">",
        "factor": 10,
    }

    def figure_observable(self, claim):
        return claim.left.observable

    def selections(self, claim, context):
        return [
            (f"left: {_where_text(claim.left.where)}", claim.left.where),
            (f"right: {_where_text(claim.right.where)}", claim.right.where),
        ]

    def expected_sentence(self, claim, observables=None):
        left = f"{_subject(claim.left.observable, observables)} in {_where_text(claim.left.where)}"
        right = (
            f"{_subject(claim.right.observable, observables)} in {_where_text(claim.right.where)}"
        )
        factor = f"{_fmt(claim.factor)} x " if claim.factor != 1 else ""
        word = _word(claim.left.observable, observables)
        if claim.reduce == "all":
            reduce = _in_scope(claim.groups, word)
        elif claim.reduce == "any":
            reduce = _in_scope(claim.groups, word, "in at least one of", "its")
        else:
            share = _fmt(100 * float(claim.reduce))
            reduce = _in_scope(claim.groups, word or "group", f"in at least {share}% of", "its")
        each = f" at every value of {claim.for_each}" if claim.for_each else ""
        return (
            f"{_capital(left)} is {claim.op} {factor}{right}{reduce}{each} "
            f"({claim.aggregate} over seeds)."
        )

    def judge(self, claim, context):
        if not isinstance(claim.reduce, str) and not 0 < claim.reduce <= 1:
            raise Stop(
                "ERROR", f"reduce must be all, any or a fraction in (0, 1], got {claim.reduce}"
            )
        if claim.for_each is None:
            part = self._compare(claim, context, {})
            return self.result(
                claim,
                context,
                _verdict(part.passed),
                part.sentence,
                observed=part.observed,
                margin=part.margin,
                evidence=part.evidence,
                cells=part.cells,
                groups=_groups_figure(part.values, claim.left.observable),
            )
        return self._judge_for_each(claim, context)

    def _judge_for_each(self, claim, context):
        """The comparison at every value of ``for_each``: all must hold; a value where a side
        has no cell or a missing value ends the claim as :meth:`_compare` does."""
        key = claim.for_each
        points: list[Any] = []
        for where in (claim.left.where, claim.right.where):
            for cell in context.matching(where):
                selector = cell.selector()
                if key not in selector:
                    raise Stop("ERROR", f"for_each {key!r} is not a key of cell {cell.cell_id}")
                points = _distinct([*points, selector[key]])
        if all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in points):
            points.sort()
        parts = [(p, self._compare(claim, context, {key: p})) for p in points]
        passed = all(part.passed for _, part in parts)
        margin = min(part.margin for _, part in parts)
        sentence = f"At {key} = " + "; at ".join(
            f"{_short(p)}: {part.sentence.rstrip('.')}" for p, part in parts
        )
        held = sum(part.passed for _, part in parts)
        sentence += f". Holds at {held} of {_count(len(parts), 'value')} of {key}."
        evidence = [
            Evidence(f"{key}={_short(p)}: {e.label}", e.values, e.cell_id, e.passed)
            for p, part in parts
            for e in part.evidence
        ]
        figure_values: dict[str, dict[str, float]] = {}
        if all(part.groups == [""] for _, part in parts):
            for p, part in parts:
                for label, per_group in part.values.items():
                    figure_values.setdefault(label, {})[_short(p)] = per_group[""]
        return self.result(
            claim,
            context,
            _verdict(passed),
            sentence,
            observed={
                "for_each": key,
                "points": points,
                "at": {_short(p): part.observed for p, part in parts},
            },
            margin=margin,
            evidence=evidence,
            cells=_ordered_union(part.cells for _, part in parts),
            groups=_groups_figure(figure_values, claim.left.observable) if figure_values else None,
        )

    def _compare(self, claim, context, extra: Where) -> _Comparison:
        left_where, right_where = {**claim.left.where, **extra}, {**claim.right.where, **extra}
        left = _table(context, claim.left.observable, left_where, "left")
        right = _table(context, claim.right.observable, right_where, "right")
        _check_seeds(claim, [left, right])
        groups, dropped = _groups([left, right], claim.groups)
        _check_missing(claim, [left, right], groups)
        how, word, f = claim.aggregate, left.word(), claim.factor

        def test(x: Numbers) -> tuple[bool, float]:
            bound = f * x["right"]
            diff = _oriented(claim.op, x["left"], bound)
            return OPS[claim.op](x["left"], bound), diff / abs(bound) if bound else diff

        check = _check_groups(
            {"left": left, "right": right},
            groups,
            how,
            test,
            lambda x: {
                "left": x["left"],
                "op": claim.op,
                "factor * right": f * x["right"],
                "right": x["right"],
            },
        )
        passed, margin, need = check.decide(claim.reduce)
        s = check.summary
        if groups == [""]:
            sentence = (
                f"Observed left {_fmt(s['']['left'])} {'' if passed else 'not '}{claim.op} "
                f"{_fmt(f)} x right {_fmt(s['']['right'])} = {_fmt(f * s['']['right'])} "
                f"({how} over {len(left.seeds)} and {_count(len(right.seeds), 'seed')})."
            )
        else:
            what = f"with left {claim.op} {_fmt(f)} x right (needed {need})"
            sentence = _group_sentence(
                check,
                word,
                how,
                what,
                lambda g: f"{_fmt(s[g]['left'])} vs {_fmt(f * s[g]['right'])}",
            )
        observed = {
            "aggregate": how,
            "left_seeds": left.seeds,
            "right_seeds": right.seeds,
            "groups": s,
        }
        if dropped:
            observed["groups_dropped"] = dropped
        values = {
            f"left: {_where_text(claim.left.where)}": {g: s[g]["left"] for g in groups},
            f"{_fmt(f)} x right: {_where_text(claim.right.where)}": {
                g: f * s[g]["right"] for g in groups
            },
        }
        return _Comparison(
            passed,
            margin,
            sentence,
            observed,
            values,
            list(check.evidence),
            _cell_ids([left, right]),
            groups,
        )


@dataclass
class _Comparison:
    """One comparison of :class:`CompareKind` (at one ``for_each`` value)."""

    passed: bool
    margin: float
    sentence: str
    observed: dict[str, Any]
    values: dict[str, dict[str, float]]
    evidence: list[Evidence]
    cells: list[str]
    groups: list[str]


class OrderingKind(ClaimKind[OrderingClaim]):
    """Along ``sequence`` (a list of selections) the seed-aggregated observable increases or
    decreases, not strictly, in each group; at most ``max_violations`` groups out of order."""

    kind = "ordering"
    params_model = OrderingClaim
    example = {
        "id": "lm_interpolates",
        "kind": "ordering",
        "observable": "final_error",
        "sequence": [{"optimizer": "gd"}, {"optimizer": "lm"}, {"optimizer": "gn"}],
        "direction": "decreasing",
    }

    def selections(self, claim, context):
        return [(_where_text(w), w) for w in claim.sequence]

    def expected_sentence(self, claim, observables=None):
        word = _word(claim.observable, observables)
        along = " -> ".join(_where_text(w) for w in claim.sequence)
        allowed = (
            f", at most {_count(claim.max_violations, word or 'group')} out of order"
            if claim.max_violations
            else ""
        )
        return (
            f"{_capital(_subject(claim.observable, observables))} is {claim.direction} (not "
            f"strictly) along {along}{_in_scope(claim.groups, word)}{allowed} "
            f"({claim.aggregate} over seeds)."
        )

    def judge(self, claim, context):
        labels = _unique([_where_text(w) for w in claim.sequence])
        tables = [
            _table(context, claim.observable, w, lab)
            for w, lab in zip(claim.sequence, labels, strict=True)
        ]
        _check_seeds(claim, tables)
        groups, dropped = _groups(tables, claim.groups)
        _check_missing(claim, tables, groups)
        how, word = claim.aggregate, tables[0].word()

        def test(x: Numbers) -> tuple[bool, float]:
            return _monotone(list(x.values()), claim.direction, False)

        check = _check_groups({t.label: t for t in tables}, groups, how, test)
        violations = check.failing()
        passed = len(violations) <= claim.max_violations
        s = check.summary
        sentence = (
            f"Observed ({how} over seeds): {len(violations)} of {_count(len(groups), word)} "
            f"out of order (allowed {claim.max_violations})"
        )
        if violations:
            shown = [f"{g} ({', '.join(_fmt(s[g][t.label]) for t in tables)})" for g in violations]
            sentence += (
                f": {word} {_clip(shown, ', ')}" if groups != [""] else f": {shown[0][2:-1]}"
            )
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
            claim,
            context,
            _verdict(passed),
            sentence + ".",
            observed=observed,
            margin=claim.max_violations - len(violations),
            evidence=check.evidence,
            cells=_cell_ids(tables),
            groups=_groups_figure(
                {t.label: {g: s[g][t.label] for g in groups} for t in tables}, claim.observable
            ),
        )


def _unique(labels: list[str]) -> list[str]:
    return [lab if labels.count(lab) == 1 else f"{lab} #{i + 1}" for i, lab in enumerate(labels)]


class MatchesKind(ClaimKind[MatchesClaim]):
    """``|left - right| <= atol + rtol |right|`` per group: two observables of the same cells, or
    one observable in two selections; cells paired by seed, judged on the seed aggregates."""

    kind = "matches"
    params_model = MatchesClaim
    example = {
        "id": "gn_rates_match_lemma",
        "kind": "matches",
        "left": {"observable": "gn_rates", "where": {"optimizer": "gn"}},
        "right": {"observable": "gn_lemma_rates", "where": {"optimizer": "gn"}},
        "rtol": 0.3,
    }

    def figure_observable(self, claim):
        return claim.left.observable

    def selections(self, claim, context):
        return [(f"left: {_where_text(claim.left.where)}", claim.left.where)]

    def expected_sentence(self, claim, observables=None):
        word = _word(claim.left.observable, observables)
        left = f"{_subject(claim.left.observable, observables)} in {_where_text(claim.left.where)}"
        right = (
            f"{_subject(claim.right.observable, observables)} in {_where_text(claim.right.where)}"
        )
        return (
            f"{_capital(left)} matches {right} within {_fmt(claim.atol)} + {_fmt(claim.rtol)} x "
            f"|right|{_in_scope(claim.groups, word)} ({claim.aggregate} over paired seeds)."
        )

    def judge(self, claim, context):
        left = _table(context, claim.left.observable, claim.left.where, "left")
        right = _table(context, claim.right.observable, claim.right.where, "right")
        seeds = [s for s in left.seeds if s in right.cells]
        if not seeds:
            reason = f"left seeds {left.seeds} and right seeds {right.seeds} have none in common"
            raise Stop("INCONCLUSIVE", reason, _cell_ids([left, right]))
        _check_seeds(claim, [left], seeds)
        groups, dropped = _groups([left, right], claim.groups)
        _check_missing(claim, [left, right], groups, seeds)
        how, word = claim.aggregate, left.word()

        def tol(x: Numbers) -> float:
            return claim.atol + claim.rtol * abs(x["right"])

        def test(x: Numbers) -> tuple[bool, float]:
            diff = abs(x["left"] - x["right"])
            return diff <= tol(x), tol(x) - diff

        def shown(x: Numbers) -> dict[str, Any]:
            return {**x, "|diff|": abs(x["left"] - x["right"]), "tol": tol(x)}

        check = _check_groups({"left": left, "right": right}, groups, how, test, shown, seeds)
        passed, margin, _ = check.decide("all")
        s = check.summary
        worst = min(groups, key=lambda g: s[g]["margin"])
        w = shown(s[worst])
        sentence = (
            f"Observed ({_seeds_text(how, len(seeds))}): {len(groups) - len(check.failing())} of "
            f"{_count(len(groups), word)} match; worst {_group_name(word, worst)}: left "
            f"{_fmt(w['left'])} vs right {_fmt(w['right'])} (|diff| {_fmt(w['|diff|'])}, tol "
            f"{_fmt(w['tol'])})."
        )
        observed: dict[str, Any] = {"aggregate": how, "seeds": seeds, "groups": s}
        unpaired = sorted(set(left.seeds) ^ set(right.seeds))
        if unpaired:
            observed["unpaired_seeds"] = unpaired
        if dropped:
            observed["groups_dropped"] = dropped
        values = {
            f"left: {claim.left.observable}": {g: s[g]["left"] for g in groups},
            f"right: {claim.right.observable}": {g: s[g]["right"] for g in groups},
        }
        return self.result(
            claim,
            context,
            _verdict(passed),
            sentence,
            observed=observed,
            margin=margin,
            evidence=check.evidence,
            cells=_cell_ids([left, right]),
            groups=_groups_figure(values, claim.left.observable),
        )


# --- kinds over a sweep axis ---------------------------------------------------------------------


@dataclass
class Axis:
    """The observable along a sweep key: a table per value, the per-seed numbers to check
    (per group for ``all``/``any``; else the ``group_reduce`` of each seed under the group
    ``""``) and their seed aggregates ``series[group][i]`` at the ``i``-th value."""

    points: list[Any]
    tables: list[Table]
    groups: list[str]
    per_seed: list[dict[int, Numbers]]
    series: dict[str, list[float]]
    word: str


def _axis_points(claim: Any, context: Context, numeric: bool) -> list[Any]:
    points: list[Any] = []
    for cell in context.matching(claim.where):
        selector = cell.selector()
        if claim.axis not in selector:
            keys = ", ".join(k for k in selector if k != "seed")
            raise Stop("ERROR", f"axis {claim.axis!r} is not a key of cell {cell.cell_id} ({keys})")
        points = _distinct([*points, selector[claim.axis]])
    if numeric:
        if not all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in points):
            raise Stop("ERROR", f"axis {claim.axis!r} has non-numeric values {points}")
        points.sort()
    return points


def _axis(claim: Any, context: Context, numeric: bool) -> Axis:
    points = _axis_points(claim, context, numeric)
    if len(points) < 2:
        reason = (
            f"axis {claim.axis!r} takes one value ({_short(points[0])}) in "
            f"where={_where_repr(claim.where)}"
        )
        raise Stop("INCONCLUSIVE", reason)
    tables = [
        _table(
            context, claim.observable, {**claim.where, claim.axis: p}, f"{claim.axis}={_short(p)}"
        )
        for p in points
    ]
    _check_seeds(claim, tables)
    groups, _ = _groups(tables, None)
    _check_missing(claim, tables, groups)
    if claim.group_reduce in ("all", "any"):
        per_seed = [{s: {g: t.at(s, g) for g in groups} for s in t.seeds} for t in tables]
        checked = groups
    else:
        reduce = AGGREGATES[claim.group_reduce]
        per_seed = [{s: {"": v} for s, v in _per_seed(t, groups, reduce).items()} for t in tables]
        checked = [""]
    series = {
        g: [_aggregate([v[g] for v in seeds.values()], claim.aggregate) for seeds in per_seed]
        for g in checked
    }
    return Axis(points, tables, checked, per_seed, series, tables[0].word())


class _AxisKind(ClaimKind[C]):
    """Shared by the kinds over a sweep axis: one panel (a colour per axis value), per-seed rows,
    the figure."""

    def selections(self, claim, context):
        # One panel: the cells along the axis share it, a colour per axis value (Fig. 4 style).
        return [(f"{_where_text(claim.where)}, by {claim.axis}", dict(claim.where))]

    def expected_sentence(self, claim, observables=None):
        word, subject = (
            _word(claim.observable, observables),
            _subject(claim.observable, observables),
        )
        scope = ""
        if claim.group_reduce in ("all", "any"):
            scope = f" in {'every' if claim.group_reduce == 'all' else 'at least one'} {word}"
        else:
            subject = f"the {claim.group_reduce} over {word}s of {subject}"
        return (
            f"{_in_cells(claim.where)}, {subject} {self.expectation(claim)}{scope} "
            f"({claim.aggregate} over seeds)."
        )

    def expectation(self, claim) -> str:
        raise NotImplementedError

    def test(self, claim, seq: Sequence[float]) -> tuple[bool, float]:
        raise NotImplementedError

    def judge(self, claim, context):
        data = _axis(claim, context, numeric=self.kind == "monotonic")
        self.precheck(claim, data)
        evidence = []
        common = [s for s in data.tables[0].seeds if _in_all(s, data.tables)]
        for g in data.groups:
            for s in common:
                seq = [data.per_seed[i][s][g] for i in range(len(data.points))]
                label = (
                    _row_label(s, g, data.word) if g else f"s{s} ({claim.group_reduce} over groups)"
                )
                cell_ids = ", ".join(t.cells[s].cell_id for t in data.tables)
                row = {t.label: v for t, v in zip(data.tables, seq, strict=True)}
                evidence.append(Evidence(label, row, cell_ids, self.test(claim, seq)[0]))
        summary: dict[str, dict[str, Any]] = {}
        for g in data.groups:
            ok, margin = self.test(claim, data.series[g])
            summary[g] = {"values": data.series[g], "margin": margin, "passed": ok}
            row = {t.label: v for t, v in zip(data.tables, data.series[g], strict=True)}
            evidence.append(
                Evidence(
                    f"{claim.aggregate} over seeds" + (f" {data.word} {g}" if g else ""),
                    row,
                    None,
                    ok,
                )
            )
        check = GroupCheck(data.groups, summary, [])
        passed, margin, _ = check.decide("any" if claim.group_reduce == "any" else "all")
        if data.groups == [""]:
            values = ", ".join(
                f"{_fmt(v)} ({_short(p)})"
                for p, v in zip(data.points, data.series[""], strict=True)
            )
            sentence = (
                f"Observed {claim.group_reduce} over {data.word}s ({claim.aggregate} over seeds) "
                f"along {claim.axis}: {values}; "
                f"{self.verdict_text(claim, data.series[''], passed)}."
            )
        else:
            what = self.group_phrase(claim)
            sentence = _group_sentence(
                check,
                data.word,
                claim.aggregate,
                what,
                lambda g: ", ".join(_fmt(v) for v in summary[g]["values"]),
            )
        if data.groups == [""]:
            values_fig = {
                f"{claim.group_reduce} over groups": {
                    _short(p): data.series[""][i] for i, p in enumerate(data.points)
                }
            }
        else:
            values_fig = {
                t.label: {g: data.series[g][i] for g in data.groups}
                for i, t in enumerate(data.tables)
            }
        return self.result(
            claim,
            context,
            _verdict(passed),
            sentence,
            observed={
                "aggregate": claim.aggregate,
                "axis": claim.axis,
                "points": data.points,
                "groups": summary,
            },
            margin=margin,
            evidence=evidence,
            cells=_cell_ids(data.tables),
            groups=_groups_figure(values_fig, claim.observable),
        )

    def precheck(self, claim, data: Axis) -> None:
        pass

    def group_phrase(self, claim) -> str:
        """What each group satisfies, after ``3 of 5 modes``."""
        raise NotImplementedError

    def verdict_text(self, claim, seq: Sequence[float], passed: bool) -> str:
        raise NotImplementedError


class MonotonicKind(_AxisKind[MonotonicClaim]):
    """The seed-aggregated observable increases or decreases with a numeric sweep key ``axis``:
    each seed's groups reduced with ``group_reduce`` first, or in every (``all``) / some
    (``any``) group."""

    kind = "monotonic"
    params_model = MonotonicClaim
    example = {
        "id": "error_grows_with_alpha",
        "kind": "monotonic",
        "observable": "final_error",
        "axis": "model.alpha",
        "where": {"optimizer": "gn"},
        "direction": "increasing",
    }

    def expectation(self, claim):
        strict = "strictly" if claim.strict else "not strictly"
        return f"is {claim.direction} ({strict}) in {claim.axis}"

    def test(self, claim, seq):
        return _monotone(seq, claim.direction, claim.strict)

    def group_phrase(self, claim):
        return f"{claim.direction}{' strictly' if claim.strict else ''} in {claim.axis}"

    def verdict_text(self, claim, seq, passed):
        return claim.direction if passed else f"not {claim.direction}"


class IndependentOfKind(_AxisKind[IndependentOfClaim]):
    """The seed-aggregated observable varies by at most ``max_factor`` (max/min; positive values
    only) across the values of a sweep key ``axis``."""

    kind = "independent_of"
    params_model = IndependentOfClaim
    example = {
        "id": "gn_rate_independent_of_alpha",
        "kind": "independent_of",
        "observable": "gn_rates",
        "axis": "model.alpha",
        "where": {"optimizer": "gn"},
        "max_factor": 1.5,
    }

    def expectation(self, claim):
        return f"varies by at most a factor {_fmt(claim.max_factor)} (max/min) across {claim.axis}"

    def precheck(self, claim, data):
        for g, seq in data.series.items():
            for table, v in zip(data.tables, seq, strict=True):
                if v <= 0:
                    where = table.label + (f" {data.word} {g}" if g else "")
                    reason = (
                        f"max/min factor undefined for non-positive values ({where} = {_fmt(v)})"
                    )
                    raise Stop("INCONCLUSIVE", reason, _cell_ids(data.tables))

    def test(self, claim, seq):
        factor = max(seq) / min(seq) if min(seq) > 0 else math.inf
        return factor <= claim.max_factor, math.log(claim.max_factor) - math.log(factor)

    def group_phrase(self, claim):
        return f"within a factor {_fmt(claim.max_factor)} across {claim.axis}"

    def verdict_text(self, claim, seq, passed):
        return f"factor {_fmt(max(seq) / min(seq))}, allowed {_fmt(claim.max_factor)}"


# --- events and stability ------------------------------------------------------------------------


class EventKind(ClaimKind[EventClaim]):
    """A crossing observable happens in every seed and group (``happens: true``; with
    ``before``, its seed-aggregated step is below ``before``), or in none (``happens: false``;
    with ``before``: not before that step). A crossing that does not happen within the steps run
    is an observation here, not a missing value."""

    kind = "event"
    params_model = EventClaim
    example = {
        "id": "lm_reaches_1e-3",
        "kind": "event",
        "observable": "reaches_1e-3",
        "where": {"optimizer": "lm"},
        "before": 1000,
    }
    selections = staticmethod(_one_selection)

    def expected_sentence(self, claim, observables=None):
        subject = f"{_in_cells(claim.where)}, {_subject(claim.observable, observables)}"
        if not claim.happens:
            before = f" before step {claim.before}" if claim.before is not None else ""
            return f"{subject} does not happen{before} in any seed."
        before = f", at {claim.aggregate} step < {claim.before}" if claim.before is not None else ""
        return f"{subject} happens in every seed{before}."

    def judge(self, claim, context):
        obs = context.observables.get(claim.observable)
        if obs is None or obs.kind != "crossing":
            raise Stop(
                "ERROR", f"event needs a crossing observable; {claim.observable!r} is not one"
            )
        table = _table(context, claim.observable, claim.where)
        _check_seeds(claim, [table])
        groups, _ = _groups([table], None)
        _check_missing(claim, [table], groups, ignore=lambda o, g: g in o.censored)
        how, word, n, before = claim.aggregate, table.word(), len(table.seeds), claim.before

        def early(step: float | None) -> bool:
            return step is not None and (before is None or step < before)

        evidence, summary, parts = [], {}, []
        for g in groups:
            steps = {s: table.observed[s].get(g) for s in table.seeds}
            for s, step in steps.items():
                row: dict[str, Any] = {"step": step, "before": before}
                if step is None:
                    row["note"] = table.observed[s].why_missing(g)
                ok = early(step) == claim.happens
                evidence.append(Evidence(_row_label(s, g, word), row, table.cells[s].cell_id, ok))
            hit = [v for v in steps.values() if v is not None]
            without = [s for s, v in steps.items() if v is None]
            agg = _aggregate(hit, how) if hit else None
            margin: float | None = None
            if claim.happens:
                ok = not without and (before is None or (agg is not None and agg < before))
                if before is not None and agg is not None and not without:
                    margin = before - agg
            else:
                ok = not any(early(v) for v in hit)
                crossed = [v - before for v in hit if before is not None and v < before]
                margin = min(crossed) if crossed else None
            ci = _ci(hit, how) if not without else None
            summary[g] = {
                "step": agg,
                "ci95": ci,
                "seeds_without": without,
                "margin": margin,
                "passed": ok,
            }
            agg_row = {"step": agg, "before": before, "seeds without": len(without)}
            evidence.append(
                Evidence(
                    f"{how} over {_count(n, 'seed')}" + (f" {word} {g}" if g else ""),
                    agg_row,
                    None,
                    ok,
                )
            )
            text = f"{word} {g}: " if g else ""
            text += f"happened in {n - len(without)} of {_count(n, 'seed')}"
            if agg is not None:
                text += f", {how} step {_fmt(agg)}" + (
                    f" (95% CI [{_fmt(ci[0])}, {_fmt(ci[1])}])" if ci else ""
                )
            if without:
                why = table.observed[without[0]].why_missing(g)
                text += f"; not in seed {', '.join(map(str, without))} ({why})"
            parts.append((ok, text))
        passed = all(s["passed"] for s in summary.values())
        known = [s["margin"] for s in summary.values() if s["margin"] is not None]
        failing = [t for ok, t in parts if not ok]
        shown = failing or [t for _, t in parts][:2] + (
            [f"and {len(parts) - 2} more {word}s"] if len(parts) > 2 else []
        )
        band = [None, before] if before is not None and claim.happens else None
        steps_fig = {g: s["step"] for g, s in summary.items() if s["step"] is not None}
        return self.result(
            claim,
            context,
            _verdict(passed),
            f"Observed {_clip(shown)}.",
            observed={"aggregate": how, "seeds": table.seeds, "groups": summary},
            margin=min(known) if known else None,
            evidence=evidence,
            cells=_cell_ids([table]),
            groups=_groups_figure({table.label: steps_fig}, f"{claim.observable} (step)", band),
        )


class StableKind(ClaimKind[StableClaim]):
    """Every selected cell finished: a diverged or errored cell fails the claim; a cell that was
    not run is missing (``on_missing``)."""

    kind = "stable"
    params_model = StableClaim
    example = {"id": "gn_stable", "kind": "stable", "where": {"optimizer": "gn"}}

    def expected_sentence(self, claim, observables=None):
        where = f"with {_where_text(claim.where)}" if claim.where else "of the run"
        return f"Every cell {where} finishes with finite values (no divergence, no error)."

    def judge(self, claim, context):
        cells = context.matching(claim.where)
        ids = [c.cell_id for c in cells]
        seeds = sorted({c.seed for c in cells})
        if len(seeds) < claim.min_seeds:
            listed = ", ".join(map(str, seeds))
            reason = (
                f"{_count(len(seeds), 'seed')} ({listed}), fewer than min_seeds={claim.min_seeds}"
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
            listed = _clip([_status_text(c) for c in unstable])
            sentence = f"{len(unstable)} of {_count(len(cells), 'cell')} did not finish: {listed}."
            return self.result(
                claim, context, "FAIL", sentence, observed=observed, evidence=evidence, cells=ids
            )
        if absent:
            verdict: Verdict = "FAIL" if claim.on_missing == "fail" else "INCONCLUSIVE"
            reason = f"missing values ({_clip(absent)})"
            sentence = reason if verdict == "FAIL" else f"Not judged: {reason}"
            return self.result(
                claim, context, verdict, f"{sentence}.", evidence=evidence, cells=ids, reason=reason
            )
        sentence = f"All {_count(len(cells), 'cell')} finished ({_count(len(seeds), 'seed')})."
        return self.result(
            claim, context, "PASS", sentence, observed=observed, evidence=evidence, cells=ids
        )


class SeedSpreadKind(ClaimKind[SeedSpreadClaim]):
    """The spread over seeds, ``max - min`` of the observable across the seeds of one selection,
    is at most ``max`` in every group (a narrow seed band, App. E of the paper)."""

    kind = "seed_spread"
    params_model = SeedSpreadClaim
    example = {
        "id": "gn_seed_band",
        "kind": "seed_spread",
        "observable": "gn_final",
        "where": {"optimizer": "gn"},
        "max": 0.01,
    }
    selections = staticmethod(_one_selection)

    def expected_sentence(self, claim, observables=None):
        word, subject = (
            _word(claim.observable, observables),
            _subject(claim.observable, observables),
        )
        return (
            f"{_in_cells(claim.where)}, {subject} differs across seeds by at most "
            f"{_fmt(claim.max)} (max - min){_in_scope(claim.groups, word)} "
            f"(at least {claim.min_seeds} seeds)."
        )

    def judge(self, claim, context):
        table = _table(context, claim.observable, claim.where)
        _check_seeds(claim, [table])
        groups, _ = _groups([table], claim.groups)
        _check_missing(claim, [table], groups)
        word, n = table.word(), len(table.seeds)
        spreads: dict[str, dict[str, float]] = {}
        evidence = []
        for seed in table.seeds:
            row = {_group_name(word, g) or "value": table.at(seed, g) for g in groups}
            evidence.append(Evidence(f"s{seed}", row, table.cells[seed].cell_id, None))
        for g in groups:
            column = table.column(g)
            low, high = float(column.min()), float(column.max())
            spreads[g] = {"min": low, "max": high, "spread": high - low}
            evidence.append(
                Evidence(
                    f"spread over {_count(n, 'seed')}" + (f", {_group_name(word, g)}" if g else ""),
                    {**spreads[g], "bound": claim.max},
                    None,
                    high - low <= claim.max,
                )
            )
        widest = max(groups, key=lambda g: spreads[g]["spread"])
        passed = spreads[widest]["spread"] <= claim.max
        at = f" at {_group_name(word, widest)}" if widest else ""
        sentence = (
            f"Observed spread {_fmt(spreads[widest]['spread'])}{at} over {_count(n, 'seed')} "
            f"(from {_fmt(spreads[widest]['min'])} to {_fmt(spreads[widest]['max'])}), "
            f"{'' if passed else 'not '}<= {_fmt(claim.max)}."
        )
        return self.result(
            claim,
            context,
            _verdict(passed),
            sentence,
            observed={"seeds": table.seeds, "groups": spreads, "value": spreads[widest]["spread"]},
            margin=claim.max - spreads[widest]["spread"],
            evidence=evidence,
            cells=_cell_ids([table]),
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


CLAIM_KINDS: dict[str, type[ClaimKind[Any]]] = {
    kind.kind: kind
    for kind in (
        ThresholdKind,
        CompareKind,
        OrderingKind,
        RateKind,
        UniformAcrossKind,
        MonotonicKind,
        IndependentOfKind,
        EventKind,
        StableKind,
        MatchesKind,
        SeedSpreadKind,
    )
}


# --- entry points --------------------------------------------------------------------------------


def judge(spec: Spec, cells: Sequence[CellResult]) -> list[ClaimResult]:
    """Judge every claim of ``spec`` on ``cells`` (in spec order); never raises for a claim."""
    context = Context(spec.observables, list(cells))
    return [judge_claim(claim, context) for claim in spec.claims]


def judge_claim(claim: ClaimBase, context: Context) -> ClaimResult:
    """One claim; a claim whose evaluation raises is ERROR with the exception as its reason."""
    name = str(getattr(claim, "kind", "?"))
    try:
        return CLAIM_KINDS[name]().evaluate(claim, context)
    except Exception as exc:  # noqa: BLE001 - one claim's failure must not stop the others
        reason = f"{type(exc).__name__}: {exc}"
        try:
            expected = CLAIM_KINDS[name]().expected_sentence(claim, context.observables)
        except Exception:  # noqa: BLE001
            expected = claim.statement or claim.id
        return ClaimResult(
            id=claim.id,
            kind=name,
            verdict="ERROR",
            expected=claim.expected,
            expected_sentence=expected,
            observed_sentence=f"Evaluation raised {reason}.",
            statement=claim.statement,
            reason=reason,
        )


def describe_kinds() -> list[dict[str, Any]]:
    """For ``runner claims``: per kind its ``summary`` (the class docstring), ``parameters``
    (name, type, required, default, description; ``kind`` left out), a minimal ``example`` as
    YAML text (a one-item ``claims`` list; ``example_data`` is the same as a dict) and that
    example's expected ``sentence``."""
    out = []
    for kind, cls in CLAIM_KINDS.items():
        parameters = [
            {
                "name": name,
                "type": _type_text(info.annotation),
                "required": info.is_required(),
                "default": None
                if info.is_required()
                else info.get_default(call_default_factory=True),
                "description": info.description or "",
            }
            for name, info in cls.params_model.model_fields.items()
            if name != "kind"
        ]
        example = dict(cls.example)
        claim = cls.params_model.model_validate(example)
        out.append(
            {
                "kind": kind,
                "summary": " ".join((cls.__doc__ or "").split()),
                "parameters": parameters,
                "sentence": cls().expected_sentence(claim),
                "example": yaml.safe_dump([example], sort_keys=False),
                "example_data": example,
            }
        )
    return out


def _type_text(annotation: Any) -> str:
    """A readable type: ``float | null``, ``"all" | "any"``, ``list[str]``, ``Side``."""
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation is type(None):
        return "null"
    if annotation is Any:
        return "Any"
    if origin is Literal:
        return " | ".join(f'"{a}"' if isinstance(a, str) else str(a) for a in args)
    if origin is Annotated:
        return _type_text(args[0])
    if origin in (Union, UnionType):
        return " | ".join(_type_text(a) for a in args)
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(_type_text(a) for a in args)}]"
    return annotation.__name__ if isinstance(annotation, type) else str(annotation)


__all__ = [
    "CLAIM_KINDS",
    "ClaimKind",
    "Context",
    "GroupCheck",
    "Stop",
    "describe_kinds",
    "judge",
    "judge_claim",
]
