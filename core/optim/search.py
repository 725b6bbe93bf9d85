"""Step-length rules ("searches"), kept apart from the directions (as in optimistix).

A search receives a direction ``d`` as ``updates`` and returns ``-eta d``. Both record, when the
training loop passes ``value`` (= ``L(theta)``), ``grad`` and ``value_fn`` as extra arguments,

* ``predicted_decrease = eta <grad, d>`` (first-order model of the decrease);
* ``actual_decrease = L(theta) - L(theta - eta d)``.

Their ratio near 1 means the local model holds; it drops when the step leaves the region where
the linearisation is good (the lazy regime, for LM / GN).

Both searches are a step rule in :func:`_search`, which holds the optax plumbing they share (the
extra-args signature, the update ``-eta d`` and the step counter).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array

from core.optim.info import OptimizerInfo
from core.optim.schedules import as_schedule

OnFailure = Literal["smallest", "skip"]


class SearchInfo(OptimizerInfo):
    """``step_size`` taken, ``halvings`` tried (0 for a fixed step), whether the Armijo condition
    was met (``accepted``; always 1 for a fixed step), predicted and actual decrease."""

    prefix = "search"
    step_size: Array
    halvings: Array
    accepted: Array
    predicted_decrease: Array
    actual_decrease: Array


class SearchState(NamedTuple):
    step: Array
    info: SearchInfo


def _shifted(params: Any, direction: Any, step: Array) -> Any:
    return jax.tree.map(lambda p, d: p - step * d, params, direction)


def _init_state(params: Any) -> SearchState:
    dtype = jax.tree.leaves(params)[0].dtype
    nan = jnp.full((), jnp.nan, dtype)
    info = SearchInfo(nan, jnp.zeros((), jnp.int32), jnp.ones((), jnp.bool_), nan, nan)
    return SearchState(jnp.zeros((), jnp.int32), info)


def _search(rule: Callable[..., tuple[Array, SearchInfo]]) -> optax.GradientTransformationExtraArgs:
    """A search from ``rule(updates, count, params, value, grad, value_fn) -> (eta, info)``
    (``count`` = steps taken so far): returns ``-eta * updates`` and records ``info``."""

    def update(
        updates: Any,
        state: SearchState,
        params: Any = None,
        *,
        value: Array | None = None,
        grad: Any = None,
        value_fn: Callable[[Any], Array] | None = None,
        **extra_args: Any,
    ) -> tuple[Any, SearchState]:
        del extra_args
        with jax.named_scope("search"):
            step, info = rule(updates, state.step, params, value, grad, value_fn)
        return jax.tree.map(lambda d: -step * d, updates), SearchState(state.step + 1, info)

    return optax.GradientTransformationExtraArgs(_init_state, update)


def fixed_step(
    learning_rate: float | optax.Schedule, *, track_decrease: bool = True
) -> optax.GradientTransformationExtraArgs:
    """``updates -> -eta * updates`` (eta may be a schedule), with decrease diagnostics.

    ``track_decrease`` costs one extra loss evaluation per step; the decrease fields are NaN
    without it or when ``value`` / ``grad`` / ``value_fn`` are not passed.
    """
    rate_at = as_schedule(learning_rate)

    def rule(updates, count, params, value, grad, value_fn):
        dtype = jax.tree.leaves(updates)[0].dtype
        step = jnp.asarray(rate_at(count), dtype)
        nan = jnp.full((), jnp.nan, dtype)
        predicted = actual = nan
        if track_decrease and grad is not None:
            predicted = step * optax.tree.vdot(grad, updates)
        if track_decrease and value is not None and value_fn is not None and params is not None:
            actual = value - value_fn(_shifted(params, updates, step))
        info = SearchInfo(
            step_size=step,
            halvings=jnp.zeros((), jnp.int32),
            accepted=jnp.ones((), jnp.bool_),
            predicted_decrease=predicted,
            actual_decrease=actual,
        )
        return step, info

    return _search(rule)


def armijo_backtracking(
    initial_step: float = 1.0,
    *,
    c: float = 1e-4,
    tau: float = 0.5,
    max_halvings: int = 10,
    on_failure: OnFailure = "smallest",
) -> optax.GradientTransformationExtraArgs:
    """Armijo backtracking from ``initial_step`` at every step (the paper's GGN rule, App. B.3.1).

    Try ``eta_j = initial_step * tau^j`` for ``j = 0, 1, ..., max_halvings`` and take the first with

        L(theta - eta_j d) <= L(theta) - c eta_j <grad, d>     (and a finite loss).

    If none satisfies it (``accepted = False`` in the info):

    * ``on_failure="smallest"`` (default): take the last, smallest trial ``initial * tau^max``,
      which is what a plain "halve at most N times" loop does;
    * ``on_failure="skip"``: take no step (``eta = 0``).

    Needs the extra arguments ``value``, ``grad`` and ``value_fn``. Unlike
    ``optax.scale_by_backtracking_linesearch``, each step restarts from ``initial_step`` instead of
    from the previous step's size, as in the paper.
    """
    if not 0 < tau < 1:
        raise ValueError(f"tau must be in (0, 1), got {tau}")
    if on_failure not in ("smallest", "skip"):
        raise ValueError(f"on_failure must be 'smallest' or 'skip', got {on_failure!r}")

    def rule(updates, count, params, value, grad, value_fn):
        if params is None or value is None or grad is None or value_fn is None:
            raise ValueError(
                "armijo_backtracking needs params and value, grad, value_fn extra args"
            )
        dtype = jax.tree.leaves(updates)[0].dtype
        slope = optax.tree.vdot(grad, updates)
        initial = jnp.asarray(initial_step, dtype)

        def sufficient(step: Array) -> tuple[Array, Array]:
            trial = value_fn(_shifted(params, updates, step))
            ok = jnp.isfinite(trial) & (trial <= value - c * step * slope)
            return ok, trial

        def cond(carry):
            halvings, accepted, _, _ = carry
            return (~accepted) & (halvings < max_halvings)

        def body(carry):
            halvings, _, step, _ = carry
            step = step * tau
            ok, trial = sufficient(step)
            return halvings + 1, ok, step, trial

        ok0, trial0 = sufficient(initial)
        halvings, accepted, step, trial = jax.lax.while_loop(
            cond, body, (jnp.zeros((), jnp.int32), ok0, initial, trial0)
        )
        if on_failure == "skip":
            step = jnp.where(accepted, step, jnp.zeros((), dtype))
            trial = jnp.where(accepted, trial, value)
        info = SearchInfo(
            step_size=step,
            halvings=halvings,
            accepted=accepted,
            predicted_decrease=step * slope,
            actual_decrease=value - trial,
        )
        return step, info

    return _search(rule)
