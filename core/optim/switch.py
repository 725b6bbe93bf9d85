"""Switch optimizers at a fixed step, the second one starting from a fresh state.

The paper's Fig. 7 runs LM for 2 000 steps, then AdamW; Fig. 12 runs GGN for 3 000 steps, then Adam.
"Fresh" means ``second.init(params)`` evaluated at the parameters of the switch step, so nothing
the first phase learnt (moments, counts) leaks into the second.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array

from core.optim.info import OptimizerInfo


class SwitchInfo(OptimizerInfo):
    """``phase`` is 0 before the switch and 1 from step ``switch_step`` on."""

    prefix = "switch"
    phase: Array


class SwitchState(NamedTuple):
    step: Array
    first: Any
    second: Any
    info: SwitchInfo


def switch_at(
    first: optax.GradientTransformation,
    second: optax.GradientTransformation,
    switch_step: int,
) -> optax.GradientTransformationExtraArgs:
    """Use ``first`` for steps ``0 .. switch_step - 1`` and ``second`` from ``switch_step`` on.

    Both receive the same extra arguments (each ignores what it does not need). Under ``jit`` the
    choice is a ``lax.cond``, so only the active phase's computation runs (under ``vmap`` both run).
    """
    first = optax.with_extra_args_support(first)
    second = optax.with_extra_args_support(second)

    def init(params: Any) -> SwitchState:
        return SwitchState(
            step=jnp.zeros((), jnp.int32),
            first=first.init(params),
            second=second.init(params),
            info=SwitchInfo(jnp.zeros((), jnp.int32)),
        )

    def update(
        updates: Any, state: SwitchState, params: Any = None, **extra_args: Any
    ) -> tuple[Any, SwitchState]:
        def run_first(_):
            new_updates, new_first = first.update(updates, state.first, params, **extra_args)
            return new_updates, new_first, state.second

        def run_second(_):
            fresh = jax.lax.cond(
                state.step == switch_step,
                lambda: second.init(params),
                lambda: state.second,
            )
            new_updates, new_second = second.update(updates, fresh, params, **extra_args)
            return new_updates, state.first, new_second

        in_first = state.step < switch_step
        new_updates, new_first, new_second = jax.lax.cond(in_first, run_first, run_second, None)
        phase = jnp.where(in_first, 0, 1).astype(jnp.int32)
        return new_updates, SwitchState(state.step + 1, new_first, new_second, SwitchInfo(phase))

    return optax.GradientTransformationExtraArgs(init, update)
