"""Physics-informed training for the Poisson equation on the unit square (section 4.2, Fig. 4).

Problem: ``-Laplace(u) = f`` on ``(0, 1)^2``, ``u = 0`` on the boundary, with
``f = (n^2 + m^2) pi^2 sin(n pi x) sin(m pi y)`` so that ``u* = sin(n pi x) sin(m pi y)``.

A collocation point ``x_i`` carries a flag ``boundary_i`` and the source ``f(x_i)``; its residual is

    r_i = Laplace(u_theta)(x_i) + f(x_i)     (interior)
    r_i = u_theta(x_i)                        (boundary)

and the loss is ``mean_i r_i^2`` over the points of a batch. The Laplacian is exact: the trace of
``jax.hessian`` of the network in ``x`` (forward-over-reverse), never finite differences, so the
residual's Jacobian in ``theta`` (what LM and GN need) is also exact.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from core.curvature.gram import per_sample_gram
from core.objectives import Batch, Objective, ResidualConvention, residual_scale


def laplacian(scalar_fn: Callable[[Array], Array], x: Float[Array, " d"]) -> Array:
    """``sum_k d^2 u / dx_k^2`` at ``x`` for ``u = scalar_fn`` (trace of the Hessian)."""
    return jnp.trace(jax.hessian(scalar_fn)(x))


def exact_solution(points: Float[Array, "n 2"], n: int, m: int) -> Float[Array, " n"]:
    """``u*(x, y) = sin(n pi x) sin(m pi y)``."""
    return jnp.sin(n * jnp.pi * points[:, 0]) * jnp.sin(m * jnp.pi * points[:, 1])


def source(points: Float[Array, "n 2"], n: int, m: int) -> Float[Array, " n"]:
    """``f = -Laplace(u*) = (n^2 + m^2) pi^2 u*``."""
    return (n**2 + m**2) * math.pi**2 * exact_solution(points, n, m)


class PoissonProblem(NamedTuple):
    """Collocation points (interior first, then boundary) and a held-out evaluation grid."""

    points: Float[Array, "N 2"]
    flags: Float[Array, "N 2"]  # column 0: 1 on the boundary, 0 inside; column 1: f(x)
    grid: Float[Array, "G 2"]  # evaluation grid (C order), boundary included
    grid_solution: Float[Array, "G 1"]
    grid_shape: tuple[int, int]


def poisson_square(
    key: Array,
    n: int,
    m: int,
    *,
    interior: int = 640,
    boundary_per_edge: int = 10,
    grid_points_per_side: int = 64,
    dtype: Any = None,
) -> PoissonProblem:
    """Collocation points for ``-Laplace(u) = f`` on the unit square.

    Sampling rule (the paper does not give one): ``interior`` points uniform in ``(0, 1)^2`` and
    ``boundary_per_edge`` points uniform on each of the four edges, all drawn from ``key``. The
    evaluation grid is a separate ``grid_points_per_side^2`` uniform grid of ``[0, 1]^2``.
    """
    k_in, k_edge = jax.random.split(key)
    inside = jax.random.uniform(k_in, (interior, 2), dtype)
    t = jax.random.uniform(k_edge, (4, boundary_per_edge), dtype)
    zeros, ones = jnp.zeros_like(t[0]), jnp.ones_like(t[0])
    edges = jnp.concatenate(
        [
            jnp.stack([t[0], zeros], axis=1),  # y = 0
            jnp.stack([t[1], ones], axis=1),  # y = 1
            jnp.stack([zeros, t[2]], axis=1),  # x = 0
            jnp.stack([ones, t[3]], axis=1),  # x = 1
        ]
    )
    points = jnp.concatenate([inside, edges])
    is_boundary = jnp.concatenate([jnp.zeros(interior), jnp.ones(4 * boundary_per_edge)])
    flags = jnp.stack([is_boundary.astype(points.dtype), source(points, n, m)], axis=1)
    axis = jnp.linspace(0.0, 1.0, grid_points_per_side, dtype=dtype)
    gx, gy = jnp.meshgrid(axis, axis, indexing="ij")
    grid = jnp.stack([gx.ravel(), gy.ravel()], axis=1)
    shape = (grid_points_per_side, grid_points_per_side)
    return PoissonProblem(points, flags, grid, exact_solution(grid, n, m)[:, None], shape)


class PoissonResidual(Objective):
    """``L = mean_i r_i^2`` with the PINN residuals of the module docstring.

    ``batch = (points, flags)`` as in :class:`PoissonProblem`. Extra arguments: ``residual_fn``
    (scaled by the residual convention: ``"loss"`` gives ``0.5 ||r||^2 = L``) and ``value_fn``.
    The model maps ``(2,)`` to ``(1,)``.
    """

    convention: ResidualConvention = eqx.field(static=True, default="loss")

    def point_residual(self, params: Any, sample: tuple[Array, Array]) -> Array:
        """The residual at one collocation point ``sample = (x, flag)``."""
        x, flag = sample
        model = self.model(params)

        def u(z: Array) -> Array:
            return model(z)[0]

        return jnp.where(flag[0] > 0.5, u(x), laplacian(u, x) + flag[1])

    def pinn_residual(self, params: Any, batch: Batch) -> Array:
        return jax.vmap(self.point_residual, in_axes=(None, 0))(params, batch)

    def loss(self, params: Any, batch: Batch) -> Array:
        return jnp.mean(self.pinn_residual(params, batch) ** 2)

    def residual(self, params: Any, batch: Batch) -> Array:
        r = self.pinn_residual(params, batch)
        return residual_scale(self.convention, r.shape[0]) * r

    def gram(self, params: Any, batch: Batch) -> Array:
        """``J J^T`` of :meth:`residual` from per-point gradients (:func:`per_sample_gram`)."""
        scale = residual_scale(self.convention, batch[0].shape[0])
        return scale**2 * per_sample_gram(self.point_residual, params, batch)

    def extra_args(self, params: Any, batch: Batch) -> dict[str, Any]:
        args = super().extra_args(params, batch)
        args["residual_fn"] = lambda p: self.residual(p, batch)
        args["gram_fn"] = lambda p: self.gram(p, batch)
        return args
