"""The Gram matrix / empirical NTK ``K = J J^T`` (``m x m``, residual space), three ways.

No path forms a ``p x p`` array, and only :func:`gram_from_jacobian` holds ``J`` (split by leaf).

* :func:`gram_from_jacobian`: ``K = sum_leaf J_leaf J_leaf^T``; ``m`` reverse passes. Small models.
* :func:`gram_matrix_free`: column blocks ``K[:, c] = J (J^T E_c)``; a reverse and a forward pass
  per column, chunked so that at most ``chunk_size x p`` numbers live at once. Any model.
* :func:`structured_gram`: dense layers only (docs/paper-notes.md#structured-gram). For layer
  ``l`` with input ``a_l(x)``, backprop vector ``g_{l,k}(x) = d f_k(x)/d z_l`` and gains ``g_w``,
  ``g_b``:

      K[(x,k),(x',k')] = sum_l (g_{l,k}(x) . g_{l,k'}(x')) (g_w^2 a_l(x) . a_l(x') + g_b^2)

  i.e. ``K = sum_l (G_l G_l^T) * (g_w^2 A_l A_l^T + g_b^2)`` (elementwise product, ``A_l A_l^T``
  repeated over output pairs; ``G_l`` with rows ``(x, k)``, so that each ``G_l G_l^T`` comes
  out of one matrix product in the order of ``K``). Cost ``O(m^2 sum_l width_l)`` plus
  ``d_out`` reverse passes: about 100x cheaper than ``J J^T`` with ``J`` formed, for the MNIST
  MLP.

Rows are ordered sample-major, ``(x, k) -> x * d_out + k``, matching ``(f(X) - Y).reshape(-1)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from core.curvature.jacobian import JacobianOperator, per_leaf_jacobian


def _sum_of_leaf_grams(rows: Any) -> Float[Array, "m m"]:
    """``sum_leaf J_leaf J_leaf^T`` for a pytree whose leaves are ``(m, ...)`` Jacobian rows."""
    leaves = jax.tree.leaves(rows)
    if not leaves:
        raise ValueError("params has no arrays")
    m = leaves[0].shape[0]
    flats = [leaf.reshape(m, -1) for leaf in leaves]
    return sum((flat @ flat.T for flat in flats[1:]), flats[0] @ flats[0].T)


def gram_from_jacobian(op: JacobianOperator) -> Float[Array, "m m"]:
    """``K = sum_leaf J_leaf J_leaf^T`` with ``J`` built leaf by leaf (never concatenated)."""
    return _sum_of_leaf_grams(per_leaf_jacobian(op))


def gram_matrix_free(op: JacobianOperator, chunk_size: int | None = 256) -> Float[Array, "m m"]:
    """``K`` column by column as ``J (J^T e_i)``, ``chunk_size`` columns at a time.

    ``chunk_size=None`` does all columns in one vmap (fastest, most memory).
    """
    m = op.num_residuals
    basis = jnp.eye(m, dtype=op.residual.dtype)
    if chunk_size is None or chunk_size >= m:
        columns = jax.vmap(op.gram_mv)(basis)
    else:
        columns = jax.lax.map(op.gram_mv, basis, batch_size=chunk_size)
    # Row i of `columns` is K e_i; K is symmetric, symmetrise away round-off.
    return 0.5 * (columns + columns.T)


def structured_gram(model: Any, xs: Float[Array, "n d_in"]) -> Float[Array, "m m"]:
    """``K`` of ``vmap(model)(xs).reshape(-1)`` for models with ``dense_layer_factors``.

    ``model`` is an :class:`core.models.MLP` or a wrapper (e.g. :class:`core.models.CenteredModel`)
    that provides ``dense_layer_factors(xs) -> (outputs, factors)``.
    """
    _, factors = model.dense_layer_factors(xs)
    n = xs.shape[0]
    gram = None
    for factor in factors:
        grads = factor.output_grads  # (k, n, w)
        d_out = grads.shape[0]
        if d_out == 1:  # (k, x, l, y) is already the order of K
            output_products = jnp.einsum("kxw,lyw->xkyl", grads, grads)
        else:
            # Rows in the sample-major order (x, k) before the product, so that G G^T comes out
            # in the order of K and the sum below streams through it: contracting (k, x, w)
            # directly made XLA transpose the m x m product on the way (2-9 ms at m = 2 000,
            # a tenth of an LM step). One output keeps the old contraction: the same program,
            # so Gauss-Newton, whose cut-off turns a last-bit change of K into a different
            # step, keeps every bit of its results.
            rows = jnp.swapaxes(grads, 0, 1)  # (n, k, w)
            output_products = jnp.einsum("xkw,ylw->xkyl", rows, rows)
        input_products = factor.weight_gain**2 * (factor.inputs @ factor.inputs.T)
        if factor.bias_gain is not None:
            input_products = input_products + factor.bias_gain**2
        layer = output_products * input_products[:, None, :, None]
        gram = layer if gram is None else gram + layer
    if gram is None:
        raise ValueError("model has no layers")
    m = n * d_out
    return gram.reshape(m, m)


def per_sample_gram(
    residual_of_sample: Callable[[Any, Any], Array], params: Any, samples: Any
) -> Float[Array, "m m"]:
    """``K = J J^T`` when residual ``i`` depends on sample ``i`` only (PINN residuals, one output).

    Row ``i`` of ``J`` is ``grad_theta residual_of_sample(theta, sample_i)``: one per-sample
    gradient each (vmapped), instead of a reverse pass through the whole batch per row as the
    generic :func:`gram_from_jacobian` does. On the PINN (m = 200, p = 1 025) that took 8 ms
    against 8.2 s (1.1 s matrix-free). Memory ``m x p``, split by leaf.
    """
    rows = jax.vmap(jax.grad(residual_of_sample), in_axes=(None, 0))(params, samples)
    return _sum_of_leaf_grams(rows)


def has_structured_gram(model: Any) -> bool:
    """Whether :func:`structured_gram` applies to ``model``."""
    return callable(getattr(model, "dense_layer_factors", None))


GramMethod = Literal["auto", "structured", "jacobian", "matrix_free"]

#: ``auto`` builds ``J`` leaf by leaf only while ``m * p`` stays below this many numbers (~200 MB
#: in float32); above it, the matrix-free column form.
JACOBIAN_ENTRY_LIMIT = 50_000_000


def build_gram(
    op: JacobianOperator,
    *,
    gram_fn: Callable[[Any], Array] | None = None,
    method: GramMethod = "auto",
    chunk_size: int | None = 256,
) -> Float[Array, "m m"]:
    """``K = J J^T`` at ``op.params`` by the chosen method.

    ``auto``: ``gram_fn`` when given (the structured fast path the objective knows how to build),
    else :func:`gram_from_jacobian` for small ``m * p``, else :func:`gram_matrix_free`.
    """
    if method == "structured" or (method == "auto" and gram_fn is not None):
        if gram_fn is None:
            raise ValueError("gram='structured' needs a gram_fn (a model with dense layers)")
        return gram_fn(op.params)
    if method == "auto":
        p = sum(leaf.size for leaf in jax.tree.leaves(op.params))
        method = "jacobian" if op.num_residuals * p <= JACOBIAN_ENTRY_LIMIT else "matrix_free"
    if method == "jacobian":
        return gram_from_jacobian(op)
    if method == "matrix_free":
        return gram_matrix_free(op, chunk_size)
    raise ValueError(f"unknown gram method {method!r}")
