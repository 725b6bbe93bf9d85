"""Program diagnostics: the largest array a traced computation creates.

Used to prove the "never a ``p x p`` array" rule of the curvature core (tests and
``benchmarks/curvature.py``): trace the jitted step with ``jax.make_jaxpr`` and walk every
equation, including those inside ``pjit``, ``scan``, ``while``, ``cond`` and custom-derivative
sub-programs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import jax
from jax.extend import core as jex_core


class Intermediate(NamedTuple):
    size: int
    shape: tuple[int, ...]
    primitive: str


def _sub_jaxprs(value: Any) -> Iterator[Any]:
    if isinstance(value, jex_core.ClosedJaxpr):
        yield value.jaxpr
    elif isinstance(value, jex_core.Jaxpr):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _sub_jaxprs(item)


def _walk(jaxpr: Any) -> Iterator[Intermediate]:
    for eqn in jaxpr.eqns:
        for var in eqn.outvars:
            shape = tuple(getattr(var.aval, "shape", ()))
            yield Intermediate(math.prod(shape), shape, eqn.primitive.name)
        for param in eqn.params.values():
            for sub in _sub_jaxprs(param):
                yield from _walk(sub)


def largest_intermediate(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Intermediate:
    """The largest output of any primitive in ``fn(*args, **kwargs)``'s traced program."""
    closed = jax.make_jaxpr(fn)(*args, **kwargs)
    sizes = list(_walk(closed.jaxpr))
    return max(sizes, default=Intermediate(0, (), "none"))
