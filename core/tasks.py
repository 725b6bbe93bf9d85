"""Data generated from formulas (EXPERIMENTS.md sections 1 and 2).

Each task returns plain arrays. The regressions are deterministic (uniform grids, no seed).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


class RegressionData(NamedTuple):
    inputs: Float[Array, "n d"]
    targets: Float[Array, "n 1"]
    grid_shape: tuple[int, ...]  # shape of the grid the rows enumerate (C order), for FFTs


def regression_1d_target(x: Array) -> Array:
    """``u(x) = (1/3) sum_{k=1..3} k sin((2k+1) pi x - k)`` (paper section 4.1)."""
    return jnp.asarray(sum(k * jnp.sin((2 * k + 1) * jnp.pi * x - k) for k in (1, 2, 3)) / 3.0)


def regression_1d(num_points: int = 100, dtype=None) -> RegressionData:
    """``num_points`` samples of :func:`regression_1d_target` on ``linspace(0, 1)``."""
    x = jnp.linspace(0.0, 1.0, num_points, dtype=dtype)
    return RegressionData(x[:, None], regression_1d_target(x)[:, None], (num_points,))


def regression_2d_target(x: Array, y: Array) -> Array:
    """The discontinuous target of paper eq. (7) on ``[0, 1]^2``; the first matching rule wins."""
    return jnp.select(
        [x + y < 0.5, x + y > 1.5, (x < 0.5) & (y >= 0.5)],
        [1.0, 2.0, 0.75],
        default=0.0,
    ).astype(x.dtype)


def regression_2d(points_per_side: int = 40, dtype=None) -> RegressionData:
    """A ``points_per_side^2`` uniform grid (40 x 40: the paper's 1 600 points), C-order rows."""
    axis = jnp.linspace(0.0, 1.0, points_per_side, dtype=dtype)
    gx, gy = jnp.meshgrid(axis, axis, indexing="ij")
    inputs = jnp.stack([gx.ravel(), gy.ravel()], axis=1)
    targets = regression_2d_target(gx, gy).ravel()[:, None]
    return RegressionData(inputs, targets, (points_per_side, points_per_side))


class LinearProblem(NamedTuple):
    jacobian: Float[Array, "m p"]
    targets: Float[Array, " m"]
    singular_values: Float[Array, " k"]


def random_jacobian(
    key: Array,
    residuals: int,
    parameters: int,
    singular_max: float,
    singular_min: float,
    dtype=None,
) -> LinearProblem:
    """``J = U diag(s) V^T`` with orthonormal ``U`` (``m x k``), ``V`` (``p x k``),
    ``k = min(m, p)`` and ``s`` log-spaced from ``singular_max`` to ``singular_min``; targets
    ``y ~ N(0, I)`` (EXPERIMENTS.md section 10)."""
    k_u, k_v, k_y = jax.random.split(key, 3)
    k = min(residuals, parameters)
    u, _ = jnp.linalg.qr(jax.random.normal(k_u, (residuals, k), dtype))
    v, _ = jnp.linalg.qr(jax.random.normal(k_v, (parameters, k), dtype))
    singular = jnp.logspace(jnp.log10(singular_max), jnp.log10(singular_min), k, dtype=dtype)
    jacobian = (u * singular) @ v.T
    return LinearProblem(jacobian, jax.random.normal(k_y, (residuals,), dtype), singular)
