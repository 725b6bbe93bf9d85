"""The residual Jacobian ``J = dr/dtheta`` as a linear operator.

``jax.linearize`` runs the forward pass once and keeps what the tangent map needs; ``mv`` is then
the JVP ``v -> J v`` and ``rmv`` its linear transpose ``u -> J^T u`` (a reverse pass), both without
forming ``J``. This follows lineax's ``JacobianLinearOperator``: an object with ``mv`` and a
transpose, that a solver can use without knowing how ``J`` is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float

PyTree = Any


class JacobianOperator:
    """``J = dr/dtheta`` at fixed ``params`` for ``r = residual_fn(params)`` of shape ``(m,)``.

    Build it inside the traced function that uses it (it holds tracers, it is not a pytree).
    """

    def __init__(self, residual_fn: Callable[[PyTree], Array], params: PyTree):
        residual, self._jvp = jax.linearize(residual_fn, params)
        if residual.ndim != 1:
            raise ValueError(f"residual_fn must return a vector, got shape {residual.shape}")
        self.residual: Float[Array, " m"] = residual
        self.params = params
        self._vjp = jax.linear_transpose(self._jvp, params)

    @property
    def num_residuals(self) -> int:
        return self.residual.shape[0]

    def mv(self, tangent: PyTree) -> Float[Array, " m"]:
        """``J v`` for a parameter-shaped ``v``."""
        return self._jvp(tangent)

    def rmv(self, cotangent: Float[Array, " m"]) -> PyTree:
        """``J^T u`` for a residual-shaped ``u``; a reverse pass."""
        (out,) = self._vjp(cotangent)
        return out

    def gram_mv(self, u: Float[Array, " m"]) -> Float[Array, " m"]:
        """``J J^T u`` in the residual space: one reverse and one forward-mode pass."""
        return self.mv(self.rmv(u))


def materialized_jacobian(
    residual_fn: Callable[[PyTree], Array], params: PyTree
) -> Float[Array, "m p"]:
    """The flat ``m x p`` Jacobian via ``jax.jacrev``: the naive reference.

    Only for small models, tests and the baseline of ``benchmarks/curvature.py``; the solvers in
    :mod:`core.optim` never call it.
    """
    flat, unravel = ravel_pytree(params)
    return jax.jacrev(lambda theta: residual_fn(unravel(theta)))(flat)


def per_leaf_jacobian(op: JacobianOperator) -> PyTree:
    """``J`` split by parameter leaf: each leaf becomes an ``(m, *leaf.shape)`` array.

    ``m`` reverse passes (vmapped); memory ``m * p`` in total but never one concatenated array.
    """
    basis = jnp.eye(op.num_residuals, dtype=op.residual.dtype)
    return jax.vmap(op.rmv)(basis)
