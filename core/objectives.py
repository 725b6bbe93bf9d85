"""Training objectives: the loss, and the extra arguments preconditioned optimizers need.

An objective holds the static half of a model (``eqx.partition``; it may contain frozen arrays,
e.g. the reference copy of :class:`core.models.CenteredModel`) and is called with the trainable
``params`` and a ``batch = (inputs, targets)``:

* ``loss(params, batch)``: the scalar training loss;
* ``extra_args(params, batch)``: a dict for ``optimizer.update(..., **extra_args)``.

Residual convention for mean-squared error (docs/paper-notes.md#residual-convention), on ``m``
residual entries:

* ``"loss"`` (recommended): ``r = sqrt(2/m) (f - y)``, so ``0.5 ||r||^2 = mean((f - y)^2)``,
  ``J^T r`` is the gradient of the loss and ``J^T J`` its Gauss-Newton matrix; LM's ``mu`` and
  GN's ``eps`` then do not change meaning with the batch size;
* ``"raw"``: ``r = f - y`` (the paper's theory, ``L = 0.5 ||f - y||^2``), so ``mu`` is compared
  with eigenvalues of the model's own tangent kernel.

``scale`` divides both: ``L = mean((f - y)^2) / scale^2`` and ``r = c (f - y) / scale``; it is a
traced :class:`core.models.Scale` (a sweep over it compiles once). With
``scale = alpha`` for a model ``alpha (h - h_0)`` this is the lazy-training objective
``(1/alpha^2) R(alpha h)`` of Chizat, Oyallon and Bach (2019), whose Jacobian is that of
``(f - f_0) / alpha`` (docs/paper-notes.md#modular-mlp and docs/paper-notes.md#polynomial).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array

from core.curvature.gram import has_structured_gram, structured_gram
from core.models import Scale

ResidualConvention = Literal["loss", "raw"]
Batch = tuple[Array, Array]


def residual_scale(convention: ResidualConvention, num_residuals: int) -> float:
    """The factor ``c`` in ``r = c (f - y)``: ``sqrt(2/m)`` for ``"loss"``, 1 for ``"raw"``."""
    if convention == "loss":
        return math.sqrt(2.0 / num_residuals)
    if convention == "raw":
        return 1.0
    raise ValueError(f"residual convention must be 'loss' or 'raw', got {convention!r}")


class Objective(eqx.Module):
    """Base: holds the model's static half; subclasses define the loss and the extra arguments."""

    static: Any

    def model(self, params: Any) -> Any:
        return eqx.combine(params, self.static)

    def predict(self, params: Any, inputs: Array) -> Array:
        return jax.vmap(self.model(params))(inputs)

    def loss(self, params: Any, batch: Batch) -> Array:
        raise NotImplementedError

    def extra_args(self, params: Any, batch: Batch) -> dict[str, Any]:
        """The loss as ``value_fn`` for line searches; subclasses add their own."""
        return {"value_fn": lambda p: self.loss(p, batch)}


