"""Generalized Gauss-Newton direction for softmax cross-entropy (paper App. B, Schraudolph 2002).

For ``N`` loss terms with logits ``z_n(theta) in R^C`` and ``L = (1/N) sum_n CE(z_n, y_n)``:

    G = (1/N) sum_n J_n^T H_n J_n,   H_n = diag(p_n) - p_n p_n^T,   p_n = softmax(z_n),
    (mu I + G) h = g,                g = grad L  (the incoming ``updates``)

solved by conjugate gradient with the matrix-free product
``v -> mu v + (1/N) J^T (H (J v))`` (one jvp + one vjp of the logits per iteration; ``G`` is never
formed). The step is ``theta <- theta - eta h``; chain with
:func:`core.optim.search.armijo_backtracking` as the paper does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array, Float

from core.curvature import conjugate_gradient
from core.curvature.cg import ToleranceKind
from core.optim.info import OptimizerInfo
from core.optim.schedules import as_schedule


class GeneralizedGaussNewtonInfo(OptimizerInfo):
    """``damping``, CG ``cg_iterations`` and final ``cg_residual`` (relative to ``||g||``)."""

    prefix = "ggn"
    damping: Array
    cg_iterations: Array
    cg_residual: Array


class GeneralizedGaussNewtonState(NamedTuple):
    step: Array
    info: GeneralizedGaussNewtonInfo


def softmax_hessian_product(
    logits: Float[Array, "N C"], tangent: Float[Array, "N C"]
) -> Float[Array, "N C"]:
    """``H_n t_n`` with ``H_n = diag(p_n) - p_n p_n^T``: the Hessian of CE in the logits."""
    probs = jax.nn.softmax(logits, axis=-1)
    return probs * tangent - probs * jnp.sum(probs * tangent, axis=-1, keepdims=True)


def ggn_matvec(
    logits_fn: Callable[[Any], Array], params: Any
) -> tuple[Array, Callable[[Any], Any]]:
    """Logits at ``params`` and ``v -> G v`` (``G`` of the mean CE over the logits' rows)."""
    logits, jvp = jax.linearize(logits_fn, params)
    if logits.ndim != 2:
        raise ValueError(f"logits_fn must return (N, C) logits, got shape {logits.shape}")
    vjp = jax.linear_transpose(jvp, params)
    num_terms = logits.shape[0]

    def matvec(tangent: Any) -> Any:
        (out,) = vjp(softmax_hessian_product(logits, jvp(tangent)) / num_terms)
        return out

    return logits, matvec


def scale_by_generalized_gauss_newton(
    damping: float | optax.Schedule,
    *,
    cg_max_iterations: int = 150,
    cg_tol: float = 1e-6,
    cg_tol_kind: ToleranceKind = "relative",
) -> optax.GradientTransformationExtraArgs:
    """``h = (mu I + G)^{-1} g`` as an optax transformation.

    ``update(updates, state, params, *, logits_fn)``: ``updates`` must be the gradient of the mean
    CE (put this first in a chain); ``logits_fn(params)`` returns the ``(N, C)`` logits of the loss
    terms of the same batch.
    """
    damping_at = as_schedule(damping)

    def init(params: Any) -> GeneralizedGaussNewtonState:
        dtype = jax.tree.leaves(params)[0].dtype
        zero = jnp.zeros((), dtype)
        info = GeneralizedGaussNewtonInfo(zero, jnp.zeros((), jnp.int32), zero)
        return GeneralizedGaussNewtonState(jnp.zeros((), jnp.int32), info)

    def update(
        updates: Any,
        state: GeneralizedGaussNewtonState,
        params: Any = None,
        *,
        logits_fn: Callable[[Any], Array] | None = None,
        **extra_args: Any,
    ) -> tuple[Any, GeneralizedGaussNewtonState]:
        del extra_args
        if params is None or logits_fn is None:
            raise ValueError(
                "generalized_gauss_newton needs params and the logits_fn extra argument"
            )
        _, curvature = ggn_matvec(logits_fn, params)
        dtype = jax.tree.leaves(updates)[0].dtype
        mu = jnp.asarray(damping_at(state.step), dtype)
        result = conjugate_gradient(
            lambda v: jax.tree.map(lambda gv, vi: gv + mu * vi, curvature(v), v),
            updates,
            max_iterations=cg_max_iterations,
            tol=cg_tol,
            tol_kind=cg_tol_kind,
        )
        grad_norm = optax.tree.norm(updates)
        info = GeneralizedGaussNewtonInfo(
            damping=mu,
            cg_iterations=result.iterations,
            cg_residual=result.residual_norm / jnp.maximum(grad_norm, jnp.finfo(dtype).tiny),
        )
        return result.solution, GeneralizedGaussNewtonState(state.step + 1, info)

    return optax.GradientTransformationExtraArgs(init, update)
