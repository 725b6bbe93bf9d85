"""Observable kinds: named measurements of one cell, per group.

A spec's ``observables:`` maps names to one of the kinds below. Each reads one cell's metric
series (:meth:`runner.results.CellResult.series`) and computes, for every group of the metric
(FFT mode, NTK eigenmode, ...; a scalar metric has the single group ``""``), a finite value or a
reason why there is none:

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

Adding a kind: a class here with ``kind: Literal[...]``, its fields, :meth:`ObservableKind.measure`
and :meth:`ObservableKind.describe`, and one line in :data:`OBSERVABLE_KINDS`.
"""

from __future__ import annotations

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


# --- the base class ------------------------------------------------------------------------------


class ObservableKind(Kind):
    """One observable kind: its fields, how it measures a cell, how it reads in a sentence."""

    kind: str
    reads_metric: ClassVar[bool] = True  # False: built from other observables (``delay``)

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


class DecayRateObservable(ObservableKind):
    """``-slope`` of a least-squares line through ``ln(metric)`` against step over ``window``
    (inclusive), per group: an exponential decay ``e(t) ~ exp(-rate t)`` has rate ``rate``."""

    kind: Literal["decay_rate"]
    example: ClassVar[dict[str, Any]] = {"metric": "fft_error", "window": [0, 1000]}
    metric: str = _METRIC
    window: StepWindow = _WINDOW

    def measure(self, cell, observables):
        steps, values, labels, bad, cutoff = _series(self, cell)
        a, b = self.window
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

    def describe(self):
        return f"the decay rate of {self.metric} on steps {self.window[0]}..{self.window[1]}"


def _slope(t: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of ``y`` against ``t``."""
    dt = t - t.mean()
    return float(np.dot(dt, y - y.mean()) / np.dot(dt, dt))


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


# --- the registry --------------------------------------------------------------------------------

OBSERVABLE_KINDS: tuple[type[ObservableKind], ...] = (
    FinalObservable,
    ValueAtObservable,
    DecayRateObservable,
    CrossingObservable,
    WindowObservable,
    DelayObservable,
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
