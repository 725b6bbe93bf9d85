"""Identities L1-L7 of docs/paper-notes.md#lemmas on random Jacobians, float64, drawn by
Hypothesis.

Each test compares pgdlab's residual-space code with a plain numpy reference that is allowed to
form ``p x p`` matrices (the sizes here are small). Tolerances follow the table of
docs/paper-notes.md#lemmas (errors <= 1e-9 in float64) unless a comment derives a looser bound
from the conditioning.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import curvature, optim, training
from core.objectives import Objective
from tests.strategies import RandomJacobian, cutoffs_in_gaps, dampings, random_jacobians

EPS64 = float(np.finfo(np.float64).eps)


@pytest.fixture(scope="module", autouse=True)
def _float64():
    """The whole module runs in float64 (a module-scoped context: Hypothesis re-runs test bodies
    many times and function-scoped fixtures would not be reset between its examples)."""
    with jax.enable_x64(True):
        yield


def _primal_lm_operator(jacobian: np.ndarray, damping: float) -> np.ndarray:
    """``(mu I_p + J^T J)^{-1}``, the p x p reference."""
    p = jacobian.shape[1]
    return np.linalg.inv(damping * np.eye(p) + jacobian.T @ jacobian)


def _primal_gn_pinv(jacobian: np.ndarray, eps: float) -> np.ndarray:
    """``(J^T J)^+_eps`` with eigenvalues <= eps zeroed, the p x p reference."""
    values, vectors = np.linalg.eigh(jacobian.T @ jacobian)
    inverse = np.where(values > eps, 1.0 / np.where(values > eps, values, 1.0), 0.0)
    return (vectors * inverse) @ vectors.T


@given(sample=random_jacobians(), damping=dampings)
def test_l1_lm_eigenvalue_map(sample: RandomJacobian, damping: float):
    """Lemma 3.2: ``M = J (mu I + J^T J)^{-1} J^T`` has eigenvalues ``lambda/(mu+lambda)`` on the
    eigenvectors of ``K``."""
    jacobian = sample.jacobian
    m_matrix = jacobian @ _primal_lm_operator(jacobian, damping) @ jacobian.T
    eigen = curvature.GramEigen.of(jnp.asarray(jacobian @ jacobian.T))
    predicted = np.asarray(curvature.lm_mode_rate(eigen.eigenvalues, damping))
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(m_matrix)), np.sort(predicted), atol=1e-9)
    vectors = np.asarray(eigen.eigenvectors)
    np.testing.assert_allclose(m_matrix @ vectors, vectors * predicted, atol=1e-9)


@given(sample=random_jacobians(), damping=dampings)
def test_l2_push_through(sample: RandomJacobian, damping: float):
    """``J (mu I_p + J^T J)^{-1} J^T = K (mu I_n + K)^{-1}``, the right side by our Cholesky."""
    jacobian = sample.jacobian
    kernel = jacobian @ jacobian.T
    primal = jacobian @ _primal_lm_operator(jacobian, damping) @ jacobian.T
    identity = np.eye(kernel.shape[0])
    dual = kernel @ np.asarray(
        curvature.damped_solve_cholesky(jnp.asarray(kernel), jnp.asarray(identity), damping)
    )
    np.testing.assert_allclose(dual, primal, atol=1e-9)


@given(data=st.data(), sample=random_jacobians())
def test_l3_gn_projector(data, sample: RandomJacobian):
    """Lemma 3.3: ``J (J^T J)^+_eps J^T`` is an orthogonal projector whose rank is the number of
    eigenvalues above eps; our residual-space ``K K^+_eps`` is the same matrix."""
    eps = data.draw(cutoffs_in_gaps(sample.eigenvalues), label="eps")
    jacobian = sample.jacobian
    primal = jacobian @ _primal_gn_pinv(jacobian, eps) @ jacobian.T
    kernel = jnp.asarray(jacobian @ jacobian.T)
    eigen = curvature.GramEigen.of(kernel)
    identity = jnp.eye(kernel.shape[0])
    ours = np.asarray(kernel @ jax.vmap(lambda e: eigen.pseudo_inverse_solve(e, eps))(identity).T)
    # K K^+ multiplies by lambda and divides by it again: round-off grows like
    # lambda_max / lambda_kept_min (the 1e-9 of docs/paper-notes.md#lemmas was for a ratio of 1e7).
    kept = sample.eigenvalues[sample.eigenvalues > eps]
    bound = max(1e-9, 10 * EPS64 * float(np.max(sample.eigenvalues) / np.min(kept)))
    np.testing.assert_allclose(ours, primal, atol=bound)
    np.testing.assert_allclose(ours, ours.T, atol=bound)
    values = np.linalg.eigvalsh(0.5 * (ours + ours.T))
    assert np.max(np.minimum(np.abs(values), np.abs(values - 1.0))) < bound
    expected_rank = int(np.sum(sample.eigenvalues > eps))
    assert int(np.sum(values > 0.5)) == expected_rank == int(eigen.kept_modes(eps))


@given(sample=random_jacobians(), damping=dampings)
def test_l4_lm_condition_number(sample: RandomJacobian, damping: float):
    """``kappa_LM`` formula = max/min of the LM rates; with ``mu = lambda_min`` it is in (1, 2]."""
    eigenvalues = jnp.asarray(sample.singular_values**2)  # the non-zero spectrum
    rates = curvature.lm_mode_rate(eigenvalues, damping)
    formula = float(curvature.lm_condition_number(eigenvalues, damping))
    assert abs(formula - float(jnp.max(rates) / jnp.min(rates))) <= 1e-12 * formula
    assert formula <= float(curvature.condition_number(eigenvalues)) * (1 + 1e-12)
    lam_min, lam_max = float(jnp.min(eigenvalues)), float(jnp.max(eigenvalues))
    at_min = float(curvature.lm_condition_number(eigenvalues, lam_min))
    assert abs(at_min - 2 * lam_max / (lam_max + lam_min)) <= 1e-12 * at_min
    assert 1.0 - 1e-12 <= at_min <= 2.0 + 1e-12


@given(sample=random_jacobians(), damping=dampings)
def test_l5_sherman_morrison_woodbury(sample: RandomJacobian, damping: float):
    """SMW (eq. 6): ``(mu I + J^T J)^{-1} v = v/mu - J^T (mu I + J J^T)^{-1} J v / mu``.

    The two terms cancel for the modes with ``lambda >> mu``; float64 round-off then grows like
    ``lambda_max / mu``, so the bound is ``1e-12 (1 + lambda_max / mu)`` (1e-9 for mild cases).
    """
    jacobian = sample.jacobian
    p = jacobian.shape[1]
    vector = np.random.default_rng(0).standard_normal(p)
    reference = _primal_lm_operator(jacobian, damping) @ vector
    kernel = jnp.asarray(jacobian @ jacobian.T)
    inner = curvature.damped_solve_cholesky(kernel, jnp.asarray(jacobian @ vector), damping)
    smw = vector / damping - jacobian.T @ np.asarray(inner) / damping
    lam_max = float(np.max(sample.eigenvalues))
    bound = max(1e-9, 1e-12 * (1 + lam_max / damping))
    assert np.linalg.norm(smw - reference) <= bound * np.linalg.norm(reference)


LM_PATHS = [
    ("cholesky", "jacobian"),
    ("cholesky", "matrix_free"),
    ("eigh", "jacobian"),
]


@functools.partial(jax.jit, static_argnames=("solver", "gram", "max_iterations"))
def _lm_direction(jacobian, residual, damping, solver, gram="auto", max_iterations=0, tol=0.0):
    """The LM transformation's direction for ``r(theta) = J theta + residual`` at ``theta = 0``
    (jitted with the data as arguments, so each shape compiles once)."""
    tx = optim.scale_by_levenberg_marquardt(
        damping, solver=solver, gram=gram, cg_max_iterations=max_iterations, cg_tol=tol
    )
    params = jnp.zeros(jacobian.shape[1], jacobian.dtype)
    direction, state = tx.update(
        params, tx.init(params), params, residual_fn=lambda theta: jacobian @ theta + residual
    )
    return direction, state.info


@given(sample=random_jacobians(), damping=dampings)
def test_l6_lm_direction_every_solver(sample: RandomJacobian, damping: float):
    """Dual form ``J^T (mu I + K)^{-1} r`` equals the primal ``(mu I + J^T J)^{-1} J^T r`` for every
    direct solver path, and CG within its convergence bound."""
    jacobian, residual = jnp.asarray(sample.jacobian), jnp.asarray(sample.residual)
    reference = _primal_lm_operator(sample.jacobian, damping) @ sample.jacobian.T @ sample.residual
    scale = np.linalg.norm(reference)
    # a backward-stable solve errs by about eps * kappa(mu I + K): 1e-9 was 1.0036e-9 for a flat
    # spectrum at 100 with mu = 0.1 (kappa 1e5), with the old and the new Cholesky path alike
    kappa = (float(np.max(sample.eigenvalues)) + damping) / damping
    bound = max(1e-9, 1e-13 * kappa) * max(scale, 1.0)
    for solver, gram in LM_PATHS:
        direction, _ = _lm_direction(jacobian, residual, damping, solver, gram)
        error = np.linalg.norm(np.asarray(direction) - reference)
        assert error <= bound, (solver, gram)
    # CG on (mu I + K) y = r: ||y - y*|| / ||y*|| <= kappa * (relative residual), kappa the
    # condition number of mu I + K; the direction J^T y inherits that bound times ||J||.
    tol = 1e-13
    n = sample.jacobian.shape[0]
    direction, info = _lm_direction(jacobian, residual, damping, "cg", "auto", 20 * n, tol)
    dual_reference = np.linalg.solve(
        damping * np.eye(n) + sample.jacobian @ sample.jacobian.T, sample.residual
    )
    bound = max(1e-9, 10 * kappa * max(tol, float(info.cg_residual)))
    dual_error = np.linalg.norm(np.asarray(direction) - reference) / (
        np.max(sample.singular_values) * np.linalg.norm(dual_reference)
    )
    assert dual_error <= bound


@functools.partial(jax.jit, static_argnames=("solver",))
def _gn_direction(jacobian, residual, eps, solver):
    tx = optim.scale_by_gauss_newton(eps, solver=solver, gram="jacobian")
    params = jnp.zeros(jacobian.shape[1], jacobian.dtype)
    direction, state = tx.update(
        params, tx.init(params), params, residual_fn=lambda theta: jacobian @ theta + residual
    )
    return direction, state.info


@given(data=st.data(), sample=random_jacobians())
def test_l6_gn_direction_eigh_and_svd(data, sample: RandomJacobian):
    """``(J^T J)^+_eps J^T r = J^T (J J^T)^+_eps r`` (same cut-off), by eigh of K and SVD of J."""
    eps = data.draw(cutoffs_in_gaps(sample.eigenvalues), label="eps")
    reference = _primal_gn_pinv(sample.jacobian, eps) @ sample.jacobian.T @ sample.residual
    # Dividing by the smallest kept eigenvalue amplifies round-off in K's eigenvectors by
    # lambda_max / lambda_kept_min (as in L3).
    kept = sample.eigenvalues[sample.eigenvalues > eps]
    bound = max(1e-9, 10 * EPS64 * float(np.max(sample.eigenvalues) / np.min(kept)))
    for solver in ("eigh", "svd"):
        direction, info = _gn_direction(
            jnp.asarray(sample.jacobian), jnp.asarray(sample.residual), eps, solver
        )
        error = np.linalg.norm(np.asarray(direction) - reference)
        assert error <= bound * max(np.linalg.norm(reference), 1.0), solver
        assert int(info.kept_modes) == int(np.sum(sample.eigenvalues > eps))


class _LinearLeastSquares(Objective):
    """``L = 0.5 ||J theta - y||^2`` (raw residuals), for the discrete-dynamics check."""

    jacobian: jax.Array
    target: jax.Array

    def loss(self, params, batch):
        return 0.5 * jnp.sum((self.jacobian @ params - self.target) ** 2)

    def extra_args(self, params, batch):
        return {"residual_fn": lambda theta: self.jacobian @ theta - self.target}


# Optimizer factories of traced hyperparameters: one compilation per shape, not per example.
def _GD(h):
    return optax.sgd(h["eta_gd"])


def _LM(h):
    return optim.levenberg_marquardt(h["eta"], h["mu"])


def _GN(h):
    return optim.gauss_newton(h["eta"], h["eps"])


@given(data=st.data(), sample=random_jacobians(max_log_condition=6.0), damping=dampings)
def test_l7_discrete_mode_dynamics(data, sample: RandomJacobian, damping: float):
    """Linear model ``f = J theta``: after k steps the error in eigenmode i is multiplied by
    ``(1 - eta rate_i)^k``, rate = ``lambda`` (GD), ``lambda/(mu+lambda)`` (LM), ``1[lambda>eps]``
    (GN). Runs the real training loop (``core.training.train``)."""
    steps, eta = 20, 0.5
    eps = data.draw(cutoffs_in_gaps(sample.eigenvalues), label="eps")
    objective = _LinearLeastSquares(
        static=None, jacobian=jnp.asarray(sample.jacobian), target=-jnp.asarray(sample.residual)
    )
    params = jnp.zeros(sample.jacobian.shape[1])
    kernel = sample.jacobian @ sample.jacobian.T
    values, vectors = np.linalg.eigh(kernel)
    values = np.maximum(values, 0.0)
    initial_modes = vectors.T @ sample.residual
    eta_gd = eta / np.max(values)  # GD is only stable for eta < 2 / lambda_max
    # Arrays, not Python floats: filter_jit would treat floats as static and recompile.
    hparams = {
        k: jnp.asarray(v) for k, v in dict(eta=eta, eta_gd=eta_gd, mu=damping, eps=eps).items()
    }
    cases = {
        "gd": (_GD, values * eta_gd),
        "lm": (_LM, eta * values / (damping + values)),
        "gn": (_GN, eta * (values > eps)),
    }
    for name, (factory, per_step) in cases.items():
        result = training.train(
            objective, factory, params, (jnp.zeros((1,)),), steps=steps, hparams=hparams
        )
        final_error = np.asarray(sample.jacobian @ np.asarray(result.params) - (-sample.residual))
        predicted = (1.0 - per_step) ** steps * initial_modes
        np.testing.assert_allclose(vectors.T @ final_error, predicted, atol=1e-9, err_msg=name)
