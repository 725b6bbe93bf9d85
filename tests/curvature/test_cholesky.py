"""CholeskyFactor: the factor in LAPACK's layout, its solves, and the same numbers as
``jax.scipy.linalg.cho_factor`` / ``cho_solve`` on a symmetric matrix."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
import pytest

from core.curvature import CholeskyFactor, damped_solve_cholesky


def _spd(m: int, seed: int = 0, dtype=np.float64) -> np.ndarray:
    a = np.random.default_rng(seed).standard_normal((m, m // 2))
    return (a @ a.T + 0.1 * np.eye(m)).astype(dtype)


@pytest.mark.parametrize("shape", [(), (3,)])
def test_solve_matches_numpy_for_vectors_and_matrices(x64, shape):
    matrix = _spd(30)
    rhs = np.random.default_rng(1).standard_normal((30, *shape))
    factor = jax.jit(CholeskyFactor.of)(jnp.asarray(matrix))
    np.testing.assert_allclose(factor.solve(jnp.asarray(rhs)), np.linalg.solve(matrix, rhs), 1e-9)
    np.testing.assert_allclose(factor.lower @ factor.lower.T, matrix, rtol=1e-12, atol=1e-12)
    assert np.all(np.triu(np.asarray(factor.lower), 1) == 0)


def test_reads_one_triangle_and_nan_when_not_positive_definite(x64):
    matrix = _spd(12)
    upper_only = np.triu(matrix) + np.tril(np.full_like(matrix, 7.0), -1)  # junk below
    np.testing.assert_allclose(
        CholeskyFactor.of(jnp.asarray(upper_only)).lower, np.linalg.cholesky(matrix), rtol=1e-12
    )
    assert np.all(np.isnan(CholeskyFactor.of(-jnp.eye(4)).solve(jnp.ones(4))))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_same_bits_as_jax_scipy_on_a_symmetric_matrix(dtype):
    """The LM solve moved from cho_factor / cho_solve to CholeskyFactor (issue 16) without
    changing a bit of the direction when the Gram is exactly symmetric."""
    with jax.enable_x64(dtype == np.float64):
        gram = jnp.asarray(_spd(200, seed=2, dtype=dtype))
        rhs = jnp.asarray(np.random.default_rng(3).standard_normal(200).astype(dtype))

        def stock(k, r):
            shifted = k + 1e-2 * jnp.eye(k.shape[0], dtype=k.dtype)
            return jsl.cho_solve(jsl.cho_factor(shifted, lower=True), r)

        ours = jax.jit(damped_solve_cholesky)(gram, rhs, 1e-2)
        np.testing.assert_array_equal(ours, jax.jit(stock)(gram, rhs))
