"""Solves in the residual space and the spectral maps of the paper's lemmas.

With ``K = J J^T = U diag(lambda) U^T`` (``m x m``), the push-through identity gives

* LM (Lemma 3.2, SMW eq. 6): ``(mu I_p + J^T J)^{-1} J^T r = J^T (mu I_m + K)^{-1} r``;
* GN (Lemma 3.3): ``(J^T J)^+_eps J^T r = J^T U diag(1[lambda > eps] / lambda) U^T r``.

One eigendecomposition (:class:`GramEigen`) serves the GN pseudo-inverse, LM at any damping (each
re-solve is two ``m x m`` matvecs), the NTK spectrum and the error projected on eigenmodes. A
Cholesky solve (:func:`damped_solve_cholesky`, :class:`CholeskyFactor`) is cheaper for a single
LM damping.

In the linearised regime the error in eigenmode ``i`` contracts per step by ``1 - eta * rate_i``
with the mode rates below (docs/paper-notes.md#optimizer-updates).
"""

from __future__ import annotations

from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from jax import lax
from jaxtyping import Array, Float

Cutoff = Literal["absolute", "relative"]


class CholeskyFactor(eqx.Module):
    """``A = L L^T`` for a symmetric positive definite ``A``, kept as LAPACK leaves it, for solves.

    Why not ``jax.scipy.linalg.cho_factor`` / ``cho_solve`` (README, "Performance"): XLA stores
    arrays row-major and LAPACK reads them column-major, so XLA:CPU puts a transposing copy of
    the whole ``m x m`` matrix in front of LAPACK's ``potrf`` (and, in a jitted solve on its
    own, in front of each ``trsm``: about 3 ms each at m = 2 000 in float32, where the solve
    itself takes 0.8 ms), and ``cho_factor`` adds a pass that zeroes the upper triangle. Here:

    * ``potrf`` gets ``A^T``, which for a symmetric ``A`` is ``A`` and which, row-major, is
      ``A``'s buffer read column-major: XLA passes the buffer as it is (no copy). LAPACK reads
      one triangle: the upper one of ``matrix`` (``cho_factor(lower=True)`` read the lower one;
      the same numbers when ``matrix`` is symmetric to the last bit, as the structured Gram
      of a multi-output MLP is);
    * the factor stays in LAPACK's layout (``packed``: ``L`` in the lower triangle, whatever
      the input held in the strict upper one), which is what ``trsm`` reads: no copy and no
      masking pass; :attr:`lower` gives the clean triangle;
    * the two solves are ``cho_solve``'s (``L y = b``, ``L^T x = y``), so given the same
      factor the solution is the same to the last bit.

    A matrix that is not positive definite gives NaN (``jax.lax.linalg``).
    """

    packed: Float[Array, "m m"]

    @classmethod
    def of(cls, matrix: Float[Array, "m m"]) -> CholeskyFactor:
        with jax.named_scope("cholesky_factor"):
            return cls(lax.linalg.cholesky_p.bind(matrix.T))

    @property
    def lower(self) -> Float[Array, "m m"]:
        """``L`` (zeros above the diagonal)."""
        return jnp.tril(self.packed)

    def solve(self, rhs: Float[Array, " m"] | Float[Array, "m k"]) -> Array:
        """``A^{-1} rhs`` for a vector ``(m,)`` or the columns of an ``(m, k)`` matrix."""
        with jax.named_scope("cholesky_solve"):
            columns = rhs[:, None] if rhs.ndim == 1 else rhs
            forward = lax.linalg.triangular_solve(self.packed, columns, left_side=True, lower=True)
            solution = lax.linalg.triangular_solve(
                self.packed, forward, left_side=True, lower=True, transpose_a=True
            )
            return solution[:, 0] if rhs.ndim == 1 else solution


def damped_solve_cholesky(
    gram: Float[Array, "m m"], rhs: Float[Array, " m"], damping: float | Array
) -> Float[Array, " m"]:
    """``(damping I + K)^{-1} rhs`` by Cholesky (``K`` symmetric PSD, ``damping > 0``)."""
    shifted = gram + damping * jnp.eye(gram.shape[0], dtype=gram.dtype)
    return CholeskyFactor.of(shifted).solve(rhs)


