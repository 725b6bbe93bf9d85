"""Gauss-Newton direction with a pseudo-inverse cut-off (Lemma 3.3).

    d = (J^T J)^+_eps J^T r = J^T U diag(1[lambda > t] / lambda) U^T r,
    K = J J^T = U diag(lambda) U^T

where ``t = eps`` (``cutoff="absolute"``) or ``t = eps * lambda_max`` (``"relative"``), and
``lambda`` are eigenvalues of ``K`` (squared singular values of ``J``; note that
``jnp.linalg.pinv``'s ``rtol`` applies to singular values, i.e. to ``sqrt(lambda)``).

Solvers: ``eigh`` of the ``m x m`` Gram (default; never forms ``J`` for a structured model) or
``svd`` of the materialised ``J`` (the reference, small models only). Small absolute cut-offs such
as the recommended ``eps = 1e-6`` need float64 (``jax.config.update("jax_enable_x64", True)``):
in float32 eigenvalues below about ``1e-7 lambda_max`` are round-off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.flatten_util import ravel_pytree
from jaxtyping import Array

from core.curvature import (
    GramEigen,
    GramMethod,
    JacobianOperator,
    build_gram,
    cutoff_threshold,
    materialized_jacobian,
)
from core.curvature.spectral import Cutoff
from core.optim.info import OptimizerInfo

GNSolver = Literal["eigh", "svd"]


class GaussNewtonInfo(OptimizerInfo):
    """``threshold`` on eigenvalues of ``J J^T``, modes kept, and the extreme eigenvalues."""

    prefix = "gn"
    threshold: Array
    kept_modes: Array
    lambda_max: Array
    lambda_min: Array


class GaussNewtonState(NamedTuple):
    info: GaussNewtonInfo


def scale_by_gauss_newton(
    eps: float,
    *,
    cutoff: Cutoff = "absolute",
    solver: GNSolver = "eigh",
    gram: GramMethod = "auto",
    gram_chunk_size: int | None = 256,
) -> optax.GradientTransformationExtraArgs:
    """The GN direction ``(J^T J)^+_eps J^T r`` as an optax transformation.

    Extra arguments as for :func:`core.optim.scale_by_levenberg_marquardt`.
    """
    if solver not in ("eigh", "svd"):
        raise ValueError(f"solver must be 'eigh' or 'svd', got {solver!r}")
    if cutoff not in ("absolute", "relative"):
        raise ValueError(f"cutoff must be 'absolute' or 'relative', got {cutoff!r}")

    def init(params: Any) -> GaussNewtonState:
        dtype = jax.tree.leaves(params)[0].dtype
        zero = jnp.zeros((), dtype)
        return GaussNewtonState(GaussNewtonInfo(zero, jnp.zeros((), jnp.int32), zero, zero))

    def update(
        updates: Any,
        state: GaussNewtonState,
        params: Any = None,
        *,
        residual_fn: Callable[[Any], Array] | None = None,
        gram_fn: Callable[[Any], Array] | None = None,
        **extra_args: Any,
    ) -> tuple[Any, GaussNewtonState]:
        del updates, state, extra_args
        if params is None or residual_fn is None:
            raise ValueError("gauss_newton needs params and the residual_fn extra argument")
        if solver == "svd":
            direction, eigenvalues = _svd_direction(residual_fn, params, eps, cutoff)
        else:
            op = JacobianOperator(residual_fn, params)
            kernel = build_gram(op, gram_fn=gram_fn, method=gram, chunk_size=gram_chunk_size)
            eigen = GramEigen.of(kernel)
            direction = op.rmv(eigen.pseudo_inverse_solve(op.residual, eps, cutoff))
            eigenvalues = eigen.eigenvalues
        threshold = cutoff_threshold(eigenvalues, eps, cutoff)
        info = GaussNewtonInfo(
            threshold=threshold,
            kept_modes=jnp.sum(eigenvalues > threshold).astype(jnp.int32),
            lambda_max=jnp.max(eigenvalues),
            lambda_min=jnp.min(eigenvalues),
        )
        return direction, GaussNewtonState(info)

    return optax.GradientTransformationExtraArgs(init, update)


def _svd_direction(
    residual_fn: Callable[[Any], Array], params: Any, eps: float, cutoff: Cutoff
) -> tuple[Any, Array]:
    """``V diag(1[s^2 > t] / s) U^T r`` from the thin SVD of the flat ``J`` (reference path)."""
    _, unravel = ravel_pytree(params)
    jacobian = materialized_jacobian(residual_fn, params)
    residual = residual_fn(params)
    left, singular, right_t = jnp.linalg.svd(jacobian, full_matrices=False)
    eigenvalues = singular**2
    keep = eigenvalues > cutoff_threshold(eigenvalues, eps, cutoff)
    inverse = jnp.where(keep, 1.0 / jnp.where(keep, singular, 1.0), 0.0)
    flat_direction = right_t.T @ (inverse * (left.T @ residual))
    return unravel(flat_direction), eigenvalues
