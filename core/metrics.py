"""Metrics: mode errors in Fourier space, accuracy, losses, norms, NTK spectrum.

All functions take arrays (or pytrees of parameters) and return arrays; none loops over steps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Int


def fft_mode_error(
    target: Float[Array, " n"], prediction: Float[Array, " n"], modes: Any = None
) -> Float[Array, " k"]:
    """``e_k = |FFT_k(u - f)| / n`` on a 1-D grid (paper section 4.1); ``modes`` selects bins."""
    error = jnp.abs(jnp.fft.fft(target - prediction)) / target.shape[0]
    return error if modes is None else error[jnp.asarray(modes)]


def fft_mode_error_2d(
    target: Float[Array, "a b"], prediction: Float[Array, "a b"]
) -> Float[Array, "a b"]:
    """``|FFT2(u - f)| / (a b)`` on a 2-D grid; select modes with :func:`lowest_modes_2d`."""
    return jnp.abs(jnp.fft.fft2(target - prediction)) / target.size


def signed_frequencies(n: int) -> Int[Array, " n"]:
    """The DFT bin frequencies of ``n`` samples in ``fftfreq`` order as integers: ``0, 1, ...,
    ceil(n/2) - 1, -floor(n/2), ..., -1``."""
    k = jnp.arange(n)
    return jnp.where(k < (n + 1) // 2, k, k - n)


def lowest_modes_2d(
    shape: tuple[int, int], count: int, *, half_plane: bool = False
) -> tuple[Array, ...]:
    """Index arrays of the ``count`` 2-D DFT bins of smallest ``|k|_2`` (ties: smaller ``kx``).

    Frequencies are signed (``fftfreq``), so ``(0, 1)`` and ``(0, -1)`` are distinct bins. The DFT
    of a real field has ``|F(-k)| = |F(k)|``; ``half_plane=True`` keeps one bin of each such pair
    (``kx > 0``, or ``kx = 0`` and ``ky >= 0``).
    """
    # Integer frequencies (fftfreq's order: 0, 1, ..., then the negative ones), so that equal
    # radii are exactly equal; ``fftfreq(n) * n`` in float32 is off by an ulp on some grids
    # (20 x 21, 34 x 34), which broke ties and made ``int()`` of a label truncate 3 to 2.
    kx, ky = (signed_frequencies(n) for n in shape)
    grid_x, grid_y = jnp.meshgrid(kx, ky, indexing="ij")
    radius = (grid_x**2 + grid_y**2).ravel()
    if half_plane:
        keep = ((grid_x > 0) | ((grid_x == 0) & (grid_y >= 0))).ravel()
        radius = jnp.where(keep, radius, jnp.inf)
    # Lexicographic (radius, kx, ky) order; jnp.lexsort sorts by the last key first.
    order = jnp.lexsort((grid_y.ravel(), grid_x.ravel(), radius))[:count]
    return jnp.unravel_index(order, shape)


def ray_fft_error(
    residual_fn: Callable[[Array], Array],
    direction: Float[Array, " d"],
    *,
    num_points: int = 100,
    modes: Any = None,
) -> Float[Array, " k"]:
    """``|FFT_k(rho(c_j x))| / M`` along the ray ``{c x}``, ``c_j = j / (M - 1)`` (Fig. 6 right).

    ``residual_fn`` maps a batch of inputs ``(M, d)`` to residuals ``(M,)`` (e.g. centred model
    minus target). ``modes=None`` returns all bins; the paper's "largest frequency" is the Nyquist
    bin ``M // 2``.
    """
    coefficients = jnp.linspace(0.0, 1.0, num_points, dtype=direction.dtype)
    residual = residual_fn(coefficients[:, None] * direction[None, :])
    error = jnp.abs(jnp.fft.fft(residual)) / num_points
    return error if modes is None else error[jnp.asarray(modes)]


def mean_squared_error(prediction: Array, target: Array) -> Array:
    return jnp.mean((prediction - target) ** 2)


def accuracy(outputs: Float[Array, "n ... c"], labels: Array) -> Array:
    """Fraction of samples whose argmax equals the label (integer labels, or one-hot rows).

    Outputs ``(n, L, c)`` with labels ``(n, L)`` (a sequence with ``L`` predicted tokens) count a
    sample as right only if all ``L`` predictions are (Power et al.'s per-equation accuracy).
    """
    if labels.ndim == outputs.ndim:
        labels = jnp.argmax(labels, axis=-1)
    correct = jnp.argmax(outputs, axis=-1) == labels
    return jnp.mean(jnp.all(correct.reshape(correct.shape[0], -1), axis=1))


def weight_norm(params: Any) -> Array:
    """``sqrt(sum ||p||^2)`` over every array in the pytree (Omnigrok's total weight norm)."""
    leaves = [leaf for leaf in jax.tree.leaves(params) if hasattr(leaf, "dtype")]
    return jnp.sqrt(sum(jnp.sum(leaf**2) for leaf in leaves))


def relative_distance(current: Any, reference: Any) -> Array:
    """``||a - b|| / ||b||`` over pytrees: how far training moved
    (``||theta - theta_0|| / ||theta_0||``)
    or how much the kernel changed (``||K_t - K_0||_F / ||K_0||_F``)."""
    difference = jax.tree.map(lambda a, b: a - b, current, reference)
    return weight_norm(difference) / weight_norm(reference)


def ntk_spectrum(gram: Float[Array, "m m"]) -> Float[Array, " m"]:
    """Eigenvalues of the (symmetric PSD) Gram / empirical NTK, descending."""
    return jnp.linalg.eigvalsh(gram)[::-1]
