"""The switch hands over at step k, and the second optimizer starts from a fresh state."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from core import optim


def test_hands_over_at_k_with_fresh_state():
    k = 3
    params = jnp.array([1.0, -2.0])
    first, second = optax.sgd(0.1), optax.adam(0.01)
    tx = optim.switch_at(first, second, k)
    state = tx.init(params)
    grads = [jnp.array([float(i + 1), -1.0]) for i in range(k + 2)]
    for step, grad in enumerate(grads):
        updates, state = jax.jit(tx.update)(grad, state, params)
        if step < k:
            np.testing.assert_allclose(updates, -0.1 * grad, rtol=1e-6)
            assert int(optim.collect_info(state)["switch/phase"]) == 0
        elif step == k:
            # Fresh Adam: its first update is -lr * sign(g) (bias-corrected m/sqrt(v)).
            np.testing.assert_allclose(updates, -0.01 * jnp.sign(grad), rtol=1e-4)
            adam_state = state.second[0]
            assert int(adam_state.count) == 1
            np.testing.assert_allclose(adam_state.mu, 0.1 * grad, rtol=1e-6)
            assert int(optim.collect_info(state)["switch/phase"]) == 1
    assert int(state.step) == k + 2


def test_second_state_reinitialised_from_switch_params():
    """``second.init`` sees the parameters of the switch step, not the initial ones."""
    seen = []

    def init(params):
        seen.append(params)
        return optax.EmptyState()

    recorder = optax.GradientTransformation(init, lambda u, s, p=None: (u, s))
    tx = optim.switch_at(optax.sgd(1.0), recorder, 1)
    params = jnp.array([0.0])
    state = tx.init(params)
    updates, state = tx.update(jnp.array([1.0]), state, params)
    params = params + updates  # -1
    tx.update(jnp.array([1.0]), state, params)
    assert float(seen[-1][0]) == -1.0
