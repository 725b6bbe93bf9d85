"""The three Gram builders agree with ``J J^T`` from a materialised Jacobian."""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from core import curvature, models
from core.objectives import MeanSquaredError

MLP_VARIANTS = [
    dict(activation="tanh", initializer="kaiming_uniform"),
    dict(activation="relu", initializer="glorot_normal", bias_init="uniform_fan_in"),
    dict(activation="quadratic", initializer="normal", use_bias=False),
    dict(
        activation="tanh",
        parametrisation="ntk",
        initializer="normal",
        bias_scale=0.3,
        bias_init="normal",
    ),
    dict(
        activation="relu",
        initializer="torch_default",
        alpha=3.0,
        alpha_scope="all",
        bias_init="uniform_fan_in",
    ),
    # Kumar et al.'s modular-addition model (docs/paper-notes.md#modular-mlp), with s^2 = 2.25
    dict(
        activation="quadratic",
        initializer="normal",
        use_bias=False,
        parametrisation="mean_field",
        output_gain=2.25,
    ),
]


def _mlp_and_data(variant, key=0, sizes=(3, 7, 5, 2), n=6):
    k_model, k_x = jax.random.split(jax.random.PRNGKey(key))
    mlp = models.make_mlp(k_model, sizes, **variant)
    xs = jax.random.normal(k_x, (n, sizes[0]))
    return mlp, xs


def _reference_gram(model, xs):
    params, static = models.partition_trainable(model)

    def residual(p):
        return jax.vmap(eqx.combine(p, static))(xs).reshape(-1)

    jacobian = curvature.materialized_jacobian(residual, params)
    return jacobian @ jacobian.T, residual, params


@pytest.mark.parametrize("variant", MLP_VARIANTS, ids=lambda v: "-".join(map(str, v.values())))
def test_structured_gram_matches_jacobian(x64, variant):
    mlp, xs = _mlp_and_data(variant)
    reference, residual, params = _reference_gram(mlp, xs)
    np.testing.assert_allclose(
        curvature.structured_gram(mlp, xs), reference, rtol=1e-10, atol=1e-10
    )
    op = curvature.JacobianOperator(residual, params)
    np.testing.assert_allclose(curvature.gram_from_jacobian(op), reference, rtol=1e-10, atol=1e-10)
    for chunk in (None, 5):
        np.testing.assert_allclose(
            curvature.gram_matrix_free(op, chunk), reference, rtol=1e-10, atol=1e-10
        )


def test_structured_gram_of_centered_model(x64):
    """The lazy-training wrapper scales the kernel by alpha^2; the frozen copy has no gradient."""
    mlp, xs = _mlp_and_data(dict(activation="tanh"))
    centered = models.CenteredModel.around(mlp, alpha=4.0)
    reference, _, _ = _reference_gram(centered, xs)
    np.testing.assert_allclose(curvature.structured_gram(centered, xs), reference, rtol=1e-10)
    np.testing.assert_allclose(reference, 16.0 * curvature.structured_gram(mlp, xs), rtol=1e-10)


def test_structured_gram_of_centered_mean_field_network(x64):
    """Kumar et al.'s polynomial model ``alpha (f - f_0)``: the one-layer factor formula
    ``(X X^T / D) (.) (G G^T)`` equals ``J J^T`` built with reverse mode."""
    k_model, k_x = jax.random.split(jax.random.PRNGKey(3))
    net = models.make_mean_field(k_model, input_dim=5, width=11, epsilon=0.25)
    xs = jax.random.normal(k_x, (7, 5))
    centered = models.CenteredModel.around(net, alpha=3.0)
    reference, _, _ = _reference_gram(centered, xs)
    np.testing.assert_allclose(curvature.structured_gram(centered, xs), reference, rtol=1e-10)


@pytest.mark.parametrize("convention", ["loss", "raw"])
@pytest.mark.parametrize("scale", [1.0, 0.5])
def test_objective_gram_matches_its_residual(x64, convention, scale):
    """``MeanSquaredError.gram`` is the Gram of ``MeanSquaredError.residual`` (same scaling)."""
    mlp, xs = _mlp_and_data(dict(activation="tanh"))
    params, static = models.partition_trainable(mlp)
    objective = MeanSquaredError(static, convention=convention, scale=scale)
    batch = (xs, jnp.ones((xs.shape[0], 2)))
    jacobian = curvature.materialized_jacobian(lambda p: objective.residual(p, batch), params)
    np.testing.assert_allclose(objective.gram(params, batch), jacobian @ jacobian.T, rtol=1e-10)
    scaled_loss = 0.5 * jnp.sum(objective.residual(params, batch) ** 2)
    plain = jnp.mean((objective.predict(params, xs) - batch[1]) ** 2)
    np.testing.assert_allclose(objective.loss(params, batch), plain / scale**2, rtol=1e-12)
    if convention == "loss":  # 0.5 ||r||^2 is the (scaled) mean-squared error itself
        np.testing.assert_allclose(scaled_loss, objective.loss(params, batch), rtol=1e-12)


def test_build_gram_auto_prefers_structured(x64):
    mlp, xs = _mlp_and_data(dict(activation="tanh"))
    reference, residual, params = _reference_gram(mlp, xs)
    op = curvature.JacobianOperator(residual, params)
    calls = []

    def gram_fn(p):
        calls.append(1)
        return curvature.structured_gram(eqx.combine(p, models.partition_trainable(mlp)[1]), xs)

    np.testing.assert_allclose(curvature.build_gram(op, gram_fn=gram_fn), reference, rtol=1e-10)
    assert calls, "auto should use the structured gram_fn when one is given"
    with pytest.raises(ValueError, match="needs a gram_fn"):
        curvature.build_gram(op, method="structured")


@pytest.mark.parametrize("solver", ["cholesky", "eigh", "cg"])
def test_lm_direction_on_mlp_matches_numpy(x64, solver):
    """LM on a real MLP objective (structured Gram for the direct solvers) against the numpy
    primal solve ``(mu I + J^T J)^{-1} J^T r`` with a materialised J."""
    from core import optim

    mlp, xs = _mlp_and_data(dict(activation="tanh"), sizes=(3, 9, 2), n=8)
    params, static = models.partition_trainable(mlp)
    objective = MeanSquaredError(static)
    batch = (xs, jnp.ones((xs.shape[0], 2)))
    extra = objective.extra_args(params, batch)
    assert "gram_fn" in extra
    damping = 1e-2
    tx = optim.scale_by_levenberg_marquardt(
        damping, solver=solver, cg_max_iterations=200, cg_tol=1e-14
    )
    direction, _ = tx.update(params, tx.init(params), params, **extra)
    jacobian = np.asarray(materialized(objective, params, batch))
    residual = np.asarray(objective.residual(params, batch))
    p = jacobian.shape[1]
    expected = np.linalg.solve(damping * np.eye(p) + jacobian.T @ jacobian, jacobian.T @ residual)
    flat = jax.flatten_util.ravel_pytree(direction)[0]
    np.testing.assert_allclose(flat, expected, rtol=1e-7, atol=1e-10)


def materialized(objective, params, batch):
    return curvature.materialized_jacobian(lambda p: objective.residual(p, batch), params)
