"""Metric kinds (``metrics: [{kind: ...}]``): what a cell records at every evaluation.

Each kind holds its fields, says what it ``needs`` (see :mod:`runner.kinds.base`), computes its
value inside the compiled evaluation function (:meth:`MetricKind.value`, from an
:class:`Evaluation`), names its groups (:meth:`MetricKind.groups`: FFT modes, NTK eigenmodes;
``None`` for a scalar) and says what one group is called in sentences (``group_word``).

A metric is recorded under its ``key``: the ``name`` given, else its ``kind``, prefixed
``train_`` when it is measured ``on: train``. ``core`` and JAX are imported inside the methods,
so validating a spec never imports JAX.

Adding a kind: a class here and one line in :data:`METRIC_KINDS`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, Field

from runner.kinds.base import Part

EvalSet = Literal["eval", "train"]
_ON = Field(
    "eval",
    description="eval: the task's evaluation set (the test set of modular_addition and "
    "polynomial, the grid of the regressions, the exact-solution grid of the PINN); train: the "
    "training set",
)
_MODES = Field(None, ge=1, description="keep this many modes (null: all)")


@dataclass
class Evaluation:
    """What the metrics read at one evaluation, inside the compiled evaluation function.

    ``data`` holds ``inputs`` and ``targets`` (the evaluation set), ``train`` (the training
    batch), ``params0`` and, when a metric uses the initial NTK, ``gram0``, ``eigenvectors0``
    (columns, largest eigenvalue first) and ``lemma_rate``; ``teacher`` for a target formula.
    ``predictions`` and ``targets`` are keyed by ``eval`` and ``train``.
    """

    objective: Any
    params: Any
    data: Mapping[str, Any]
    grid_shape: tuple[int, ...]
    predictions: Mapping[str, Any]
    targets: Mapping[str, Any]

    def residual(self) -> Any:
        """The objective's residuals on the training set."""
        return residual(self.objective, self.params, self.data["train"])

    def gram(self) -> Any:
        """The Gram matrix ``J J^T`` of the residuals on the training set."""
        return gram(self.objective, self.params, self.data["train"])


def residual(objective: Any, params: Any, batch: Any) -> Any:
    return objective.extra_args(params, batch)["residual_fn"](params)


def gram(objective: Any, params: Any, batch: Any) -> Any:
    from core import curvature

    extra = objective.extra_args(params, batch)
    operator = curvature.JacobianOperator(extra["residual_fn"], params)
    return curvature.build_gram(operator, gram_fn=extra.get("gram_fn"))


class MetricKind(Part):
    """``name``: the key the metric is recorded under (observables, figures and claims use it);
    default: its ``kind``, prefixed ``train_`` when it is measured ``on: train``."""

    kind: str
    name: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="the key it is recorded under (default: kind, or train_<kind> on train)",
    )
    group_word: ClassVar[str] = ""  # what one group is called ("mode"); "" for a scalar
    uses_initial_gram: ClassVar[bool] = False  # reads gram0 / eigenvectors0 / lemma_rate

    @property
    def key(self) -> str:
        return metric_key(self)

    def value(self, ev: Evaluation) -> Any:
        raise NotImplementedError

    def groups(self, grid_shape: tuple[int, ...], m: int) -> list[str] | None:
        """Labels of the metric's groups; ``None`` for a scalar."""
        return None


def metric_key(metric: Mapping[str, Any] | BaseModel) -> str:
    """The name a metric is recorded under (see :class:`MetricKind`)."""
    data = metric.model_dump() if isinstance(metric, BaseModel) else metric
    if data.get("name"):
        return str(data["name"])
    return f"train_{data['kind']}" if data.get("on") == "train" else str(data["kind"])


def _count(modes: int | None, available: int) -> int:
    return available if modes is None else min(modes, available)


class _AgainstTargets(MetricKind):
    """The outputs compared entry by entry with the targets of the evaluation or training set."""

    needs: ClassVar = frozenset({"real_outputs"})
    on: EvalSet = _ON


