"""Jitted LM / GN steps on an MLP never hold an array of >= p^2 elements (jaxpr inspection)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
import pytest

from core import models, optim
from core.curvature import materialized_jacobian
from core.diagnostics import largest_intermediate
from core.objectives import MeanSquaredError


@pytest.fixture(scope="module")
def problem():
    """p = 2 603 parameters, m = 30 x 3 = 90 residuals (p > m, as for real networks)."""
    k_model, k_x, k_y = jax.random.split(jax.random.PRNGKey(0), 3)
    mlp = models.make_mlp(k_model, (20, 40, 40, 3), activation="tanh")
    params, static = models.partition_trainable(mlp)
    batch = (jax.random.normal(k_x, (30, 20)), jax.random.normal(k_y, (30, 3)))
    return MeanSquaredError(static), params, batch


def _step(objective, tx, batch):
    def step(params, opt_state):
        value, grad = jax.value_and_grad(objective.loss)(params, batch)
        extra = objective.extra_args(params, batch)
        updates, opt_state = tx.update(grad, opt_state, params, value=value, grad=grad, **extra)
        return optax.apply_updates(params, updates), opt_state

    return jax.jit(step)


STEPS = {
    "lm-cholesky-structured": optim.levenberg_marquardt(1.0, 1e-2),
    "lm-eigh-structured": optim.levenberg_marquardt(1.0, 1e-2, solver="eigh"),
    "lm-cholesky-jacobian": optim.levenberg_marquardt(1.0, 1e-2, gram="jacobian"),
    "lm-cholesky-matrix-free": optim.levenberg_marquardt(1.0, 1e-2, gram="matrix_free"),
    "lm-cg": optim.levenberg_marquardt(1.0, 1e-2, solver="cg"),
    "gn-eigh": optim.gauss_newton(1.0, 1e-6),
    "lm-then-adamw": optim.switch_at(optim.levenberg_marquardt(1.0, 1e-2), optax.adamw(1e-3), 5),
}


@pytest.mark.parametrize("name", list(STEPS))
def test_step_holds_no_p_squared_array(problem, name):
    objective, params, batch = problem
    p = models.parameter_count(params)
    tx = STEPS[name]
    largest = largest_intermediate(_step(objective, tx, batch), params, tx.init(params))
    assert largest.size < p * p, f"{name}: {largest} (p^2 = {p * p})"


def test_detector_flags_a_primal_solve(problem):
    """Control: the primal LM step ``(mu I + J^T J)^{-1} J^T r`` is caught."""
    objective, params, batch = problem
    p = models.parameter_count(params)

    def primal_direction(params):
        jacobian = materialized_jacobian(lambda q: objective.residual(q, batch), params)
        residual = objective.residual(params, batch)
        return jnp.linalg.solve(1e-2 * jnp.eye(p) + jacobian.T @ jacobian, jacobian.T @ residual)

    assert largest_intermediate(jax.jit(primal_direction), params).size >= p * p
