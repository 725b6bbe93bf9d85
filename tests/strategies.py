"""Hypothesis strategies shared by the tests (one place for the whole suite)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from hypothesis import strategies as st


class RandomJacobian(NamedTuple):
    """``J = U diag(s) V^T`` with known singular values and a residual ``r``."""

    jacobian: np.ndarray  # (n, p)
    singular_values: np.ndarray  # (min(n, p),) descending
    residual: np.ndarray  # (n,)

    @property
    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of ``K = J J^T`` (ascending); zeros for the n - p null modes when n > p."""
        n, p = self.jacobian.shape
        values = np.concatenate([self.singular_values**2, np.zeros(max(n - p, 0))])
        return np.sort(values)


def _orthonormal(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    q, _ = np.linalg.qr(rng.standard_normal((rows, cols)))
    return q


#: (n, p) pairs: wide (n < p, the over-parametrised case), square and tall (n > p, where K has
#: null modes). A fixed set, so that jitted code compiles once per shape instead of per example.
JACOBIAN_SHAPES = [(2, 3), (5, 17), (12, 40), (24, 60), (9, 9), (16, 6), (30, 11)]


@st.composite
def random_jacobians(draw, *, max_log_condition: float = 8.0) -> RandomJacobian:
    """Random ``n x p`` Jacobians in both shapes (``n < p`` and ``n > p``) and a drawn spectrum.

    Singular values are log-spaced from ``10^top`` down over ``log_condition`` decades
    (``log_condition`` up to ``max_log_condition``: well and badly conditioned).
    """
    n, p = draw(st.sampled_from(JACOBIAN_SHAPES), label="(n, p)")
    k = min(n, p)
    top = draw(st.floats(-1.0, 2.0), label="log10 largest singular value")
    log_condition = draw(st.floats(0.0, max_log_condition), label="decades of singular values")
    seed = draw(st.integers(0, 2**32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    singular = 10.0 ** np.linspace(top, top - log_condition / 2, k)
    u = _orthonormal(rng, n, k)
    v = _orthonormal(rng, p, k)
    jacobian = (u * singular) @ v.T
    return RandomJacobian(jacobian, singular, rng.standard_normal(n))


#: LM damping, log-uniform on [1e-3, 10].
dampings = st.floats(-3.0, 1.0).map(lambda exponent: float(10.0**exponent))


@st.composite
def cutoffs_in_gaps(draw, eigenvalues: np.ndarray) -> float:
    """A GN cut-off at the geometric mean of two neighbouring eigenvalues at least 4x apart.

    Cut-offs next to an eigenvalue would make "kept or dropped" a matter of round-off. When no
    gap qualifies, the cut-off sits below the smallest positive eigenvalue (keep every mode).
    """
    positive = np.sort(eigenvalues[eigenvalues > 0])
    gaps = [i for i in range(len(positive) - 1) if positive[i + 1] > 4 * positive[i]]
    if not gaps:
        return float(positive[0] / 4)
    i = draw(st.sampled_from(gaps), label="gap index")
    return float(np.sqrt(positive[i] * positive[i + 1]))
