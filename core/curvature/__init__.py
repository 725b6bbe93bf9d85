"""Curvature in the residual space: the Jacobian operator, Gram / NTK builders, spectral solves,
CG, and the lemma maps. Never a ``p x p`` array."""

from core.curvature.cg import CGResult, conjugate_gradient
from core.curvature.gram import (
    GramMethod,
    build_gram,
    gram_from_jacobian,
    gram_matrix_free,
    has_structured_gram,
    per_sample_gram,
    structured_gram,
)
from core.curvature.jacobian import JacobianOperator, materialized_jacobian, per_leaf_jacobian
from core.curvature.spectral import (
    CholeskyFactor,
    GramEigen,
    condition_number,
    cutoff_threshold,
    damped_solve_cholesky,
    gd_mode_rate,
    gn_mode_rate,
    lm_condition_number,
    lm_mode_rate,
)

__all__ = [
    "GramMethod",
    "build_gram",
    "CGResult",
    "CholeskyFactor",
    "GramEigen",
    "JacobianOperator",
    "condition_number",
    "conjugate_gradient",
    "cutoff_threshold",
    "damped_solve_cholesky",
    "gd_mode_rate",
    "gn_mode_rate",
    "gram_from_jacobian",
    "gram_matrix_free",
    "has_structured_gram",
    "lm_condition_number",
    "lm_mode_rate",
    "materialized_jacobian",
    "per_leaf_jacobian",
    "per_sample_gram",
    "structured_gram",
]
