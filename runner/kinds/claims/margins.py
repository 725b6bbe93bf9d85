"""Margins in one unit, with the noise to read them against.

Every claim kind reports its ``margin`` as the **signed relative distance to its acceptance
boundary**: for a decisive number ``x`` and the bound ``b`` it must stay above (or below),

    margin = (x - b) / s      (above)        margin = (b - x) / s      (below)
    s = |b|, or |x| when b = 0, or 1 when both are 0,

positive when the condition holds: 0.25 means the number clears its bound by a quarter of the
bound. A two-sided condition takes the smaller of its two margins; a claim over groups the margin
of the group that decides it.

Beside the margin stands its ``noise`` in the same unit: how far the decisive number moves
between seeds (half the seed range, or half the bootstrap 95% interval with 3+ seeds, divided
by ``s``), plus, where an observable knows it, its numerical error (e.g. a fitted decay rate's
standard error). A verdict whose ``|margin| <= noise`` is **fragile**: another seed, or another
machine's rounding, may flip it. With one seed and no numerical error the noise is unknown
(``None``) and the verdict is not called fragile, but the report says the noise is unknown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def scale(value: float, bound: float) -> float:
    """``s`` of the module docstring."""
    if bound != 0 and math.isfinite(bound):
        return abs(bound)
    if value != 0 and math.isfinite(value):
        return abs(value)
    return 1.0


def relative_margin(value: float, bound: float, above: bool) -> float:
    """The signed relative distance of ``value`` to ``bound``, positive when ``value`` is on the
    accepted side (above the bound when ``above``, else below)."""
    distance = value - bound if above else bound - value
    return distance / scale(value, bound)


def seed_spread(values: Sequence[float], interval: Sequence[float] | None = None) -> float | None:
    """Half the bootstrap interval when there is one, else half the range over seeds; None for
    a single seed."""
    if interval is not None:
        return (interval[1] - interval[0]) / 2
    if len(values) < 2:
        return None
    return (max(values) - min(values)) / 2


def relative_noise(
    spread: float | None, value: float, bound: float, numerical: float = 0.0
) -> float | None:
    """``(spread + numerical) / s``: the noise of a margin computed by :func:`relative_margin`;
    None when neither is known."""
    if spread is None and not numerical:
        return None
    return ((spread or 0.0) + numerical) / scale(value, bound)


def is_fragile(margin: float | None, noise: float | None) -> bool:
    """The margin lies inside its noise."""
    if margin is None or noise is None:
        return False
    return abs(margin) <= noise


__all__ = ["is_fragile", "relative_margin", "relative_noise", "scale", "seed_spread"]
