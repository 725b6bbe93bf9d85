"""Observable kinds: named measurements of one cell, per group.

A spec's ``observables:`` maps names to one of the kinds below. Each reads one cell's metric
series (:meth:`runner.results.CellResult.series`) and computes, for every group of the metric
(FFT mode, NTK eigenmode, ...; a scalar metric has the single group ``""``), a finite value or a
reason why there is none:

* ``final``: the last evaluated value;
* ``value_at``: the value at the last evaluation at or before ``step``;
* ``decay_rate``: ``-slope`` of a least-squares line through ``ln(value)`` against step over the
  evaluated points of ``window`` (inclusive) that stand above a noise ``floor`` (see
  :class:`DecayRateObservable`), with the slope's standard error in ``errors``;
* ``crossing``: the first evaluated step at which the value is strictly ``below`` (or strictly
  ``above``) a threshold;
* ``window``: the max, min, mean or median over the evaluations inside ``window`` (inclusive),
  optionally divided by the value at the last evaluation at or before the window's start;
* ``delay``: ``end - start`` of two crossing observables;
* ``group_spread``: the max/min ratio or cv of another observable across its groups, one number
  per cell (its single group ``""``).

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

Numerical error
---------------
An observable that knows the numerical error of its values records it per group in
``Observed.errors`` (in the value's units; claims add it to a margin's noise): ``decay_rate``
the standard error of its fitted slope, ``group_spread`` the first-order error of its statistic
from the errors of the values it spreads. ``Observed.points`` counts the points a fit used.

Adding a kind: a class here with ``kind: Literal[...]``, its fields, :meth:`ObservableKind.measure`
and :meth:`ObservableKind.describe`, and one line in :data:`OBSERVABLE_KINDS`. A kind built from
other observables names them in :meth:`ObservableKind.references` and says which it accepts in
:meth:`ObservableKind.reference_problem`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union

import numpy as np
from pydantic import AfterValidator, Field, model_validator

from runner.kinds.base import Kind
from runner.text import number

if TYPE_CHECKING:
    from runner.results import CellResult

ALL_GROUPS = "*"
"""The ``missing`` key that stands for every group (the cell has no usable series at all)."""


@dataclass
class Observed:
    """One observable of one cell.

    ``labels`` lists the groups in the metric's order; each is either in ``values`` (a finite
    float) or in ``missing`` (why not). ``missing`` may instead hold the single key
    :data:`ALL_GROUPS`. ``censored`` marks crossing groups that never crossed within the steps
    looked at (value: the last such step): they are missing, but the event claim reads them as
    "did not happen" rather than "unknown". ``errors`` holds, per group with a value, the
    numerical error of that value in its units where the kind knows it (a fitted rate's standard
    error); ``points`` the number of evaluated points a fit used, per group.
    """

    kind: str
    values: dict[str, float] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    labels: list[str] = field(default_factory=list)
    censored: dict[str, int] = field(default_factory=dict)
    metric: str | None = None
    errors: dict[str, float] = field(default_factory=dict)
    points: dict[str, int] = field(default_factory=dict)

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


# --- the base class ------------------------------------------------------------------------------


class ObservableKind(Kind):
    """One observable kind: its fields, how it measures a cell, how it reads in a sentence."""

    kind: str
    reads_metric: ClassVar[bool] = True  # False: built from other observables (``delay``)
    scalar: ClassVar[bool] = False  # True: one number per cell whatever its metric's groups

    def metric_name(self, observables: Mapping[str, Observable]) -> str | None:
        """The metric this observable reads (a delay: its start crossing's metric)."""
        return getattr(self, "metric", None)

    def measure(self, cell: CellResult, observables: Mapping[str, Observable]) -> Observed:
        """The observable on a cell that ran and recorded the metric."""
        raise NotImplementedError

    def describe(self) -> str:
        """The observable in words, e.g. ``the decay rate of fft_error on steps 300..1000``."""
        raise NotImplementedError

    def references(self) -> list[tuple[str, str]]:
        """``(field, observable name)`` of the other observables this one is built from."""
        return []

    def reference_problem(self, field: str, name: str, target: Any) -> str | None:
        """What is wrong with ``target``, the observable ``name`` that ``field`` refers to (None:
        nothing; ``target`` None: there is no such observable). The spec validator reports it."""
        return f"{name!r} is not an observable" if target is None else None


# --- series helpers ------------------------------------------------------------------------------


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


def _relative(observable: Any) -> str:
    return " / its step-0 value" if getattr(observable, "relative_to_initial", False) else ""


def _ordered_window(window: tuple[int, int]) -> tuple[int, int]:
    if not 0 <= window[0] < window[1]:
        raise ValueError(f"window must be [start, end] with 0 <= start < end, got {window}")
    return window


# Inclusive ``[start, end]`` steps of an observable's window (decay_rate, window).
StepWindow = Annotated[tuple[int, int], AfterValidator(_ordered_window)]


# --- kinds ---------------------------------------------------------------------------------------

_METRIC = Field(description="the recorded metric it reads (a metric's key, loss, train/<record>)")
_RELATIVE = Field(False, description="divide by the metric's step-0 value first")
_WINDOW = Field(description="[start, end] steps, inclusive")


class FinalObservable(ObservableKind):
    """The metric's last evaluated value (per group)."""

    kind: Literal["final"]
    example: ClassVar[dict[str, Any]] = {"metric": "fft_error"}
    metric: str = _METRIC
    relative_to_initial: bool = _RELATIVE

    def measure(self, cell, observables):
        steps, values, labels, bad, cutoff = _series(self, cell)
        if cutoff is not None:
            return Observed(
                "final", labels=labels, missing=dict.fromkeys(labels, _diverged(cutoff))
            )
        if steps.size == 0:
            return Observed("final", labels=labels, missing={ALL_GROUPS: "no evaluated points"})
        return _per_group("final", labels, bad, lambda g: float(values[-1, g]))

    def describe(self):
        return f"the final {self.metric}{_relative(self)}"


class ValueAtObservable(ObservableKind):
    """The metric at the last evaluation at or before ``step`` (per group)."""

    kind: Literal["value_at"]
    example: ClassVar[dict[str, Any]] = {"metric": "fft_error", "step": 100}
    metric: str = _METRIC
    step: int = Field(ge=0, description="the step to read (the last evaluation at or before)")
    relative_to_initial: bool = _RELATIVE

    def measure(self, cell, observables):
        steps, values, labels, bad, cutoff = _series(self, cell)
        step = self.step
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

    def describe(self):
        return f"{self.metric}{_relative(self)} at step {self.step}"


# ``floor: auto`` keeps the points above AUTO_FLOOR x eps x the metric's scale (the ``k`` of
# DecayRateObservable's docstring).
AUTO_FLOOR = 1.0


def rounding_eps(cell: CellResult, metric: str) -> float:
    """The unit roundoff of the precision ``metric`` was recorded in (its stored dtype; float64
    when that is not a floating type)."""
    if metric == "loss" or metric.startswith("train/"):
        raw = cell.records.get("loss" if metric == "loss" else metric.removeprefix("train/"))
    else:
        raw = cell.metrics.get(metric)
    dtype = np.asarray(raw).dtype if raw is not None else np.dtype(float)
    return float(np.finfo(dtype if np.issubdtype(dtype, np.floating) else float).eps)


def metric_scale(values: np.ndarray) -> float:
    """The metric's scale: the largest root-sum-square over its groups of an evaluated row (the
    norm of the residual for ``mode_error`` with every mode; the value itself for a scalar)."""
    with np.errstate(invalid="ignore", over="ignore"):
        rows = np.sqrt(np.nansum(np.where(np.isfinite(values), values, np.nan) ** 2, axis=1))
    rows = rows[np.isfinite(rows)]
    return float(rows.max()) if rows.size else 0.0


class DecayRateObservable(ObservableKind):
    """``-slope`` of a least-squares line through ``ln(metric)`` against step over the evaluated
    points of ``window`` (inclusive) that stand above ``floor``, per group: an exponential decay
    ``e(t) ~ exp(-rate t)`` has rate ``rate``. Fewer than ``min_points`` such points: missing.
    ``floor: auto`` (the default) leaves out what is zero to rounding, points at or below ``eps``
    of the recorded precision times the metric's scale (derived in :meth:`floor_value`); a number
    is an absolute floor in the metric's units, for a fit that must stay clear of a known rounding
    level (``specs/lemmas.yaml`` derives one); ``null`` fits every point (a non-positive value
    then makes the group missing). ``errors`` holds the slope's standard error
    ``sqrt(sum_i (y_i - yhat_i)^2 / (n - 2) / sum_i (t_i - tbar)^2)`` over the ``n`` fitted points
    ``(t_i, y_i = ln v_i)``, ``yhat`` the fitted line; ``points`` holds ``n``. The error needs
    ``n >= 3``, hence ``min_points`` 3 (two points always lie on their line and say nothing of how
    well a line fits; with ``min_points: 2`` a two-point fit has no ``errors`` entry)."""

    kind: Literal["decay_rate"]
    example: ClassVar[dict[str, Any]] = {"metric": "fft_error", "window": [0, 1000]}
    metric: str = _METRIC
    window: StepWindow = _WINDOW
    floor: Annotated[float, Field(gt=0)] | Literal["auto"] | None = Field(
        "auto",
        description="fit only the points whose value is above this: an absolute value in the "
        "metric's units, `auto` (the recorded precision's eps x the metric's scale, its largest "
        "root-sum-square over groups: what is zero to rounding) or null (every point)",
    )
    min_points: int = Field(
        3,
        ge=2,
        description="fewer points above the floor in the window: missing (3 is the fewest with "
        "a standard error)",
    )

    def floor_value(self, cell: CellResult, steps: np.ndarray, values: np.ndarray) -> float | None:
        """The absolute floor for this cell (None: no floor); ``floor: auto`` is derived here.

        A metric computed with unit roundoff ``eps`` from ingredients of size ``S`` (a projection
        ``u^T r`` of a residual of norm ``S``, an FFT bin, an eigenvalue of a kernel whose largest
        is ``S``) carries an absolute rounding error ``a = c eps S``: ``c >= 1`` collects the
        length of the sums (about ``sqrt(m)`` for ``m`` terms) and the conditioning of whatever
        produced the residual (a solve with condition number ``kappa`` multiplies it by up to
        ``kappa``: LM with ``lambda_max / mu = 1e5`` shows ``c ~ 1e3`` in ``specs/lemmas.yaml``).
        A point of value ``v`` then has relative error ``a / v``, and ``ln v`` an absolute error
        ``a / v``: as ``v`` nears ``a`` the slope measures rounding, not decay.

        ``auto`` keeps the points above ``k eps S`` with ``k = 1``: ``S`` the metric's scale
        (:func:`metric_scale`, the largest root-sum-square over the groups of an evaluated row up
        to the window's end), ``eps`` that of the precision the metric was recorded in
        (:func:`rounding_eps`). Below ``eps S`` a metric linear in the residual is zero to
        rounding even at ``c = 1``. No larger ``k`` is safe without knowing how the metric depends
        on the residual: one quadratic in it (a loss, an mse) rounds near zero only at about
        ``(eps sqrt(S))^2 = eps^2 S``, so at ``eps S`` it still has half its digits
        (``pinn_poisson``'s float32 LM loss ends at 3.6 ``eps32`` of its start, every point
        signal). So ``auto`` drops only what is rounding whatever the metric (a mode fitted to
        zero, a value below its scale's last digit), and every shipped spec fits the points it
        fitted before (checked on their default and smoke runs: none dropped). A fit that must
        resolve a rate while the metric nears ``c eps S`` with ``c`` far above 1 (a lemma's rate
        to 1e-5 while a mode falls by 2^20 and a solve has ``c ~ 1e3``) sets ``floor`` to a
        number derived from its own error bound, as ``specs/lemmas.yaml`` does.
        """
        if self.floor is None or not isinstance(self.floor, str):
            return self.floor
        scale = metric_scale(values[steps <= self.window[1]])
        return AUTO_FLOOR * rounding_eps(cell, self.metric) * scale

    def measure(self, cell, observables):
        steps, values, labels, bad, cutoff = _series(self, cell)
        a, b = self.window
        if cutoff is not None and cutoff <= b:
            reason = f"{_diverged(cutoff)}, inside or before window [{a}, {b}]"
            return Observed("decay_rate", labels=labels, missing=dict.fromkeys(labels, reason))
        inside = (steps >= a) & (steps <= b)
        t = steps[inside].astype(float)
        floor = self.floor_value(cell, steps, values)
        observed = Observed("decay_rate", labels=list(labels))
        for g, label in enumerate(labels):
            fit = bad[label] if label in bad else self._fit(t, values[inside, g], floor)
            if isinstance(fit, str):
                observed.missing[label] = fit
                continue
            rate, error, n = fit
            if not np.isfinite(rate):
                observed.missing[label] = f"value is not finite ({rate})"
                continue
            observed.values[label], observed.points[label] = rate, n
            if error is not None:
                observed.errors[label] = error
        return observed

    def _fit(
        self, t: np.ndarray, y: np.ndarray, floor: float | None
    ) -> tuple[float, float | None, int] | str:
        """``(rate, standard error or None, points)``, or why there is none."""
        a, b = self.window
        need = self.min_points
        if y.size < need:
            return f"fewer than {need} evaluated points in window [{a}, {b}] ({y.size})"
        finite = np.isfinite(y)
        usable = finite & (y > 0) if floor is None else finite
        if not usable.all():
            first = int(np.argmin(usable))
            what = "non-positive or non-finite" if floor is None else "non-finite"
            return f"{what} value in window [{a}, {b}] (step {int(t[first])}: {y[first]:g})"
        kept = y > (floor or 0.0)
        n = int(kept.sum())
        if n < need:
            return (
                f"{n} of {y.size} evaluated points in window [{a}, {b}] above the floor "
                f"{number(floor)}, fewer than min_points={need}"
            )
        slope, error = _line(t[kept], np.log(y[kept]))
        return -slope, error, n

    def describe(self):
        text = f"the decay rate of {self.metric} on steps {self.window[0]}..{self.window[1]}"
        if self.floor is None:
            return f"{text} (every point)"
        return text if isinstance(self.floor, str) else f"{text} above {number(self.floor)}"


def _line(t: np.ndarray, y: np.ndarray) -> tuple[float, float | None]:
    """Least-squares slope of ``y`` against ``t`` and its standard error (None under 3 points)."""
    dt = t - t.mean()
    stt = float(np.dot(dt, dt))
    slope = float(np.dot(dt, y - y.mean()) / stt)
    if t.size < 3:
        return slope, None
    residual = y - y.mean() - slope * dt
    return slope, float(np.sqrt(np.dot(residual, residual) / (t.size - 2) / stt))


class CrossingObservable(ObservableKind):
    """First evaluated step at which the metric goes ``below`` (or ``above``) a value; missing
    if it never does. ``relative_to_initial`` divides the metric by its step-0 value first."""

    kind: Literal["crossing"]
    example: ClassVar[dict[str, Any]] = {"metric": "loss", "below": 0.5}
    metric: str = _METRIC
    below: float | None = Field(None, description="the first step strictly below this value")
    above: float | None = Field(None, description="the first step strictly above this value")
    relative_to_initial: bool = _RELATIVE

    @model_validator(mode="after")
    def _one_side(self) -> CrossingObservable:
        if (self.below is None) == (self.above is None):
            raise ValueError("give exactly one of 'below' and 'above'")
        return self

    def measure(self, cell, observables):
        steps, values, labels, bad, cutoff = _series(self, cell)
        keep = steps < cutoff if cutoff is not None else np.ones(steps.shape, dtype=bool)
        steps, values = steps[keep], values[keep]
        below = self.below is not None
        threshold = float(self.below if below else self.above)  # type: ignore[arg-type]
        side = "below" if below else "above"
        scale = " x the step-0 value" if self.relative_to_initial else ""
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

    def describe(self):
        side, v = ("<", self.below) if self.below is not None else (">", self.above)
        return f"the first step with {self.metric}{_relative(self)} {side} {number(v)}"


WINDOW_STATISTICS = {"max": np.max, "min": np.min, "mean": np.mean, "median": np.median}


class WindowObservable(ObservableKind):
    """A ``statistic`` of the metric over the evaluations inside ``window`` (inclusive), per
    group: ``max`` (a spike after an optimizer switch, Fig. 12), ``min``, ``mean`` or ``median``
    (a level that a few transient spikes do not move, unlike ``final``). With
    ``relative_to_start`` it is divided by the value at the last evaluation at or before the
    window's start. Missing when training ended, or the cell diverged, before the window's end."""

    kind: Literal["window"]
    example: ClassVar[dict[str, Any]] = {
        "metric": "fft_error",
        "window": [0, 1000],
        "statistic": "max",
    }
    metric: str = _METRIC
    window: StepWindow = _WINDOW
    statistic: Literal["max", "min", "mean", "median"] = Field(
        description="what is taken over the window's evaluations"
    )
    relative_to_start: bool = Field(
        False, description="divide by the value at the last evaluation at or before the start"
    )

    def measure(self, cell, observables):
        steps, values, labels, bad, cutoff = _series(self, cell)
        a, b = self.window
        reason = None
        trained = max(int(steps[-1]) if steps.size else 0, cell.steps_done)
        if cutoff is not None and cutoff <= b:
            reason = f"{_diverged(cutoff)}, inside or before window [{a}, {b}]"
        elif b > trained:
            reason = f"training ended at step {trained}, before {b}"
        elif not ((steps >= a) & (steps <= b)).any():
            reason = f"no evaluation in window [{a}, {b}]"
        elif self.relative_to_start and not (steps <= a).any():
            reason = f"no evaluation at or before step {a} to divide by"
        if reason is not None:
            return Observed("window", labels=labels, missing=dict.fromkeys(labels, reason))
        inside = (steps >= a) & (steps <= b)
        start_row = int(np.nonzero(steps <= a)[0][-1]) if (steps <= a).any() else 0
        statistic = WINDOW_STATISTICS[self.statistic]

        def summary(g: int) -> float | str:
            window = values[inside, g]
            if not np.all(np.isfinite(window)):
                return f"non-finite value in window [{a}, {b}]"
            if not self.relative_to_start:
                return float(statistic(window))
            start = float(values[start_row, g])
            if not np.isfinite(start) or start == 0:
                return f"value at step {int(steps[start_row])} is {start:g}; cannot divide by it"
            return float(statistic(window)) / start

        return _per_group("window", labels, bad, summary)

    def describe(self):
        a, b = self.window
        start = f" / its value at step {a}" if self.relative_to_start else ""
        return f"the {self.statistic} of {self.metric} on steps {a}..{b}{start}"


class DelayObservable(ObservableKind):
    """``end - start`` for two crossing observables named in the spec."""

    kind: Literal["delay"]
    example: ClassVar[dict[str, Any]] = {"start": "loss_halved", "end": "loss_tenth"}
    start: str = Field(description="the crossing observable that starts the delay")
    end: str = Field(description="the crossing observable that ends it")
    reads_metric: ClassVar[bool] = False

    def metric_name(self, observables):
        return getattr(observables.get(self.start), "metric", None)

    def references(self):
        return [("start", self.start), ("end", self.end)]

    def reference_problem(self, field, name, target):
        return (
            None
            if isinstance(target, CrossingObservable)
            else (f"{name!r} is not a crossing observable")
        )

    def measure(self, cell, observables):
        start = observe(self.start, observables, cell)
        end = observe(self.end, observables, cell)
        labels = [g for g in start.labels if g in end.labels] or start.labels or end.labels
        observed = Observed("delay", labels=labels)
        for label in labels:
            a, b = start.get(label), end.get(label)
            if a is not None and b is not None:
                observed.values[label] = b - a
                continue
            parts = [
                f"{role} {name!r}: {obs.why_missing(label)}"
                for role, name, obs in (("start", self.start, start), ("end", self.end, end))
                if obs.get(label) is None
            ]
            observed.missing[label] = "; ".join(parts)
        if not labels:
            reasons = [start.missing.get(ALL_GROUPS), end.missing.get(ALL_GROUPS)]
            observed.missing[ALL_GROUPS] = "; ".join(r for r in reasons if r) or "no groups"
        return observed

    def describe(self):
        return f"the delay from {self.start} to {self.end}"


SPREAD_STATISTICS = ("max_min_ratio", "cv")


def spread_of(values: np.ndarray, statistic: str) -> float | str:
    """The spread of ``values``: ``max_min_ratio`` (largest / smallest) or ``cv`` (population
    std / |mean|); a reason when it is undefined."""
    if statistic == "max_min_ratio":
        low = float(values.min())
        if low <= 0:
            return f"max/min ratio undefined: the smallest value is {number(low)} (<= 0)"
        return float(values.max()) / low
    mean = float(values.mean())
    if mean == 0:
        return "cv undefined: the mean is 0"
    return float(values.std()) / abs(mean)


def _listed(labels: list[str]) -> str:
    """``1..10`` for consecutive integers, else a comma list."""
    if len(labels) > 2 and all(g.lstrip("-").isdigit() for g in labels):
        ints = [int(g) for g in labels]
        if ints == list(range(ints[0], ints[0] + len(ints))):
            return f"{ints[0]}..{ints[-1]}"
    return ", ".join(labels)


class GroupSpreadObservable(ObservableKind):
    """The spread of another observable (``of``) across its groups, in one cell: ``max_min_ratio``
    (largest over smallest value; missing unless the smallest is positive) or ``cv`` (population
    standard deviation over |mean|; missing when the mean is 0). One number per cell (the single
    group ``""``), so a claim compares spreads between selections (``compare``: GD's spread of
    mode rates is 10 x GN's) or bounds one (``threshold``). Missing when a spread group of ``of``
    is; its error is the statistic's first-order error from ``of``'s ``errors``."""

    kind: Literal["group_spread"]
    example: ClassVar[dict[str, Any]] = {"of": "rates", "statistic": "cv"}
    of: str = Field(description="the observable spread across its groups (a per-group one)")
    statistic: Literal["max_min_ratio", "cv"] = Field(
        "max_min_ratio",
        description="`max_min_ratio`: largest over smallest value; `cv`: standard deviation "
        "over |mean|",
    )
    groups: list[str] | None = Field(
        None, description="the groups spread over, by label; null: every group of `of`"
    )
    reads_metric: ClassVar[bool] = False
    scalar: ClassVar[bool] = True

    def metric_name(self, observables):
        target = observables.get(self.of)
        if target is None or isinstance(target, GroupSpreadObservable):
            return None
        return target.metric_name(observables)

    def references(self):
        return [("of", self.of)]

    def reference_problem(self, field, name, target):
        if target is None:
            return f"{name!r} is not an observable"
        if isinstance(target, GroupSpreadObservable):
            return f"{name!r} is a group_spread (one number per cell): spread a per-group one"
        return None

    def measure(self, cell, observables):
        inner = observe(self.of, observables, cell)
        observed = Observed("group_spread", labels=[""])
        groups = self.groups if self.groups is not None else inner.labels
        if not groups and ALL_GROUPS in inner.missing:
            observed.missing[""] = f"{self.of!r}: {inner.missing[ALL_GROUPS]}"
            return observed
        if len(groups) < 2:
            observed.missing[""] = f"a spread needs 2 groups or more; {self.of!r} has {len(groups)}"
            return observed
        lost = [g for g in groups if inner.get(g) is None]
        if lost:
            reasons = "; ".join(f"{g}: {inner.why_missing(g)}" for g in lost[:3])
            more = f"; and {len(lost) - 3} more" if len(lost) > 3 else ""
            observed.missing[""] = f"{self.of!r} has no value in group {reasons}{more}"
            return observed
        x = np.array([inner.values[g] for g in groups], dtype=float)
        stat = spread_of(x, self.statistic)
        if isinstance(stat, str):
            observed.missing[""] = stat
            return observed
        observed.values[""] = stat
        if all(g in inner.errors for g in groups):
            observed.errors[""] = self._error(x, [inner.errors[g] for g in groups], stat)
        return observed

    def _error(self, x: np.ndarray, errors: list[float], stat: float) -> float:
        """First order: the sum over groups of how far the statistic moves when that group's
        value moves by its error (inf when a move makes it undefined)."""
        total = 0.0
        for g, e in enumerate(errors):
            moved = x.copy()
            moved[g] += abs(e)
            other = spread_of(moved, self.statistic)
            total += math.inf if isinstance(other, str) else abs(other - stat)
        return total

    def describe(self):
        what = "max/min ratio" if self.statistic == "max_min_ratio" else "cv"
        over = "its groups" if self.groups is None else f"groups {_listed(self.groups)}"
        return f"the {what} over {over} of {self.of}"


# --- the registry --------------------------------------------------------------------------------

OBSERVABLE_KINDS: tuple[type[ObservableKind], ...] = (
    FinalObservable,
    ValueAtObservable,
    DecayRateObservable,
    CrossingObservable,
    WindowObservable,
    DelayObservable,
    GroupSpreadObservable,
)

Observable = Annotated[Union[OBSERVABLE_KINDS], Field(discriminator="kind")]  # noqa: UP007


def observe(name: str, observables: Mapping[str, Observable], cell: CellResult) -> Observed:
    """The observable ``name`` (a key of the spec's ``observables``) measured on ``cell``."""
    observable = observables[name]
    metric = observable.metric_name(observables)
    unusable = _unusable(cell)
    if unusable is not None:
        return Observed(observable.kind, missing={ALL_GROUPS: unusable}, metric=metric)
    if observable.reads_metric and not cell.has_series(observable.metric):  # type: ignore[attr-defined]
        reason = f"metric {observable.metric!r} not recorded"  # type: ignore[attr-defined]
        return Observed(observable.kind, missing={ALL_GROUPS: reason}, metric=metric)
    observed = observable.measure(cell, observables)
    observed.metric = metric
    return observed


def metric_of(name: str, observables: Mapping[str, Observable]) -> str | None:
    """The metric an observable reads (a delay: its start crossing's metric)."""
    return observables[name].metric_name(observables)


def describe(name: str, observables: Mapping[str, Observable] | None) -> str:
    """The observable in words with its name: ``the decay rate of fft_error on steps 300..1000
    (gn_rates)``; the bare name when the spec does not define it."""
    observable = (observables or {}).get(name)
    if observable is None:
        return name
    return f"{observable.describe()} ({name})"


def _unusable(cell: CellResult) -> str | None:
    if cell.status == "error":
        first = (cell.error or "").strip().splitlines()
        return "cell errored" + (f": {first[-1]}" if first else "")
    if cell.status == "missing":
        return "cell missing (not run or not stored)"
    return None


__all__ = [
    "ALL_GROUPS",
    "OBSERVABLE_KINDS",
    "Observable",
    "ObservableKind",
    "Observed",
    "StepWindow",
    "describe",
    "metric_of",
    "observe",
]
