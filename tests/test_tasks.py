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


@pytest.mark.parametrize(("positions", "readout"), [("rhs", (4, 5)), ("equals", (4,))])
def test_modular_addition_sequences_format(positions, readout):
    """``<eos> a + b = c <eos>``: input the first 6 tokens, targets the next tokens at the loss
    positions; every equation once; round(fraction p^2) train."""
    p = 7
    task = tasks.modular_addition_sequences(p, 0.5, jax.random.PRNGKey(0), positions)
    data = task.data
    assert task.readout == readout and task.vocab_size == p + 3 and task.sequence_length == 6
    # round(24.5) = 24 (Python rounds half to even, as grok: 9 409 x 50 % -> 4 704 train)
    assert data.train_inputs.shape == (24, 6) and data.test_inputs.shape == (25, 6)
    inputs = np.concatenate([data.train_inputs, data.test_inputs])
    targets = np.concatenate([data.train_targets, data.test_targets])
    eos, plus, equals = p, p + 1, p + 2
    np.testing.assert_array_equal(inputs[:, [0, 2, 4]], [[eos, plus, equals]] * p * p)
    a, b, c = inputs[:, 1], inputs[:, 3], inputs[:, 5]
    np.testing.assert_array_equal(c, (a + b) % p)
    assert len({(int(x), int(y)) for x, y in zip(a, b, strict=True)}) == p * p
    np.testing.assert_array_equal(targets[:, 0], c)  # position 4 ("=") predicts c
    if positions == "rhs":
        np.testing.assert_array_equal(targets[:, 1], eos)  # position 5 ("c") predicts <eos>
    with pytest.raises(ValueError, match="loss_positions"):
        tasks.modular_addition_sequences(p, 0.5, jax.random.PRNGKey(0), "all")
