"""Searches: a fixed step scales by -eta; Armijo accepts and halves as specified."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from core import optim

MATRIX = jnp.diag(jnp.array([1.0, 10.0, 100.0]))


def quadratic(theta):
    return 0.5 * theta @ MATRIX @ theta


def _armijo_update(direction, theta, **kwargs):
    tx = optim.armijo_backtracking(**kwargs)
    grad = MATRIX @ theta
    return tx.update(
        direction, tx.init(theta), theta, value=quadratic(theta), grad=grad, value_fn=quadratic
    )


def _expected_halvings(theta, direction, initial, c, tau, max_halvings):
    slope = float((MATRIX @ theta) @ direction)
    for j in range(max_halvings + 1):
        step = initial * tau**j
        if float(quadratic(theta - step * direction)) <= float(quadratic(theta)) - c * step * slope:
            return j
    return None


@pytest.mark.parametrize("initial", [1.0, 0.05])
def test_armijo_takes_the_first_sufficient_step(initial):
    theta = jnp.array([1.0, 1.0, 1.0])
    direction = MATRIX @ theta  # steepest descent: eta = 1 overshoots along the stiff axis
    expected = _expected_halvings(theta, direction, initial, 1e-4, 0.5, 10)
    updates, state = _armijo_update(direction, theta, initial_step=initial)
    info = state.info
    assert int(info.halvings) == expected
    assert bool(info.accepted)
    step = initial * 0.5**expected
    np.testing.assert_allclose(float(info.step_size), step, rtol=1e-6)
    np.testing.assert_allclose(updates, -step * direction, rtol=1e-6)
    np.testing.assert_allclose(
        float(info.actual_decrease),
        float(quadratic(theta) - quadratic(theta - step * direction)),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        float(info.predicted_decrease), step * float((MATRIX @ theta) @ direction), rtol=1e-6
    )


def test_newton_direction_accepted_at_once():
    theta = jnp.array([1.0, -2.0, 0.5])
    newton = jnp.linalg.solve(MATRIX, MATRIX @ theta)
    _, state = _armijo_update(newton, theta)
    assert int(state.info.halvings) == 0 and float(state.info.step_size) == 1.0


@pytest.mark.parametrize(("rule", "step"), [("smallest", 0.5**10), ("skip", 0.0)])
def test_failure_rule(rule, step):
    """An ascent direction is never accepted: 'smallest' takes tau^max, 'skip' takes nothing."""
    theta = jnp.array([1.0, 1.0, 1.0])
    ascent = -(MATRIX @ theta)
    updates, state = _armijo_update(ascent, theta, on_failure=rule)
    assert not bool(state.info.accepted)
    assert int(state.info.halvings) == 10
    np.testing.assert_allclose(float(state.info.step_size), step)
    np.testing.assert_allclose(updates, -step * ascent, atol=0)


def test_fixed_step_scales_and_reports():
    theta = jnp.array([1.0, 1.0, 1.0])
    grad = MATRIX @ theta
    tx = optim.fixed_step(0.01)
    updates, state = tx.update(
        grad, tx.init(theta), theta, value=quadratic(theta), grad=grad, value_fn=quadratic
    )
    np.testing.assert_allclose(updates, -0.01 * grad)
    np.testing.assert_allclose(
        float(state.info.predicted_decrease), 0.01 * float(grad @ grad), rtol=1e-6
    )
    assert float(state.info.actual_decrease) > 0
    bare, bare_state = tx.update(grad, tx.init(theta))
    np.testing.assert_allclose(bare, -0.01 * grad)
    assert np.isnan(float(bare_state.info.actual_decrease))
