"""Preconditioned optimizers as optax transformations, plus searches, schedules and a switch.

Directions (``scale_by_*``) and step-length rules (:mod:`core.optim.search`) are separate and
compose with ``optax.chain``; the constructors below are the usual pairings.

Extra arguments (passed by :mod:`core.training` at every step, each transformation takes what it
needs): ``residual_fn``, ``gram_fn`` (LM, GN), ``logits_fn`` (GGN), ``value``, ``grad``,
``value_fn`` (searches).
"""

from __future__ import annotations

from typing import Any, Literal

import optax

from core.curvature.cg import ToleranceKind
from core.curvature.gram import GramMethod
from core.curvature.spectral import Cutoff
from core.optim.gauss_newton import GaussNewtonInfo, GNSolver, scale_by_gauss_newton
from core.optim.generalized_gauss_newton import (
    GeneralizedGaussNewtonInfo,
    ggn_matvec,
    scale_by_generalized_gauss_newton,
    softmax_hessian_product,
)
from core.optim.info import OptimizerInfo, collect_info
from core.optim.levenberg_marquardt import (
    LevenbergMarquardtInfo,
    LMSolver,
    scale_by_levenberg_marquardt,
)
from core.optim.schedules import as_schedule, log_linear
from core.optim.search import OnFailure, SearchInfo, armijo_backtracking, fixed_step
from core.optim.switch import SwitchInfo, switch_at


def levenberg_marquardt(
    learning_rate: float | optax.Schedule,
    damping: float | optax.Schedule,
    *,
    solver: LMSolver = "cholesky",
    gram: GramMethod = "auto",
    cg_max_iterations: int = 30,
    cg_tol: float = 1e-6,
    cg_tol_kind: ToleranceKind = "relative",
    track_decrease: bool = True,
) -> optax.GradientTransformationExtraArgs:
    """``theta <- theta - eta J^T (mu I + J J^T)^{-1} r`` with a fixed (or scheduled) step."""
    return optax.chain(
        scale_by_levenberg_marquardt(
            damping,
            solver=solver,
            gram=gram,
            cg_max_iterations=cg_max_iterations,
            cg_tol=cg_tol,
            cg_tol_kind=cg_tol_kind,
        ),
        fixed_step(learning_rate, track_decrease=track_decrease),
    )


def gauss_newton(
    learning_rate: float | optax.Schedule,
    eps: float,
    *,
    cutoff: Cutoff = "absolute",
    solver: GNSolver = "eigh",
    gram: GramMethod = "auto",
    track_decrease: bool = True,
) -> optax.GradientTransformationExtraArgs:
    """``theta <- theta - eta (J^T J)^+_eps J^T r`` with a fixed (or scheduled) step."""
    return optax.chain(
        scale_by_gauss_newton(eps, cutoff=cutoff, solver=solver, gram=gram),
        fixed_step(learning_rate, track_decrease=track_decrease),
    )


def generalized_gauss_newton(
    learning_rate: float | optax.Schedule,
    damping: float | optax.Schedule,
    *,
    search: Literal["fixed", "armijo"] = "armijo",
    weight_decay: Any = None,
    cg_max_iterations: int = 150,
    cg_tol: float = 1e-6,
    cg_tol_kind: ToleranceKind = "relative",
    armijo_c: float = 1e-4,
    armijo_tau: float = 0.5,
    max_halvings: int = 10,
    on_failure: OnFailure = "smallest",
) -> optax.GradientTransformationExtraArgs:
    """GGN direction ``h = (mu I + J^T H J)^{-1} g`` by CG, then ``theta <- theta - eta h`` with
    ``eta`` from Armijo backtracking starting at ``learning_rate`` (App. B, ``search="armijo"``)
    or ``eta = learning_rate`` (``"fixed"``), then, when ``weight_decay`` is given, the decoupled
    decay ``theta <- theta - learning_rate * weight_decay * theta`` (AdamW's form)."""
    step = (
        fixed_step(learning_rate)
        if search == "fixed"
        else armijo_backtracking(
            learning_rate,
            c=armijo_c,
            tau=armijo_tau,
            max_halvings=max_halvings,
            on_failure=on_failure,
        )
    )
    parts = [
        scale_by_generalized_gauss_newton(
            damping, cg_max_iterations=cg_max_iterations, cg_tol=cg_tol, cg_tol_kind=cg_tol_kind
        ),
        step,
    ]
    if weight_decay is not None:
        parts.append(optax.add_decayed_weights(-learning_rate * weight_decay))
    return optax.chain(*parts)


__all__ = [
    "GaussNewtonInfo",
    "GeneralizedGaussNewtonInfo",
    "LevenbergMarquardtInfo",
    "OptimizerInfo",
    "SearchInfo",
    "SwitchInfo",
    "armijo_backtracking",
    "as_schedule",
    "collect_info",
    "fixed_step",
    "gauss_newton",
    "generalized_gauss_newton",
    "ggn_matvec",
    "levenberg_marquardt",
    "log_linear",
    "scale_by_gauss_newton",
    "scale_by_generalized_gauss_newton",
    "scale_by_levenberg_marquardt",
    "softmax_hessian_product",
    "switch_at",
]
