"""Levenberg-Marquardt direction, solved in the residual space.

For residuals ``r(theta) in R^m`` with Jacobian ``J`` (``m x p``) the LM direction is

    d = (mu I_p + J^T J)^{-1} J^T r = J^T (mu I_m + J J^T)^{-1} r          (push-through, SMW eq. 6)

and the step is ``theta <- theta - eta d`` (chain with :func:`core.optim.search.fixed_step` or
a line search). The ``m x m`` system is solved by

* ``cholesky``: Cholesky of ``mu I + K`` (``K`` from :func:`core.curvature.build_gram`);
* ``eigh``: eigendecomposition of ``K`` (reusable across damping values, gives the spectrum);
* ``cg``: matrix-free conjugate gradient with ``u -> mu u + J (J^T u)`` (one jvp + one vjp per
  iteration), for models whose ``K`` is too costly to build.

Convention (docs/paper-notes.md#residual-convention): ``mu`` is compared with the eigenvalues of
``J J^T`` for the residual function *you pass*. :mod:`core.objectives` builds residuals scaled so
that ``0.5 ||r||^2`` is the training loss (``convention="loss"``, ``r = sqrt(2/m) (f - y)`` for
mean MSE) or unscaled (``convention="raw"``, ``r = f - y``); the spec records which one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Array

from core.curvature import (
    GramEigen,
    GramMethod,
    JacobianOperator,
    build_gram,
    conjugate_gradient,
    damped_solve_cholesky,
)
from core.curvature.cg import ToleranceKind
from core.optim.info import OptimizerInfo
from core.optim.schedules import as_schedule

LMSolver = Literal["cholesky", "eigh", "cg"]


class LevenbergMarquardtInfo(OptimizerInfo):
    """``damping`` used this step; CG ``iterations`` and final relative ``residual`` (0 for the
    direct solvers); ``residual_norm`` is ``||r||`` at the current parameters."""

    prefix = "lm"
    damping: Array
    cg_iterations: Array
    cg_residual: Array
    residual_norm: Array


class LevenbergMarquardtState(NamedTuple):
    step: Array
    info: LevenbergMarquardtInfo


def _empty_info(dtype: Any) -> LevenbergMarquardtInfo:
    zero = jnp.zeros((), dtype)
    return LevenbergMarquardtInfo(zero, jnp.zeros((), jnp.int32), zero, zero)


def scale_by_levenberg_marquardt(
    damping: float | optax.Schedule,
    *,
    solver: LMSolver = "cholesky",
    gram: GramMethod = "auto",
    gram_chunk_size: int | None = 256,
    cg_max_iterations: int = 30,
    cg_tol: float = 1e-6,
    cg_tol_kind: ToleranceKind = "relative",
) -> optax.GradientTransformationExtraArgs:
    """The LM direction ``J^T (mu I + J J^T)^{-1} r`` as an optax transformation.

    ``update(updates, state, params, *, residual_fn, gram_fn=None)``: ``residual_fn(params)``
    returns ``r`` (shape ``(m,)``); ``gram_fn(params)``, if given, returns ``J J^T`` by a structured
    formula. The incoming ``updates`` (the gradient) are not used. ``damping`` may be a schedule of
    the step count.
    """
    if solver not in ("cholesky", "eigh", "cg"):
        raise ValueError(f"solver must be 'cholesky', 'eigh' or 'cg', got {solver!r}")
    damping_at = as_schedule(damping)

    def init(params: Any) -> LevenbergMarquardtState:
        dtype = jax.tree.leaves(params)[0].dtype
        return LevenbergMarquardtState(jnp.zeros((), jnp.int32), _empty_info(dtype))

    def update(
        updates: Any,
        state: LevenbergMarquardtState,
        params: Any = None,
        *,
        residual_fn: Callable[[Any], Array] | None = None,
        gram_fn: Callable[[Any], Array] | None = None,
        **extra_args: Any,
    ) -> tuple[Any, LevenbergMarquardtState]:
        del updates, extra_args
        if params is None or residual_fn is None:
            raise ValueError("levenberg_marquardt needs params and the residual_fn extra argument")
        with jax.named_scope("lm_residual"):  # the scopes name the parts in a profile
            op = JacobianOperator(residual_fn, params)
        residual = op.residual
        mu = jnp.asarray(damping_at(state.step), residual.dtype)
        iterations = jnp.zeros((), jnp.int32)
        relative_residual = jnp.zeros((), residual.dtype)
        if solver == "cg":
            result = conjugate_gradient(
                lambda u: mu * u + op.gram_mv(u),
                residual,
                max_iterations=cg_max_iterations,
                tol=cg_tol,
                tol_kind=cg_tol_kind,
            )
            dual = result.solution
            iterations = result.iterations
            relative_residual = result.residual_norm / jnp.maximum(
                jnp.linalg.norm(residual), jnp.finfo(residual.dtype).tiny
            )
        else:
            with jax.named_scope("lm_gram"):
                kernel = build_gram(op, gram_fn=gram_fn, method=gram, chunk_size=gram_chunk_size)
            if solver == "cholesky":
                dual = damped_solve_cholesky(kernel, residual, mu)
            else:
                dual = GramEigen.of(kernel).damped_solve(residual, mu)
        with jax.named_scope("lm_direction"):
            direction = op.rmv(dual)
        info = LevenbergMarquardtInfo(
            damping=mu,
            cg_iterations=iterations,
            cg_residual=relative_residual,
            residual_norm=jnp.linalg.norm(residual),
        )
        return direction, LevenbergMarquardtState(state.step + 1, info)

    return optax.GradientTransformationExtraArgs(init, update)