def cutoff_threshold(eigenvalues: Float[Array, " m"], eps: float | Array, cutoff: Cutoff) -> Array:
    """The eigenvalue below which the GN pseudo-inverse discards a mode.

    ``absolute``: ``eps`` itself; ``relative``: ``eps * lambda_max``. Eigenvalues are those of
    ``K = J J^T`` (equivalently the non-zero ones of the GN matrix ``J^T J``), not singular values.
    """
    if cutoff == "absolute":
        return jnp.asarray(eps, eigenvalues.dtype)
    if cutoff == "relative":
        return eps * jnp.max(eigenvalues)
    raise ValueError(f"cutoff must be 'absolute' or 'relative', got {cutoff!r}")


class GramEigen(eqx.Module):
    """Eigendecomposition ``K = U diag(eigenvalues) U^T`` (ascending), reused across solves."""

    eigenvalues: Float[Array, " m"]
    eigenvectors: Float[Array, "m m"]

    @classmethod
    def of(cls, gram: Float[Array, "m m"]) -> GramEigen:
        eigenvalues, eigenvectors = jnp.linalg.eigh(gram)
        # Round-off can leave tiny negative eigenvalues of a PSD matrix.
        return cls(jnp.maximum(eigenvalues, 0.0), eigenvectors)

    def project(self, vector: Float[Array, " m"]) -> Float[Array, " m"]:
        """Coordinates ``U^T v`` of a residual-space vector in the eigenbasis (mode errors)."""
        return self.eigenvectors.T @ vector

    def apply_spectral(self, vector: Float[Array, " m"], weights: Float[Array, " m"]) -> Array:
        """``U diag(weights) U^T v``."""
        return self.eigenvectors @ (weights * self.project(vector))

    def damped_solve(self, rhs: Float[Array, " m"], damping: float | Array) -> Array:
        """``(damping I + K)^{-1} rhs``; cheap for every new damping once decomposed."""
        return self.apply_spectral(rhs, 1.0 / (damping + self.eigenvalues))

    def pseudo_inverse_solve(
        self, rhs: Float[Array, " m"], eps: float | Array, cutoff: Cutoff = "absolute"
    ) -> Array:
        """``K^+_eps rhs``: modes with ``lambda <= threshold`` are dropped (Lemma 3.3)."""
        keep = self.eigenvalues > cutoff_threshold(self.eigenvalues, eps, cutoff)
        safe = jnp.where(keep, self.eigenvalues, 1.0)
        return self.apply_spectral(rhs, jnp.where(keep, 1.0 / safe, 0.0))

    def kept_modes(self, eps: float | Array, cutoff: Cutoff = "absolute") -> Array:
        """Number of modes the GN pseudo-inverse keeps."""
        return jnp.sum(self.eigenvalues > cutoff_threshold(self.eigenvalues, eps, cutoff))


# --- Lemma maps: per-mode rates of the linearised dynamics -------------------------------------


def gd_mode_rate(eigenvalues: Array) -> Array:
    """Gradient flow (Lemma 3.1): mode ``i`` decays at rate ``lambda_i``."""
    return eigenvalues


def lm_mode_rate(eigenvalues: Array, damping: float | Array) -> Array:
    """Levenberg-Marquardt (Lemma 3.2): rate ``lambda_i / (mu + lambda_i)``."""
    return eigenvalues / (damping + eigenvalues)


def gn_mode_rate(eigenvalues: Array, eps: float | Array, cutoff: Cutoff = "absolute") -> Array:
    """Gauss-Newton (Lemma 3.3): rate ``1[lambda_i > eps]``."""
    threshold = cutoff_threshold(eigenvalues, eps, cutoff)
    return (eigenvalues > threshold).astype(eigenvalues.dtype)


def condition_number(eigenvalues: Array) -> Array:
    """``kappa_GD = lambda_max / lambda_min`` (the paper's ``lambda_N / lambda_1``)."""
    return jnp.max(eigenvalues) / jnp.min(eigenvalues)


def lm_condition_number(eigenvalues: Array, damping: float | Array) -> Array:
    """``kappa_LM = (lambda_max / lambda_min) (lambda_min + mu) / (lambda_max + mu)``.

    Equal to max/min of :func:`lm_mode_rate`; with ``mu = lambda_min`` it is
    ``2 lambda_max / (lambda_max + lambda_min)`` in ``(1, 2]``.
    """
    lam_max, lam_min = jnp.max(eigenvalues), jnp.min(eigenvalues)
    return (lam_max / lam_min) * (lam_min + damping) / (lam_max + damping)
