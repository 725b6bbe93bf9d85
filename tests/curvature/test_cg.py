"""Conjugate gradient: solves SPD systems, counts iterations, honours both tolerance kinds."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from core.curvature import conjugate_gradient


def _spd(n, condition, seed=0):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    values = np.logspace(0, np.log10(condition), n)
    return (q * values) @ q.T, rng.standard_normal(n)


def test_solves_spd_system(x64):
    matrix, rhs = _spd(30, 1e3)
    result = conjugate_gradient(
        lambda v: jnp.asarray(matrix) @ v, jnp.asarray(rhs), max_iterations=300, tol=1e-12
    )
    np.testing.assert_allclose(result.solution, np.linalg.solve(matrix, rhs), rtol=1e-8)
    assert bool(result.converged)
    assert 0 < int(result.iterations) <= 300


def test_exact_in_n_iterations_for_few_distinct_eigenvalues(x64):
    """CG terminates after as many iterations as A has distinct eigenvalues (here 3)."""
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.standard_normal((12, 12)))
    matrix = (q * np.repeat([1.0, 5.0, 20.0], 4)) @ q.T
    result = conjugate_gradient(
        lambda v: jnp.asarray(matrix) @ v, jnp.ones(12), max_iterations=12, tol=1e-10
    )
    assert int(result.iterations) == 3


def test_iteration_cap_and_reported_residual(x64):
    matrix, rhs = _spd(40, 1e6)
    result = conjugate_gradient(
        lambda v: jnp.asarray(matrix) @ v, jnp.asarray(rhs), max_iterations=5, tol=1e-14
    )
    assert int(result.iterations) == 5 and not bool(result.converged)
    true_residual = np.linalg.norm(rhs - matrix @ np.asarray(result.solution))
    np.testing.assert_allclose(result.residual_norm, true_residual, rtol=1e-6)


@pytest.mark.parametrize("kind", ["relative", "absolute"])
def test_tolerance_kinds(x64, kind):
    matrix, rhs = _spd(20, 1e2)
    rhs = 1e3 * rhs  # a large right-hand side separates the two kinds
    result = conjugate_gradient(
        lambda v: jnp.asarray(matrix) @ v,
        jnp.asarray(rhs),
        max_iterations=500,
        tol=1e-3,
        tol_kind=kind,
    )
    limit = 1e-3 * np.linalg.norm(rhs) if kind == "relative" else 1e-3
    assert float(result.residual_norm) <= limit
    assert bool(result.converged)


def test_pytree_right_hand_side(x64):
    rhs = {"a": jnp.ones(3), "b": jnp.arange(2.0)}
    result = conjugate_gradient(
        lambda v: {k: 2.0 * x for k, x in v.items()}, rhs, max_iterations=10, tol=1e-12
    )
    np.testing.assert_allclose(result.solution["a"], 0.5 * np.ones(3))
    np.testing.assert_allclose(result.solution["b"], 0.5 * np.arange(2.0))
