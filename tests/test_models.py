"""Models: initialisers, parametrisations, scales, the centred wrapper and the trainable split."""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from core import models

KEY = jax.random.PRNGKey(0)


@pytest.mark.parametrize(
    ("initializer", "bound"),
    [
        ("kaiming_uniform", lambda fi, fo: math.sqrt(6 / fi)),
        ("torch_default", lambda fi, fo: 1 / math.sqrt(fi)),
        ("glorot_uniform", lambda fi, fo: math.sqrt(6 / (fi + fo))),
    ],
)
def test_uniform_initialisers_fill_their_bounds(initializer, bound):
    mlp = models.make_mlp(KEY, (400, 300, 2), initializer=initializer)
    weight = np.asarray(mlp.layers[0].weight)
    assert weight.shape == (300, 400)
    limit = bound(400, 300)
    assert np.abs(weight).max() <= limit
    assert np.abs(weight).max() > 0.99 * limit
    np.testing.assert_allclose(weight.std(), limit / math.sqrt(3), rtol=0.02)


def test_glorot_normal_variance():
    weight = np.asarray(
        models.make_mlp(KEY, (400, 300, 2), initializer="glorot_normal").layers[0].weight
    )
    np.testing.assert_allclose(weight.var(), 2 / 700, rtol=0.03)


def test_bias_inits():
    zero = models.make_mlp(KEY, (50, 40, 1))
    assert float(jnp.abs(zero.layers[0].bias).max()) == 0.0
    drawn = models.make_mlp(KEY, (50, 40, 1), bias_init="uniform_fan_in")
    assert 0 < float(jnp.abs(drawn.layers[0].bias).max()) <= 1 / math.sqrt(50)
    assert models.make_mlp(KEY, (5, 4, 1), use_bias=False).layers[0].bias is None


def test_alpha_scope():
    base = models.make_mlp(KEY, (5, 4, 1), bias_init="normal")
    weights_only = models.make_mlp(KEY, (5, 4, 1), bias_init="normal", alpha=3.0)
    everything = models.make_mlp(KEY, (5, 4, 1), bias_init="normal", alpha=3.0, alpha_scope="all")
    np.testing.assert_allclose(weights_only.layers[0].weight, 3 * base.layers[0].weight, rtol=1e-6)
    np.testing.assert_allclose(weights_only.layers[0].bias, base.layers[0].bias)
    np.testing.assert_allclose(everything.layers[0].bias, 3 * base.layers[0].bias, rtol=1e-6)


def test_ntk_parametrisation_forward():
    mlp = models.make_mlp(
        KEY, (4, 3), parametrisation="ntk", initializer="normal", bias_init="normal", bias_scale=0.5
    )
    layer = mlp.layers[0]
    x = jnp.arange(4.0)
    expected = layer.weight @ x / 2.0 + 0.5 * layer.bias
    np.testing.assert_allclose(mlp(x), expected, rtol=1e-6)


@pytest.mark.parametrize("activation", ["tanh", "relu", "quadratic"])
def test_forward_matches_hand_written(activation):
    mlp = models.make_mlp(KEY, (3, 5, 2), activation=activation, bias_init="uniform_fan_in")
    phi = {"tanh": jnp.tanh, "relu": jax.nn.relu, "quadratic": jnp.square}[activation]
    x = jnp.array([0.3, -1.2, 2.0])
    first, second = mlp.layers
    expected = second.weight @ phi(first.weight @ x + first.bias) + second.bias
    np.testing.assert_allclose(mlp(x), expected, rtol=1e-5)


def test_centered_model_is_zero_at_init_and_scales():
    mlp = models.make_mlp(KEY, (3, 8, 2))
    centered = models.CenteredModel.around(mlp, alpha=5.0)
    x = jnp.ones(3)
    np.testing.assert_allclose(centered(x), 0.0, atol=1e-6)
    moved = eqx.tree_at(lambda m: m.model.layers[1].bias, centered, jnp.array([1.0, -1.0]))
    np.testing.assert_allclose(moved(x), 5.0 * jnp.array([1.0, -1.0]), rtol=1e-5)


