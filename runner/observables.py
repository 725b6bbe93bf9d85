"""Observables: named measurements of one cell, per group (DESIGN.md, "observables and claims").

:func:`observe` reads one cell's metric series (:meth:`runner.results.CellResult.series`) and
computes an observable of the spec's ``observables`` section for every group of the metric
(FFT mode, NTK eigenmode, ...; a scalar metric has the single group ``""``). Each group gets a
finite value or a reason why it has none:

* ``final``: the last evaluated value;
* ``value_at``: the value at the last evaluation at or before ``step``;
* ``decay_rate``: ``-slope`` of a least-squares line through ``ln(value)`` against step over the
  evaluated points of ``window`` (inclusive);
* ``crossing``: the first evaluated step at which the value is strictly ``below`` (or strictly
  ``above``) a threshold;
* ``window``: the max, min, mean or median over the evaluations inside ``window`` (inclusive),
  optionally divided by the value at the last evaluation at or before the window's start;
* ``delay``: ``end - start`` of two crossing observables.

Cells that did not run cleanly
------------------------------
An ``error`` or ``missing`` cell has no values: every group is missing (the key
:data:`ALL_GROUPS`). A ``diverged`` cell keeps its finite prefix, the evaluations strictly before
``diverged_at`` (or before the first non-finite row when ``diverged_at`` is unknown): a
``crossing`` or ``value_at`` inside the prefix is still defined; a ``final``, a ``value_at`` at or
after the divergence step, or a ``decay_rate`` whose window ends at or after it is missing.

``relative_to_initial`` divides by the step-0 value of each group (missing when that value is
zero or not finite). A ``value_at`` step beyond the last evaluated step and the last step trained
is missing (a short profile must not silently answer for a later step).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from runner.results import CellResult
from runner.spec import (
    CrossingObservable,
    DecayRateObservable,
    DelayObservable,
    FinalObservable,
    Observable,
    ValueAtObservable,
    WindowObservable,
)

ALL_GROUPS = "*"
"""The ``missing`` key that stands for every group (the cell has no usable series at all)."""


@dataclass
class Observed:
    """One observable of one cell.

    ``labels`` lists the groups in the metric's order; each is either in ``values`` (a finite
    float) or in ``missing`` (why not). ``missing`` may instead hold the single key
    :data:`ALL_GROUPS`. ``censored`` marks crossing groups that never crossed within the steps
    looked at (value: the last such step): they are missing, but the event claim reads them as
    "did not happen" rather than "unknown".
    """

    kind: str
    values: dict[str, float] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    censored: dict[str, int] = field(default_factory=dict)
    metric: str | None = None

    def get(self, group: str) -> float | None:
        return self.values.get(group)

    def why_missing(self, group: str) -> str | None:
        """The reason ``group`` has no value (None when it has one)."""
        if group in self.values:
            return None
        if group in self.missing:
            return self.missing[group]
        if ALL_GROUPS in self.missing:
            return self.missing[ALL_GROUPS]
        return f"group {group!r} not recorded"


def observe(name: str, spec_observables: Mapping[str, Observable], cell: CellResult) -> Observed:
    """The observable ``name`` (a key of the spec's ``observables``) measured on ``cell``."""
    observable = spec_observables[name]
    metric = _metric(observable, spec_observables)
    unusable = _unusable(cell)
    if unusable is not None:
        return Observed(observable.kind, missing={ALL_GROUPS: unusable}, metric=metric)
    if not isinstance(observable, DelayObservable) and not cell.has_series(observable.metric):
        reason = f"metric {observable.metric!r} not recorded"
        return Observed(observable.kind, missing={ALL_GROUPS: reason}, metric=metric)
    observed = OBSERVABLE_KINDS[observable.kind](observable, cell, spec_observables)
    observed.metric = metric
    return observed


def metric_of(name: str, spec_observables: Mapping[str, Observable]) -> str | None:
    """The metric an observable reads (a delay: its start crossing's metric)."""
    return _metric(spec_observables[name], spec_observables)


def _metric(observable: Any, spec_observables: Mapping[str, Observable]) -> str | None:
    if isinstance(observable, DelayObservable):
        start = spec_observables.get(observable.start)
        return getattr(start, "metric", None)
    return getattr(observable, "metric", None)


def _unusable(cell: CellResult) -> str | None:
    if cell.status == "error":
        first = (cell.error or "").strip().splitlines()
        return "cell errored" + (f": {first[-1]}" if first else "")
    if cell.status == "missing":
        return "cell missing (not run or not stored)"
    return None


# --- series helpers ----------------------------------------------------------------------------


def _cutoff(cell: CellResult, steps: np.ndarray, values: np.ndarray) -> int | None:
    """The first step a diverged cell's series may not be trusted at (None: not diverged)."""
    if cell.status != "diverged":
        return None
    if cell.diverged_at is not None:
        return int(cell.diverged_at)
    bad = ~np.all(np.isfinite(values), axis=1)
    return int(steps[np.argmax(bad)]) if bad.any() else int(steps[-1]) + 1 if steps.size else 0


def _diverged(cutoff: int) -> str:
    return f"cell diverged at step {cutoff}"


def _series(
    observable: Any, cell: CellResult
) -> tuple[np.ndarray, np.ndarray, list[str], dict[str, str], int | None]:
    """``(steps, values, labels, bad, cutoff)``: the metric, divided by its step-0 value when the
    observable asks; ``bad`` holds the groups whose step-0 value cannot divide."""
    series = cell.series(observable.metric)
    steps = np.asarray(series.steps, dtype=np.int64)
    values = np.array(series.values, dtype=float)
    cutoff = _cutoff(cell, steps, values)
    bad: dict[str, str] = {}
    if getattr(observable, "relative_to_initial", False):
        if steps.size == 0 or steps[0] != 0:
            bad = {label: "no step-0 value to divide by" for label in series.labels}
        else:
            initial = values[0].copy()
            for g, label in enumerate(series.labels):
                if not np.isfinite(initial[g]) or initial[g] == 0:
                    bad[label] = f"step-0 value is {initial[g]:g}; cannot divide by it"
                    initial[g] = np.nan
            values = values / initial
    return steps, values, list(series.labels), bad, cutoff


def _per_group(
    kind: str, labels: list[str], bad: dict[str, str], column: Callable[[int], float | str]
) -> Observed:
    """Build an :class:`Observed` from ``column(g)``: a finite value or a reason."""
    observed = Observed(kind, labels=list(labels))
    for g, label in enumerate(labels):
        result = bad[label] if label in bad else column(g)
        if isinstance(result, str):
            observed.missing[label] = result
        elif not np.isfinite(result):
            observed.missing[label] = f"value is not finite ({result})"
        else:
            observed.values[label] = float(result)
    return observed


# --- kinds -------------------------------------------------------------------------------------


def _final(observable: FinalObservable, cell: CellResult, _: Any) -> Observed:
    steps, values, labels, bad, cutoff = _series(observable, cell)
    if cutoff is not None:
        return Observed("final", labels=labels, missing=dict.fromkeys(labels, _diverged(cutoff)))
    if steps.size == 0:
        return Observed("final", labels=labels, missing={ALL_GROUPS: "no evaluated points"})
    return _per_group("final", labels, bad, lambda g: float(values[-1, g]))


def _value_at(observable: ValueAtObservable, cell: CellResult, _: Any) -> Observed:
    steps, values, labels, bad, cutoff = _series(observable, cell)
    step = observable.step
    reason = None
    if cutoff is not None and step >= cutoff:
        reason = f"{_diverged(cutoff)}, not after step {step}"
    elif steps.size == 0 or steps[0] > step:
        reason = f"no evaluation at or before step {step}"
    elif step > max(int(steps[-1]), cell.steps_done):
        reason = f"training ended at step {max(int(steps[-1]), cell.steps_done)}, before {step}"
    if reason is not None:
        return Observed("value_at", labels=labels, missing=dict.fromkeys(labels, reason))
    row = int(np.nonzero(steps <= step)[0][-1])
    return _per_group("value_at", labels, bad, lambda g: float(values[row, g]))


def _decay_rate(observable: DecayRateObservable, cell: CellResult, _: Any) -> Observed:
    steps, values, labels, bad, cutoff = _series(observable, cell)
    a, b = observable.window
    if cutoff is not None and cutoff <= b:
        reason = f"{_diverged(cutoff)}, inside or before window [{a}, {b}]"
        return Observed("decay_rate", labels=labels, missing=dict.fromkeys(labels, reason))
    inside = (steps >= a) & (steps <= b)
    t = steps[inside].astype(float)

    def rate(g: int) -> float | str:
        y = values[inside, g]
        if y.size < 2:
            return f"fewer than 2 evaluated points in window [{a}, {b}] ({y.size})"
        usable = np.isfinite(y) & (y > 0)
        if not usable.all():
            first = int(np.argmin(usable))
            return (
                f"non-positive or non-finite value in window [{a}, {b}] "
                f"(step {int(t[first])}: {y[first]:g})"
            )
        return -_slope(t, np.log(y))

    return _per_group("decay_rate", labels, bad, rate)


def _slope(t: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of ``y`` against ``t``."""
    dt = t - t.mean()
    return float(np.dot(dt, y - y.mean()) / np.dot(dt, dt))


def _crossing(observable: CrossingObservable, cell: CellResult, _: Any) -> Observed:
    steps, values, labels, bad, cutoff = _series(observable, cell)
    keep = steps < cutoff if cutoff is not None else np.ones(steps.shape, dtype=bool)
    steps, values = steps[keep], values[keep]
    below = observable.below is not None
    threshold = float(observable.below if below else observable.above)  # type: ignore[arg-type]
    side = "below" if below else "above"
    scale = " x the step-0 value" if observable.relative_to_initial else ""
    if cutoff is not None:
        limit = f"before the cell diverged at step {cutoff}"
    else:
        limit = f"within {int(steps[-1]) if steps.size else 0} steps"
    observed = Observed("crossing", labels=list(labels))
    for g, label in enumerate(labels):
        if label in bad:
            observed.missing[label] = bad[label]
            continue
        with np.errstate(invalid="ignore"):
            hit = (values[:, g] < threshold) if below else (values[:, g] > threshold)
        hit &= np.isfinite(values[:, g])
        if hit.any():
            observed.values[label] = float(steps[int(np.argmax(hit))])
        else:
            observed.missing[label] = f"never crossed {side} {threshold:g}{scale} {limit}"
            observed.censored[label] = int(steps[-1]) if steps.size else 0
    return observed


WINDOW_STATISTICS = {"max": np.max, "min": np.min, "mean": np.mean, "median": np.median}


def _window(observable: WindowObservable, cell: CellResult, _: Any) -> Observed:
    steps, values, labels, bad, cutoff = _series(observable, cell)
    a, b = observable.window
    reason = None
    trained = max(int(steps[-1]) if steps.size else 0, cell.steps_done)
    if cutoff is not None and cutoff <= b:
        reason = f"{_diverged(cutoff)}, inside or before window [{a}, {b}]"
    elif b > trained:
        reason = f"training ended at step {trained}, before {b}"
    elif not ((steps >= a) & (steps <= b)).any():
        reason = f"no evaluation in window [{a}, {b}]"
    elif observable.relative_to_start and not (steps <= a).any():
        reason = f"no evaluation at or before step {a} to divide by"
    if reason is not None:
        return Observed("window", labels=labels, missing=dict.fromkeys(labels, reason))
    inside = (steps >= a) & (steps <= b)
    start_row = int(np.nonzero(steps <= a)[0][-1]) if (steps <= a).any() else 0

    statistic = WINDOW_STATISTICS[observable.statistic]

    def summary(g: int) -> float | str:
        window = values[inside, g]
        if not np.all(np.isfinite(window)):
            return f"non-finite value in window [{a}, {b}]"
        if not observable.relative_to_start:
            return float(statistic(window))
        start = float(values[start_row, g])
        if not np.isfinite(start) or start == 0:
            return f"value at step {int(steps[start_row])} is {start:g}; cannot divide by it"
        return float(statistic(window)) / start

    return _per_group("window", labels, bad, summary)


def _delay(
    observable: DelayObservable, cell: CellResult, spec_observables: Mapping[str, Observable]
) -> Observed:
    start = observe(observable.start, spec_observables, cell)
    end = observe(observable.end, spec_observables, cell)
    labels = [label for label in start.labels if label in end.labels] or start.labels or end.labels
    observed = Observed("delay", labels=labels)
    for label in labels:
        a, b = start.get(label), end.get(label)
        if a is not None and b is not None:
            observed.values[label] = b - a
            continue
        parts = [
            f"{role} {name!r}: {obs.why_missing(label)}"
            for role, name, obs in (
                ("start", observable.start, start),
                ("end", observable.end, end),
            )
            if obs.get(label) is None
        ]
        observed.missing[label] = "; ".join(parts)
    if not labels:
        reasons = [start.missing.get(ALL_GROUPS), end.missing.get(ALL_GROUPS)]
        observed.missing[ALL_GROUPS] = "; ".join(r for r in reasons if r) or "no groups"
    return observed


ObservableKind = Callable[[Any, CellResult, Mapping[str, Observable]], Observed]

OBSERVABLE_KINDS: dict[str, ObservableKind] = {
    "final": _final,
    "value_at": _value_at,
    "decay_rate": _decay_rate,
    "crossing": _crossing,
    "window": _window,
    "delay": _delay,
}
