"""Per-step diagnostics that preconditioned optimizers keep in their optax state.

Each transformation stores an :class:`OptimizerInfo` subclass (a pytree of scalars) in its state;
:func:`collect_info` finds them anywhere inside a (chained, switched) optimizer state and returns a
flat ``{"prefix/field": value}`` dict that the training loop records every step. Failures are
values, not exceptions (as in optimistix): a CG that did not converge says so here.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import equinox as eqx
import jax
from jaxtyping import Array


class OptimizerInfo(eqx.Module):
    """Base class of info pytrees; ``prefix`` names the fields in :func:`collect_info`."""

    prefix: ClassVar[str] = "info"


def collect_info(state: Any) -> dict[str, Array]:
    """Flatten every :class:`OptimizerInfo` in ``state`` into ``{"prefix/field": scalar}``.

    When the same prefix occurs twice (e.g. LM in both phases of a switch), later ones are
    numbered ``prefix2``, ``prefix3``, ...
    """
    is_info = lambda node: isinstance(node, OptimizerInfo)  # noqa: E731
    found: dict[str, Array] = {}
    seen: dict[str, int] = {}
    for node in jax.tree.leaves(state, is_leaf=is_info):
        if not is_info(node):
            continue
        seen[node.prefix] = seen.get(node.prefix, 0) + 1
        name = node.prefix if seen[node.prefix] == 1 else f"{node.prefix}{seen[node.prefix]}"
        for field in dataclasses.fields(node):
            found[f"{name}/{field.name}"] = getattr(node, field.name)
    return found