class MeanSquaredError(Objective):
    """``L = mean((f(x) - y)^2) / scale^2`` over every entry of the batch (samples x outputs).

    Extra arguments: ``residual_fn`` (flattened sample-major, scaled by the convention),
    ``gram_fn`` (structured ``J J^T`` when the model has dense-layer factors and
    ``structured_gram`` is on), ``value_fn``.
    """

    convention: ResidualConvention = eqx.field(static=True, default="loss")
    use_structured_gram: bool = eqx.field(static=True, default=True)
    scale: Scale = eqx.field(converter=Scale.of, default=1.0)

    def loss(self, params: Any, batch: Batch) -> Array:
        inputs, targets = batch
        # the traced 1/scale inside the square: at scale 1 this keeps XLA's fusion of the mean,
        # hence every bit of the loss, as it was with a static scale (a division of the mean
        # by a traced 1.0 changed the last bit of the line search's trial losses)
        return jnp.mean(((self.predict(params, inputs) - targets) * self.scale.inverse) ** 2)

    def _factor(self, targets: Array) -> Array:
        """``c / scale``: ``c`` of the convention (a Python float: ``m`` is a shape) times the
        traced ``1/scale``."""
        c = residual_scale(self.convention, targets.size)
        return self.scale.inverse if c == 1.0 else c * self.scale.inverse

    def residual(self, params: Any, batch: Batch) -> Array:
        inputs, targets = batch
        return self._factor(targets) * (self.predict(params, inputs) - targets).reshape(-1)

    def gram(self, params: Any, batch: Batch) -> Array:
        """``J J^T`` of :meth:`residual` by the dense-layer formula."""
        inputs, targets = batch
        c = residual_scale(self.convention, targets.size)
        factor = self.scale.inverse_square if c == 1.0 else c**2 * self.scale.inverse_square
        return factor * structured_gram(self.model(params), inputs)

    def extra_args(self, params: Any, batch: Batch) -> dict[str, Any]:
        args = super().extra_args(params, batch)
        args["residual_fn"] = lambda p: self.residual(p, batch)
        if self.use_structured_gram and has_structured_gram(self.model(params)):
            args["gram_fn"] = lambda p: self.gram(p, batch)
        return args


class SoftmaxCrossEntropy(Objective):
    """``L = mean_n CE(softmax(z_n), y_n)`` with integer labels ``(N,)`` or one-hot targets
    ``(N, C)``; the model returns logits ``(C,)``.

    Extra arguments: ``logits_fn`` (``(N, C)``, for the generalized Gauss-Newton) and ``value_fn``.
    """

    def logits(self, params: Any, inputs: Array) -> Array:
        logits = self.predict(params, inputs)
        return logits.reshape(-1, logits.shape[-1])

    def loss(self, params: Any, batch: Batch) -> Array:
        inputs, labels = batch
        logits = self.logits(params, inputs)
        if labels.ndim == 2 and labels.shape == logits.shape:  # one-hot rows
            return jnp.mean(optax.softmax_cross_entropy(logits, labels))
        return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels.reshape(-1)))

    def extra_args(self, params: Any, batch: Batch) -> dict[str, Any]:
        args = super().extra_args(params, batch)
        inputs, _ = batch
        logits_fn: Callable[[Any], Array] = lambda p: self.logits(p, inputs)  # noqa: E731
        args["logits_fn"] = logits_fn
        return args


class LinearLeastSquares(Objective):
    """``L = mean((J theta - y)^2)`` for a fixed matrix ``J`` (``m x p``); ``params`` is ``theta``.

    The linear model of the lemma checks (docs/paper-notes.md#lemmas). ``batch`` is ignored (full
    batch). ``gram_fn`` returns ``c^2 J J^T`` exactly, with ``c`` from the residual convention.
    """

    jacobian: Array
    targets: Array
    convention: ResidualConvention = eqx.field(static=True, default="loss")

    def predict(self, params: Any, inputs: Array) -> Array:
        """``(J theta)`` as an ``(m, 1)`` column, shaped like every model's outputs and like the
        targets the runner pairs it with (``inputs`` are ignored)."""
        del inputs
        return (self.jacobian @ params)[:, None]

    def loss(self, params: Any, batch: Batch) -> Array:
        return jnp.mean((self.jacobian @ params - self.targets) ** 2)

    def residual(self, params: Any, batch: Batch) -> Array:
        scale = residual_scale(self.convention, self.targets.size)
        return scale * (self.jacobian @ params - self.targets)

    def gram(self, params: Any, batch: Batch) -> Array:
        scale = residual_scale(self.convention, self.targets.size)
        return scale**2 * (self.jacobian @ self.jacobian.T)

    def extra_args(self, params: Any, batch: Batch) -> dict[str, Any]:
        args = super().extra_args(params, batch)
        args["residual_fn"] = lambda p: self.residual(p, batch)
        args["gram_fn"] = lambda p: self.gram(p, batch)
        return args