def test_partition_excludes_frozen_reference():
    mlp = models.make_mlp(KEY, (3, 8, 2))
    centered = models.CenteredModel.around(mlp, alpha=2.0)
    params, static = models.partition_trainable(centered)
    assert models.parameter_count(params) == models.parameter_count(
        models.partition_trainable(mlp)[0]
    )
    grads = jax.grad(lambda p: jnp.sum(eqx.combine(p, static)(jnp.ones(3)) ** 2))(params)
    assert models.parameter_count(grads) == models.parameter_count(params)


def test_rejects_unknown_options():
    with pytest.raises(ValueError, match="activation"):
        models.make_mlp(KEY, (2, 2), activation="sigmoid")
    with pytest.raises(ValueError, match="at least"):
        models.make_mlp(KEY, (2,))


def test_kumar_modular_model_formula():
    """mean_field + quadratic + no bias + output_gain s^2 is ``s^2 W2 (W1 x)^2 / (D N)``."""
    d, n, k, s2 = 6, 9, 4, 2.25
    mlp = models.make_mlp(
        jax.random.PRNGKey(0),
        (d, n, k),
        activation="quadratic",
        initializer="normal",
        use_bias=False,
        parametrisation="mean_field",
        output_gain=s2,
    )
    x = jax.random.normal(jax.random.PRNGKey(1), (d,))
    w1, w2 = mlp.layers[0].weight, mlp.layers[1].weight
    np.testing.assert_allclose(mlp(x), s2 * w2 @ (w1 @ x) ** 2 / (d * n), rtol=1e-5)


def test_mean_field_network_formula_and_factors():
    """``f = mean_i phi(w_i . x / sqrt(D))`` and its one-layer factors reproduce f."""
    net = models.make_mean_field(jax.random.PRNGKey(0), input_dim=5, width=8, epsilon=0.25)
    xs = jax.random.normal(jax.random.PRNGKey(1), (3, 5))
    h = xs @ net.weight.T / np.sqrt(5)
    expected = np.mean(h + 0.125 * h**2, axis=1, keepdims=True)
    np.testing.assert_allclose(jax.vmap(net)(xs), expected, rtol=1e-5)
    outputs, (factor,) = net.dense_layer_factors(xs)
    np.testing.assert_allclose(outputs, expected, rtol=1e-5)
    assert factor.output_grads.shape == (1, 3, 8) and factor.bias_gain is None


def test_scales_are_traced_leaves_out_of_the_parameters():
    """output_gain, CenteredModel's alpha and the loss scale are arrays (one compiled program for
    every value), never trained: the parameters are the same with or without them."""
    plain = models.make_mlp(KEY, (3, 8, 2), parametrisation="mean_field")
    scaled = models.CenteredModel.around(
        models.make_mlp(KEY, (3, 8, 2), parametrisation="mean_field", output_gain=0.25), 3.0
    )
    params, static = models.partition_trainable(scaled)
    assert jax.tree.structure(params.model) == jax.tree.structure(
        models.partition_trainable(plain)[0]
    )
    assert isinstance(static.alpha, models.Scale)
    assert isinstance(static.model.layers[-1].output_gain, models.Scale)
    x = jnp.ones(3)
    moved = eqx.tree_at(lambda m: m.model.layers[1].weight, scaled, plain.layers[1].weight * 2)
    # W -> 2W: alpha * gain * (f(2W) - f(W)) = 3 * 0.25 * f(W) (zero biases)
    np.testing.assert_allclose(moved(x), 0.75 * plain(x), rtol=1e-5)
    # a standard net at gain 1 keeps a plain affine readout (its programs unchanged)
    assert models.make_mlp(KEY, (3, 8, 2)).layers[-1].output_gain is None
    scale = models.Scale.of(0.5)
    assert (float(scale.square), float(scale.inverse), float(scale.inverse_square)) == (0.25, 2, 4)
    assert models.Scale.of(scale) is scale
