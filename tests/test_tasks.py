"""The generated tasks: sizes, formulas and seeded splits."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from core import tasks


def test_modular_addition_split_and_targets():
    data = tasks.modular_addition(13, 0.9, jax.random.PRNGKey(1))
    assert data.train_inputs.shape == (152, 26) and data.test_inputs.shape == (17, 26)
    assert data.train_targets.shape == (152, 13)
    inputs = jnp.concatenate([data.train_inputs, data.test_inputs])
    targets = jnp.concatenate([data.train_targets, data.test_targets])
    a, b = jnp.argmax(inputs[:, :13], 1), jnp.argmax(inputs[:, 13:], 1)
    np.testing.assert_array_equal(jnp.argmax(targets, 1), (a + b) % 13)
    # every pair exactly once, across the two sets
    assert len({(int(i), int(j)) for i, j in zip(a, b, strict=True)}) == 169
    again = tasks.modular_addition(13, 0.9, jax.random.PRNGKey(1))
    np.testing.assert_array_equal(again.train_inputs, data.train_inputs)
    other = tasks.modular_addition(13, 0.9, jax.random.PRNGKey(2))
    assert not np.array_equal(other.train_inputs, data.train_inputs)


def test_modular_addition_rejects_empty_sets():
    with pytest.raises(ValueError, match="train_fraction"):
        tasks.modular_addition(3, 0.05, jax.random.PRNGKey(0))
    with pytest.raises(ValueError, match="train_fraction"):
        tasks.modular_addition(3, 1.0, jax.random.PRNGKey(0))


def test_polynomial_teacher_formula():
    data, beta = tasks.polynomial_teacher(jax.random.PRNGKey(0), 10, 45, 100)
    assert data.train_inputs.shape == (45, 10) and data.test_targets.shape == (100, 1)
    x = np.asarray(data.test_inputs)
    np.testing.assert_allclose(
        data.test_targets[:, 0], (x @ np.asarray(beta) / np.sqrt(10)) ** 2, rtol=1e-5
    )
    # E[y] = |beta|^2 / D: a rough check that inputs are standard normal
    assert 0.3 < float(jnp.mean(data.test_targets)) / float(beta @ beta / 10) < 3.0