class MSEMetric(_AgainstTargets):
    """Mean-squared error of the model output against the targets."""

    kind: Literal["mse"]
    example: ClassVar[dict[str, Any]] = {}

    def value(self, ev):
        from core import metrics

        return metrics.mean_squared_error(ev.predictions[self.on], ev.targets[self.on])


class RelativeL2Metric(_AgainstTargets):
    """``||f - y|| / ||y||``."""

    kind: Literal["rel_l2"]
    example: ClassVar[dict[str, Any]] = {}

    def value(self, ev):
        import jax.numpy as jnp

        error = jnp.linalg.norm(ev.predictions[self.on] - ev.targets[self.on])
        return error / jnp.linalg.norm(ev.targets[self.on])


class AccuracyMetric(MetricKind):
    """Fraction of samples whose largest output is the target's largest entry (one-hot
    targets)."""

    kind: Literal["accuracy"]
    example: ClassVar[dict[str, Any]] = {}
    on: EvalSet = _ON
    needs: ClassVar = frozenset({"classes"})

    def value(self, ev):
        from core import metrics

        return metrics.accuracy(ev.predictions[self.on], ev.targets[self.on])


class RayFFTErrorMetric(MetricKind):
    """Fig. 6 (right) of the paper: the residual ``rho(c) = f(c v) - y(c v)`` of the (centred)
    model on ``points`` values ``c_j = j / (points - 1)`` along a ray, ``|FFT_k(rho)| / points`` at
    the Nyquist bin ``k = points // 2`` (``bin: nyquist``, the paper's "largest frequency") or the
    largest magnitude over ``k >= 1`` (``bin: largest``). ``ray: train_point`` takes ``v`` =
    training input number ``index``; ``ray: ones`` takes ``v = (1, ..., 1)`` (the paper's test
    direction). Needs a task with a target formula (``polynomial``)."""

    kind: Literal["ray_fft_error"]
    example: ClassVar[dict[str, Any]] = {"ray": "ones", "points": 8}
    ray: Literal["train_point", "ones"] = Field(description="the ray's direction v")
    index: int = Field(0, ge=0, description="the training input taken as v (ray: train_point)")
    points: int = Field(100, ge=4, description="points along the ray")
    bin: Literal["nyquist", "largest"] = Field(
        "nyquist", description="the Nyquist bin, or the largest over k >= 1"
    )
    needs: ClassVar = frozenset({"target_formula"})

    def value(self, ev):
        import jax.numpy as jnp

        from core import metrics, tasks

        inputs = ev.data["train"][0]
        if self.ray == "train_point":
            direction = inputs[min(self.index, inputs.shape[0] - 1)]
        else:
            direction = jnp.ones(inputs.shape[1], inputs.dtype)

        def rho(xs: Any) -> Any:
            prediction = ev.objective.predict(ev.params, xs)[:, 0]
            return prediction - tasks.polynomial_target(xs, ev.data["teacher"])[:, 0]

        error = metrics.ray_fft_error(rho, direction, num_points=self.points)
        if self.bin == "nyquist":
            return error[self.points // 2]
        return jnp.max(error[1 : self.points // 2 + 1])


class TrainLossMetric(MetricKind):
    """The training loss on the whole training set (the per-step ``loss`` record is the loss of
    that step's mini-batch)."""

    kind: Literal["train_loss"]
    example: ClassVar[dict[str, Any]] = {}

    def value(self, ev):
        return ev.objective.loss(ev.params, ev.data["train"])


class ObjectiveMetric(MetricKind):
    """The spec's loss (the training objective) on the evaluation set (``on: eval``, e.g. the
    validation cross-entropy of Figs. 8 and 12) or on the whole training set (``on: train``)."""

    kind: Literal["objective"]
    example: ClassVar[dict[str, Any]] = {}
    on: EvalSet = _ON

    def value(self, ev):
        batch = (ev.data["inputs"], ev.data["targets"]) if self.on == "eval" else ev.data["train"]
        return ev.objective.loss(ev.params, batch)


class FFTErrorMetric(MetricKind):
    """``|FFT_k(u - f)| / n`` on the task grid for the ``modes`` lowest frequencies (1-D: bins
    0..modes-1; 2-D: the ``modes`` bins of smallest ``|k|``, one of each conjugate pair ``+-k``,
    labelled ``"kx,ky"``)."""

    kind: Literal["fft_error"]
    example: ClassVar[dict[str, Any]] = {"modes": 3}
    needs: ClassVar = frozenset({"real_outputs"})
    modes: int = Field(11, ge=1, description="how many of the lowest frequencies")
    group_word: ClassVar = "mode"

    def value(self, ev):
        import jax.numpy as jnp

        from core import metrics

        target, prediction = ev.data["targets"][:, 0], ev.predictions["eval"][:, 0]
        if len(ev.grid_shape) == 2:
            shape = ev.grid_shape
            error = metrics.fft_mode_error_2d(target.reshape(shape), prediction.reshape(shape))
            return error[_lowest_modes_2d(shape, self.modes)]
        return metrics.fft_mode_error(target, prediction, jnp.arange(self.modes))

    def groups(self, grid_shape, m):
        if len(grid_shape) != 2:
            return [str(i) for i in range(self.modes)]
        return fft_labels(grid_shape, self.modes)


@functools.cache
def _lowest_modes_2d(grid_shape: tuple[int, int], modes: int) -> tuple[Any, ...]:
    """The 2-D bins of :class:`FFTErrorMetric`, concrete even when first asked inside a trace."""
    import jax

    from core import metrics

    with jax.ensure_compile_time_eval():
        return metrics.lowest_modes_2d(grid_shape, modes, half_plane=True)


def _signed_frequencies(n: int) -> Any:
    """``core.metrics.signed_frequencies`` in numpy (validate imports no JAX)."""
    import numpy as np

    k = np.arange(n)
    return np.where(k < (n + 1) // 2, k, k - n)


def fft_labels(grid_shape: tuple[int, ...], modes: int) -> list[str]:
    """The group labels :meth:`FFTErrorMetric.groups` gives, with numpy alone (``runner
    validate`` checks a claim's ``groups`` with it and imports no JAX): 1-D (or no grid) bins
    ``"0" .. "modes-1"``; on a 2-D grid the ``modes`` bins of smallest ``|k|`` in the half plane
    (``kx > 0``, or ``kx = 0`` and ``ky >= 0``), ties by smaller ``kx`` then ``ky``, as
    ``"kx,ky"`` (the order of ``core.metrics.lowest_modes_2d(..., half_plane=True)``, computed in
    integers so that ties are exact)."""
    if len(grid_shape) != 2:
        return [str(i) for i in range(modes)]
    import numpy as np

    kx, ky = (_signed_frequencies(n) for n in grid_shape)
    grid_x, grid_y = np.meshgrid(kx, ky, indexing="ij")
    keep = ((grid_x > 0) | ((grid_x == 0) & (grid_y >= 0))).ravel()
    radius = np.where(keep, (grid_x**2 + grid_y**2).ravel(), np.iinfo(np.int64).max)
    order = np.lexsort((grid_y.ravel(), grid_x.ravel(), radius))[:modes]
    return [f"{grid_x.flat[i]},{grid_y.flat[i]}" for i in order]


class _InitialNTKModes(MetricKind):
    """A value per eigenmode of the initial NTK ``K_0 = J_0 J_0^T`` (largest eigenvalue first),
    ``modes`` of them: needs residuals, and the cell computes ``K_0`` and its eigenvectors."""

    modes: int | None = _MODES
    group_word: ClassVar = "mode"
    uses_initial_gram: ClassVar = True
    needs: ClassVar = frozenset({"residuals"})

    def groups(self, grid_shape, m):
        return [str(i) for i in range(_count(self.modes, m))]


class ModeErrorMetric(_InitialNTKModes):
    """``|U_0^T e|``: the error in the eigenmodes of the initial NTK ``K_0`` (largest eigenvalue
    first), the quantity of Lemmas 3.1-3.3. ``modes`` limits how many are kept."""

    kind: Literal["mode_error"]
    example: ClassVar[dict[str, Any]] = {"modes": 3}

    def value(self, ev):
        import jax.numpy as jnp

        projected = ev.data["eigenvectors0"].T @ ev.residual()
        return jnp.abs(projected)[: _count(self.modes, projected.shape[0])]


class LemmaRateMetric(_InitialNTKModes):
    """Per eigenmode of ``K_0``: the contraction rate the lemmas predict for this cell's optimizer,
    ``-ln|1 - lr * map(lambda)|`` with map ``lambda`` (GD), ``lambda / (mu + lambda)`` (LM),
    ``1[lambda > eps]`` (GN). Constant in time; compare with a fitted ``decay_rate``."""

    kind: Literal["lemma_rate"]
    example: ClassVar[dict[str, Any]] = {"modes": 3}

    def value(self, ev):
        rates = ev.data["lemma_rate"]
        return rates[: _count(self.modes, rates.shape[0])]


class SpectrumMetric(_InitialNTKModes):
    """Eigenvalues of the current NTK ``K_t = J J^T`` (descending), ``modes`` of them."""

    kind: Literal["ntk_spectrum"]
    example: ClassVar[dict[str, Any]] = {"modes": 3}

    def value(self, ev):
        from core import metrics

        spectrum = metrics.ntk_spectrum(ev.gram())
        return spectrum[: _count(self.modes, spectrum.shape[0])]


class ParamDistanceMetric(MetricKind):
    """``||theta_t - theta_0|| / ||theta_0||``: how far training left the initialisation."""

    kind: Literal["param_distance"]
    example: ClassVar[dict[str, Any]] = {}

    def value(self, ev):
        from core import metrics

        return metrics.relative_distance(ev.params, ev.data["params0"])


class WeightNormMetric(MetricKind):
    """``sqrt(sum ||p||^2)`` over every trainable parameter (Omnigrok's total weight norm)."""

    kind: Literal["weight_norm"]
    example: ClassVar[dict[str, Any]] = {}

    def value(self, ev):
        from core import metrics

        return metrics.weight_norm(ev.params)


class KernelChangeMetric(MetricKind):
    """``||K_t - K_0||_F / ||K_0||_F``: how much the tangent kernel moved (lazy vs rich)."""

    kind: Literal["ntk_change"]
    example: ClassVar[dict[str, Any]] = {}
    uses_initial_gram: ClassVar = True
    needs: ClassVar = frozenset({"residuals"})

    def value(self, ev):
        from core import metrics

        return metrics.relative_distance(ev.gram(), ev.data["gram0"])


METRIC_KINDS: tuple[type[MetricKind], ...] = (
    MSEMetric,
    RelativeL2Metric,
    AccuracyMetric,
    RayFFTErrorMetric,
    TrainLossMetric,
    ObjectiveMetric,
    FFTErrorMetric,
    ModeErrorMetric,
    LemmaRateMetric,
    SpectrumMetric,
    ParamDistanceMetric,
    WeightNormMetric,
    KernelChangeMetric,
)

RECORDS = ("loss",)  # per-step records read by name, besides "train/<record>"


def group_word(metric: str | None, metrics: Mapping[str, MetricKind]) -> str:
    """What one group of the recorded metric ``metric`` is, for sentences: the kind's
    ``group_word`` (``"mode"`` for FFT and NTK modes, ``""`` for a scalar: its single group
    ``""``), ``""`` for a per-step record, ``"group"`` when the spec does not declare it."""
    if metric is not None and (metric in RECORDS or metric.startswith("train/")):
        return ""
    declared = metrics.get(metric) if metric is not None else None
    return "group" if declared is None else declared.group_word
