"""Conjugate gradient on pytrees, with the iteration count and residual as values.

``jax.scipy.sparse.linalg.cg`` returns no iteration count; optimizers record it in their info, so
pgdlab keeps its own short CG (Hestenes-Stiefel), jit-compatible, for any symmetric positive
definite ``matvec``.

Stopping rule: ``||b - A x_k|| <= tol`` (``tol_kind="absolute"``) or ``<= tol * ||b||``
(``"relative"``, the default: invariant to the scale of the loss), or ``max_iterations`` reached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array

PyTree = Any
ToleranceKind = Literal["relative", "absolute"]


class CGResult(NamedTuple):
    solution: PyTree
    iterations: Array  # int32 scalar
    residual_norm: Array  # ||b - A x|| at exit (the recursively updated residual)
    converged: Array  # bool scalar


def conjugate_gradient(
    matvec: Callable[[PyTree], PyTree],
    rhs: PyTree,
    *,
    max_iterations: int,
    tol: float = 1e-6,
    tol_kind: ToleranceKind = "relative",
) -> CGResult:
    """Solve ``A x = rhs`` from ``x_0 = 0`` for symmetric positive definite ``A = matvec``."""
    if tol_kind not in ("relative", "absolute"):
        raise ValueError(f"tol_kind must be 'relative' or 'absolute', got {tol_kind!r}")
    rhs_norm_sq = optax.tree.vdot(rhs, rhs)
    target_sq = tol**2 * rhs_norm_sq if tol_kind == "relative" else jnp.asarray(tol**2)
    x0 = jax.tree.map(jnp.zeros_like, rhs)

    def cond(carry):
        _, _, _, residual_sq, k = carry
        return (k < max_iterations) & (residual_sq > target_sq)

    def body(carry):
        x, residual, direction, residual_sq, k = carry
        a_direction = matvec(direction)
        curvature = optax.tree.vdot(direction, a_direction)
        step = residual_sq / curvature
        x = optax.tree.add_scale(x, step, direction)
        residual = optax.tree.add_scale(residual, -step, a_direction)
        new_residual_sq = optax.tree.vdot(residual, residual)
        direction = optax.tree.add_scale(residual, new_residual_sq / residual_sq, direction)
        return x, residual, direction, new_residual_sq, k + 1

    init = (x0, rhs, rhs, rhs_norm_sq, jnp.asarray(0, jnp.int32))
    x, _, _, residual_sq, iterations = jax.lax.while_loop(cond, body, init)
    return CGResult(
        solution=x,
        iterations=iterations,
        residual_norm=jnp.sqrt(residual_sq),
        converged=residual_sq <= target_sq,
    )
