"""GGN: the matrix-free product equals the explicit ``(1/N) J^T H J``; the direction solves
``(mu I + G) h = g``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from core import models, optim
from core.curvature import materialized_jacobian
from core.objectives import SoftmaxCrossEntropy


def _classifier(num_classes=4, n=7):
    k_model, k_x, k_y = jax.random.split(jax.random.PRNGKey(3), 3)
    mlp = models.make_mlp(k_model, (5, 6, num_classes), activation="tanh")
    params, static = models.partition_trainable(mlp)
    inputs = jax.random.normal(k_x, (n, 5))
    labels = jax.random.randint(k_y, (n,), 0, num_classes)
    return SoftmaxCrossEntropy(static), params, (inputs, labels)


def _explicit_ggn(objective, params, batch):
    """``(1/N) sum_n J_n^T (diag p_n - p_n p_n^T) J_n`` with J of the flat logits (test only)."""
    inputs, _ = batch
    jacobian = materialized_jacobian(lambda p: objective.logits(p, inputs).reshape(-1), params)
    logits = objective.logits(params, inputs)
    n, c = logits.shape
    probs = jax.nn.softmax(logits, axis=-1)
    blocks = jax.vmap(lambda q: jnp.diag(q) - jnp.outer(q, q))(probs)
    hessian = jax.scipy.linalg.block_diag(*blocks)
    return jacobian.T @ hessian @ jacobian / n


def test_matvec_equals_explicit(x64):
    objective, params, batch = _classifier()
    explicit = _explicit_ggn(objective, params, batch)
    flat, unravel = jax.flatten_util.ravel_pytree(params)
    _, matvec = optim.ggn_matvec(lambda p: objective.logits(p, batch[0]), params)
    rng = np.random.default_rng(0)
    for _ in range(3):
        vector = jnp.asarray(rng.standard_normal(flat.shape[0]))
        ours = jax.flatten_util.ravel_pytree(matvec(unravel(vector)))[0]
        np.testing.assert_allclose(ours, explicit @ vector, rtol=1e-10, atol=1e-12)


def test_softmax_hessian_is_the_ce_hessian(x64):
    logits = jnp.array([[0.3, -1.0, 2.0], [0.0, 0.0, 0.0]])
    tangent = jnp.array([[1.0, 2.0, -1.0], [0.5, 0.0, 1.0]])
    label = jnp.array([2, 0])

    def ce(z):
        return -jax.nn.log_softmax(z)[label[i]]

    for i in range(2):
        hessian = jax.hessian(ce)(logits[i])
        np.testing.assert_allclose(
            optim.softmax_hessian_product(logits[i : i + 1], tangent[i : i + 1])[0],
            hessian @ tangent[i],
            rtol=1e-12,
        )


def test_direction_solves_damped_system(x64):
    objective, params, batch = _classifier()
    damping = 0.1
    explicit = _explicit_ggn(objective, params, batch)
    grad = jax.grad(objective.loss)(params, batch)
    flat_grad, unravel = jax.flatten_util.ravel_pytree(grad)
    tx = optim.scale_by_generalized_gauss_newton(damping, cg_max_iterations=500, cg_tol=1e-12)
    direction, state = tx.update(
        grad, tx.init(params), params, **objective.extra_args(params, batch)
    )
    expected = np.linalg.solve(damping * np.eye(flat_grad.shape[0]) + explicit, flat_grad)
    np.testing.assert_allclose(jax.flatten_util.ravel_pytree(direction)[0], expected, rtol=1e-8)
    assert 0 < int(state.info.cg_iterations) <= 500
    assert float(state.info.cg_residual) <= 1e-12
    np.testing.assert_allclose(state.info.damping, damping)


def test_ggn_with_armijo_decreases_the_loss():
    objective, params, batch = _classifier()
    tx = optim.generalized_gauss_newton(1.0, 1.0, cg_max_iterations=20)
    state = tx.init(params)
    losses = []
    for _ in range(5):
        value, grad = jax.value_and_grad(objective.loss)(params, batch)
        losses.append(float(value))
        updates, state = tx.update(
            grad, state, params, value=value, grad=grad, **objective.extra_args(params, batch)
        )
        params = jax.tree.map(lambda p, u: p + u, params, updates)
        info = optim.collect_info(state)
        assert bool(info["search/accepted"])
        assert float(info["search/actual_decrease"]) >= 0.0
    assert losses[-1] < losses[0]
