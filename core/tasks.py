"""Data generated from formulas, for the experiments of docs/paper-notes.md: the 1-D and 2-D
regressions (``#regression-1d``, ``#regression-2d``), modular addition (``#modular-mlp``,
``#transformer``), the polynomial teacher (``#polynomial``) and random Jacobians (``#lemmas``).

Each task returns plain arrays. The regressions are deterministic (uniform grids, no seed); the
grokking tasks draw their split or their Gaussian inputs from an explicit key.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float


class RegressionData(NamedTuple):
    inputs: Float[Array, "n d"]
    targets: Float[Array, "n 1"]
    grid_shape: tuple[int, ...]  # shape of the grid the rows enumerate (C order), for FFTs


def regression_1d_target(x: Array) -> Array:
    """``u(x) = (1/3) sum_{k=1..3} k sin((2k+1) pi x - k)`` (paper section 4.1)."""
    return jnp.asarray(sum(k * jnp.sin((2 * k + 1) * jnp.pi * x - k) for k in (1, 2, 3)) / 3.0)


def regression_1d(num_points: int = 100, dtype=None) -> RegressionData:
    """``num_points`` samples of :func:`regression_1d_target` on ``linspace(0, 1)``."""
    x = jnp.linspace(0.0, 1.0, num_points, dtype=dtype)
    return RegressionData(x[:, None], regression_1d_target(x)[:, None], (num_points,))


def regression_2d_target(x: Array, y: Array) -> Array:
    """The discontinuous target of paper eq. (7) on ``[0, 1]^2``; the first matching rule wins."""
    return jnp.select(
        [x + y < 0.5, x + y > 1.5, (x < 0.5) & (y >= 0.5)],
        [1.0, 2.0, 0.75],
        default=0.0,
    ).astype(x.dtype)


def regression_2d(points_per_side: int = 40, dtype=None) -> RegressionData:
    """A ``points_per_side^2`` uniform grid (40 x 40: the paper's 1 600 points), C-order rows."""
    axis = jnp.linspace(0.0, 1.0, points_per_side, dtype=dtype)
    gx, gy = jnp.meshgrid(axis, axis, indexing="ij")
    inputs = jnp.stack([gx.ravel(), gy.ravel()], axis=1)
    targets = regression_2d_target(gx, gy).ravel()[:, None]
    return RegressionData(inputs, targets, (points_per_side, points_per_side))


class LinearProblem(NamedTuple):
    jacobian: Float[Array, "m p"]
    targets: Float[Array, " m"]
    singular_values: Float[Array, " k"]


def random_jacobian(
    key: Array,
    residuals: int,
    parameters: int,
    singular_max: float,
    singular_min: float,
    dtype=None,
) -> LinearProblem:
    """``J = U diag(s) V^T`` with orthonormal ``U`` (``m x k``), ``V`` (``p x k``),
    ``k = min(m, p)`` and ``s`` log-spaced from ``singular_max`` to ``singular_min``; targets
    ``y ~ N(0, I)`` (docs/paper-notes.md#lemmas)."""
    k_u, k_v, k_y = jax.random.split(key, 3)
    k = min(residuals, parameters)
    u, _ = jnp.linalg.qr(jax.random.normal(k_u, (residuals, k), dtype))
    v, _ = jnp.linalg.qr(jax.random.normal(k_v, (parameters, k), dtype))
    singular = jnp.logspace(jnp.log10(singular_max), jnp.log10(singular_min), k, dtype=dtype)
    jacobian = (u * singular) @ v.T
    return LinearProblem(jacobian, jax.random.normal(k_y, (residuals,), dtype), singular)


class SplitData(NamedTuple):
    """A supervised task with a held-out set (rows are samples)."""

    train_inputs: Float[Array, "n d"]
    train_targets: Float[Array, "n k"]
    test_inputs: Float[Array, "t d"]
    test_targets: Float[Array, "t k"]


def modular_addition(
    modulus: int, train_fraction: float, split_key: Array, dtype=None
) -> SplitData:
    """All ``p^2`` pairs ``(a, b)`` with input ``[onehot(a), onehot(b)]`` (``2p``) and target
    ``onehot((a + b) mod p)`` (``p``) (Kumar et al.'s modular-addition task,
    docs/paper-notes.md#modular-mlp).

    The pairs are permuted with ``split_key`` and the first ``int(train_fraction * p^2)`` train
    (Kumar: ``torch.manual_seed(1); randperm``, whose order JAX cannot reproduce; the split is
    seeded and fixed, not the same pairs).
    """
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
    p = modulus
    a, b = jnp.divmod(jnp.arange(p * p), p)
    eye = jnp.eye(p, dtype=dtype)
    inputs = jnp.concatenate([eye[a], eye[b]], axis=1)
    targets = eye[(a + b) % p]
    order = jax.random.permutation(split_key, p * p)
    n_train = int(train_fraction * p * p)
    if not 0 < n_train < p * p:
        raise ValueError(f"train_fraction={train_fraction} leaves an empty train or test set")
    train, test = order[:n_train], order[n_train:]
    return SplitData(inputs[train], targets[train], inputs[test], targets[test])


def polynomial_target(x: Array, beta: Array) -> Array:
    """``y(x) = (beta . x / sqrt(D))^2`` for rows ``x`` (Kumar et al. section 5); ``(n, 1)``."""
    return ((x @ beta) / jnp.sqrt(x.shape[-1]))[:, None] ** 2


def polynomial_teacher(
    key: Array, dimension: int, train_size: int, test_size: int, dtype=None
) -> tuple[SplitData, Array]:
    """``x ~ N(0, I_D)`` for train and test, ``beta ~ N(0, I_D)``, targets from
    :func:`polynomial_target` (docs/paper-notes.md#polynomial). Returns the data and ``beta``."""
    k_train, k_test, k_beta = jax.random.split(key, 3)
    x = jax.random.normal(k_train, (train_size, dimension), dtype)
    x_test = jax.random.normal(k_test, (test_size, dimension), dtype)
    beta = jax.random.normal(k_beta, (dimension,), dtype)
    data = SplitData(x, polynomial_target(x, beta), x_test, polynomial_target(x_test, beta))
    return data, beta


class SequenceTask(NamedTuple):
    """Token sequences with a held-out set: inputs ``(n, T)`` ids, targets ``(n, L)`` ids of the
    tokens to predict at the ``readout`` positions of the input."""

    data: SplitData
    readout: tuple[int, ...]
    vocab_size: int
    sequence_length: int


LossPositions = Literal["rhs", "equals"]


def modular_addition_sequences(
    modulus: int,
    train_fraction: float,
    split_key: Array,
    loss_positions: LossPositions = "rhs",
) -> SequenceTask:
    """Every equation ``a + b = c (mod p)`` as Power et al.'s 7 tokens
    ``<eos> a + b = c <eos>`` (docs/paper-notes.md#transformer).

    Vocabulary: the numbers ``0 .. p-1`` are their own ids, then ``<eos> = p``, ``+ = p+1``,
    ``= = p+2`` (``p + 3`` tokens; grok's shared 239-token vocabulary only adds unused rows).
    The input is the first 6 tokens, and position ``i`` predicts token ``i + 1``; the loss reads

    * ``"rhs"`` (grok): positions 4 ("=") and 5 ("c"), predicting ``c`` and the final ``<eos>``;
    * ``"equals"``: position 4 only, predicting ``c``.

    The ``p^2`` equations are permuted with ``split_key`` and the first
    ``round(train_fraction p^2)`` train (grok: ``RandomState(0)``, an order JAX cannot reproduce).
    """
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}")
    if loss_positions not in ("rhs", "equals"):
        raise ValueError(f"loss_positions must be 'rhs' or 'equals', got {loss_positions!r}")
    p = modulus
    eos, plus, equals = p, p + 1, p + 2
    a, b = jnp.divmod(jnp.arange(p * p, dtype=jnp.int32), p)
    column = lambda value: jnp.full_like(a, value)  # noqa: E731
    tokens = jnp.stack(
        [column(eos), a, column(plus), b, column(equals), (a + b) % p, column(eos)], axis=1
    )
    inputs, next_tokens = tokens[:, :-1], tokens[:, 1:]
    readout = (4, 5) if loss_positions == "rhs" else (4,)
    targets = next_tokens[:, jnp.asarray(readout)]
    order = jax.random.permutation(split_key, p * p)
    n_train = int(round(train_fraction * p * p))
    if not 0 < n_train < p * p:
        raise ValueError(f"train_fraction={train_fraction} leaves an empty train or test set")
    train, test = order[:n_train], order[n_train:]
    data = SplitData(inputs[train], targets[train], inputs[test], targets[test])
    return SequenceTask(data, readout, p + 3, inputs.shape[1])
