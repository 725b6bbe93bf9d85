"""PINN pieces: the Laplacian is exact, the residual Jacobian agrees with finite differences, the
per-point Gram equals the generic one, and the collocation points follow their rule."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.flatten_util import ravel_pytree

from core import curvature, models, pde


@pytest.mark.parametrize(("n", "m"), [(1, 1), (2, 3)])
def test_laplacian_of_the_exact_solution(x64, n, m):
    """``Laplace sin(n pi x) sin(m pi y) = -(n^2 + m^2) pi^2 u``: the source is exact."""
    points = jax.random.uniform(jax.random.PRNGKey(0), (5, 2), jnp.float64)

    def u(x):
        return pde.exact_solution(x[None, :], n, m)[0]

    lap = jax.vmap(lambda x: pde.laplacian(u, x))(points)
    expected = -(n**2 + m**2) * np.pi**2 * pde.exact_solution(points, n, m)
    np.testing.assert_allclose(lap, expected, rtol=1e-12)
    np.testing.assert_allclose(pde.source(points, n, m), -expected, rtol=1e-12)


def _tiny_problem():
    mlp = models.make_mlp(jax.random.PRNGKey(1), (2, 6, 1), activation="tanh", bias_init="normal")
    params, static = models.partition_trainable(mlp)
    problem = pde.poisson_square(
        jax.random.PRNGKey(2), 2, 1, interior=7, boundary_per_edge=2, grid_points_per_side=8
    )
    return pde.PoissonResidual(static, convention="raw"), params, (problem.points, problem.flags)


def test_residual_jacobian_matches_finite_differences(x64):
    objective, params, batch = _tiny_problem()
    flat, unravel = ravel_pytree(params)

    def residual(theta):
        return objective.residual(unravel(theta), batch)

    jacobian = curvature.materialized_jacobian(lambda p: objective.residual(p, batch), params)
    h = 1e-6
    for index in [0, 5, 11, flat.shape[0] - 1]:
        step = jnp.zeros_like(flat).at[index].set(h)
        central = (residual(flat + step) - residual(flat - step)) / (2 * h)
        np.testing.assert_allclose(jacobian[:, index], central, rtol=1e-6, atol=1e-7)


def test_boundary_rows_are_values_interior_rows_are_pde_residuals(x64):
    objective, params, (points, flags) = _tiny_problem()
    r = objective.residual(params, (points, flags))
    model = objective.model(params)
    boundary = np.asarray(flags[:, 0]) > 0.5
    np.testing.assert_allclose(r[boundary], jax.vmap(model)(points[boundary])[:, 0])
    x, f = points[0], flags[0, 1]
    np.testing.assert_allclose(r[0], pde.laplacian(lambda z: model(z)[0], x) + f)


@pytest.mark.parametrize("convention", ["loss", "raw"])
def test_per_point_gram_equals_generic(x64, convention):
    objective, params, batch = _tiny_problem()
    objective = pde.PoissonResidual(objective.static, convention=convention)
    op = curvature.JacobianOperator(lambda p: objective.residual(p, batch), params)
    np.testing.assert_allclose(
        objective.gram(params, batch), curvature.gram_from_jacobian(op), rtol=1e-10, atol=1e-10
    )
    if convention == "loss":  # 0.5 ||r||^2 is the mean loss itself
        half_norm = 0.5 * jnp.sum(objective.residual(params, batch) ** 2)
        np.testing.assert_allclose(half_norm, objective.loss(params, batch), rtol=1e-12)


def test_collocation_points():
    problem = pde.poisson_square(jax.random.PRNGKey(0), 1, 1, interior=640, boundary_per_edge=10)
    points, flags = np.asarray(problem.points), np.asarray(problem.flags)
    assert points.shape == (680, 2) and flags.shape == (680, 2)
    inside, edge = points[:640], points[640:]
    assert np.all((inside > 0) & (inside < 1))
    on_edge = np.isclose(edge, 0) | np.isclose(edge, 1)
    assert np.all(on_edge.any(axis=1))
    assert flags[:640, 0].sum() == 0 and flags[640:, 0].sum() == 40
    np.testing.assert_allclose(flags[640:, 1], 0.0, atol=1e-5)  # f vanishes on the boundary
    again = pde.poisson_square(jax.random.PRNGKey(0), 1, 1, interior=640, boundary_per_edge=10)
    np.testing.assert_array_equal(points, np.asarray(again.points))  # seeded
