"""The figure a claim result carries (``ClaimResult.figure``; the contract is in the package
docstring): the metric against step in the selected cells, and the seed-aggregated values per
group."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from runner.kinds.base import Where
from runner.kinds.observables import metric_of

if TYPE_CHECKING:
    from runner.kinds.claims.selection import Context


def series_figure(
    context: Context, observable: str, selections: Sequence[tuple[str, Where]]
) -> dict[str, Any] | None:
    """The ``series`` part: the observable's metric against step, a panel per selection (None
    when the observable reads no metric)."""
    obs: Any = context.observables.get(observable)
    metric = metric_of(observable, context.observables) if obs is not None else None
    if metric is None:
        return None
    return {
        "kind": "series",
        "metric": metric,
        "selections": [{"label": label, "where": dict(where)} for label, where in selections],
        "log_y": obs.kind == "decay_rate" or _all_positive(context, metric, selections),
        "window": list(obs.window) if obs.kind in ("decay_rate", "window") else None,
    }


def _all_positive(context: Context, metric: str, selections: Sequence[tuple[str, Where]]) -> bool:
    seen = False
    for cell in context.cells:
        if cell.has_series(metric) and any(cell.matches(w) for _, w in selections):
            values = cell.series(metric).values
            finite = values[np.isfinite(values)]
            if finite.size and finite.min() <= 0:
                return False
            seen = seen or bool(finite.size)
    return seen


def groups_figure(
    values: Mapping[str, Mapping[str, float]], ylabel: str, band: list[Any] | None = None
) -> dict[str, Any]:
    """The ``groups`` part: ``values[label][group]``, the acceptance ``band`` if any."""
    return {
        "kind": "groups",
        "values": {label: dict(per_group) for label, per_group in values.items()},
        "band": band,
        "ylabel": ylabel,
    }


__all__ = ["groups_figure", "series_figure"]
