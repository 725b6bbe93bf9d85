"""Damping and step-size schedules (optax ``Schedule``: step count -> value)."""

from __future__ import annotations

import optax


def log_linear(start: float, end: float, steps: int) -> optax.Schedule:
    """``mu(i) = start * (end / start) ** min(i / steps, 1)``.

    The paper's log-linear damping (docs/paper-notes.md#damping-schedule), equivalently
    ``exp(ln a + min(i/T, 1) (ln b - ln a))``: its MNIST damping (1e-2 -> 1e-4 over 500 steps)
    and transformer damping (1 -> 0.1 over 200 steps).
    """
    if start <= 0 or end <= 0:
        raise ValueError(f"log_linear needs positive endpoints, got start={start}, end={end}")
    if steps <= 0:
        return optax.constant_schedule(end)
    # optax.exponential_decay: start * rate ** (i / steps), clipped at end_value (either direction).
    return optax.exponential_decay(
        init_value=start, transition_steps=steps, decay_rate=end / start, end_value=end
    )


def as_schedule(value: float | optax.Schedule) -> optax.Schedule:
    """A constant for a number, the callable itself otherwise."""
    return value if callable(value) else optax.constant_schedule(value)
