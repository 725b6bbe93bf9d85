"""The metric-against-step figure (:func:`runner.report.figures.series_figure`).

One panel per selection with the metric of every matching cell against step. With several
groups (a metric per Fourier mode) a colour per group (viridis) and the seeds of a cell in the
same colour; with one group a colour per cell key (optimizer and sweep point), seeds alike.
Several metrics share a cell's colour and differ in line style (solid, dotted, dashed,
dash-dot). ``seeds: band`` draws the median over seeds and shades the min-max range. A
``log_y`` figure with a value <= 0 is drawn on a symlog axis (said under the figure): values a
log axis cannot show are never dropped.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullFormatter

from runner.report.common import as_float, distinct_strings, fmt, mpl_text
from runner.results import CellResult

PANEL_WIDTH = 2.8  # inches per panel
PANEL_HEIGHT = 3.2
PANELS_PER_ROW = 4
LEGEND_WIDTH = 1.0  # inches added on the right for a shared legend
MAX_POINTS = 500  # per plotted line; longer per-step records are thinned
MAX_LEGEND_GROUPS = 12

LINE_STYLES = ("-", ":", "--", "-.")
STYLE_NAMES = {"solid": "-", "dotted": ":", "dashed": "--", "dashdot": "-."}


def _line_styles(spec: dict[str, Any]) -> tuple[str, ...]:
    """The figure's ``styles`` (names) as matplotlib styles; the default order otherwise."""
    names = spec.get("styles")
    return tuple(STYLE_NAMES[n] for n in names) if names else LINE_STYLES


def draw_series(spec: dict[str, Any], cells: Sequence[CellResult]) -> Figure:
    """The figure (see the module docstring); call it inside the report's matplotlib style, as
    :func:`runner.report.figures.series_figure` does."""
    names = spec.get("metric", "")
    metric_list = [str(n) for n in names] if isinstance(names, list) else [str(names)]
    metric = metric_list[0]
    selections = list(spec.get("selections") or [{"label": metric, "where": {}}])
    log_y = bool(spec.get("log_y"))
    log_x = bool(spec.get("log_x"))
    window = spec.get("window")
    marks = [(as_float(m[0]), str(m[1])) for m in spec.get("marks") or []]
    bands = spec.get("seeds") == "band"
    styles = _line_styles(spec)
    panels = [
        (str(sel.get("label", "")), [c for c in cells if _has(c, metric, sel.get("where") or {})])
        for sel in selections
    ]
    groups = distinct_strings(
        cell.series(metric).labels for _, selected in panels for cell in selected
    )
    linthresh = None
    if log_y:
        # Values a log axis cannot show (0, negatives: an error that reached exactly 0, a
        # decay-rate metric that grew) would vanish or end their line in a cliff. The figure
        # then uses a symlog axis instead: logarithmic above the smallest nonzero |value|, so the
        # decades the log axis was asked for stay, and linear below it, where 0 and negatives
        # are drawn in place; the note under the figure says so.
        values = _finite_values(panels, metric_list)
        if values.size and values.min() <= 0:
            nonzero = np.abs(values[values != 0])
            linthresh = float(nonzero.min()) if nonzero.size else 1.0
            log_y = False
    multi_group = len(groups) > 1
    ncols = max(1, min(len(panels), PANELS_PER_ROW))
    nrows = max(1, math.ceil(len(panels) / PANELS_PER_ROW))
    width = PANEL_WIDTH * ncols + (LEGEND_WIDTH if multi_group else 0.0)
    fig = Figure(figsize=(width, PANEL_HEIGHT * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    colours = _group_colours(groups)
    handles: dict[str, Any] = {}
    for index, ax in enumerate(axes.flat):
        if index >= len(panels):
            ax.set_visible(False)
            continue
        label, selected = panels[index]
        ax.set_title(mpl_text(label or metric))
        if window:
            a, b = (as_float(v) for v in window[:2])
            handles.setdefault(
                "fit window", ax.axvspan(a, b, color="0.9", zorder=0, label="fit window")
            )
        for step, mark_label in marks:
            handles.setdefault(
                mark_label, ax.axvline(step, color="0.35", lw=1.0, zorder=1, label=mark_label)
            )
        if not selected:
            ax.text(0.5, 0.5, "no cells", transform=ax.transAxes, ha="center", va="center")
        cell_colours = _cell_colours(selected)
        repeats = _count_keys(selected)
        labelled: set[tuple[Any, ...]] = set()
        banded = set()
        if bands:
            banded = {key for key, count in repeats.items() if count > 1}
            for key in banded:
                members = [c for c in selected if _cell_key(c) == key]
                colour_of = cell_colours[key]
                band_label = (
                    mpl_text(_cell_key_label(members[0], selected))
                    if len(cell_colours) > 1 and not multi_group
                    else None
                )
                _draw_band(
                    ax,
                    members,
                    metric_list,
                    colour_of,
                    colours,
                    multi_group,
                    log_y,
                    band_label,
                    styles,
                )
        for cell in selected:
            thin = repeats[_cell_key(cell)] > 1
            for style, name in zip(styles, metric_list, strict=False):
                if _cell_key(cell) in banded:
                    break
                if not cell.has_series(name):
                    continue
                series = cell.series(name)
                for g, group in enumerate(series.labels):
                    steps, values = _thinned(series.steps, series.values[:, g])
                    if log_y:
                        values = np.where(values > 0, values, np.nan)
                    colour = colours[group] if multi_group else cell_colours[_cell_key(cell)]
                    (line,) = ax.plot(
                        steps,
                        values,
                        color=colour,
                        ls=style,
                        lw=0.7 if thin else 1.1,
                        alpha=0.75 if thin else 1.0,
                    )
                    if name != metric:
                        continue
                    if multi_group:
                        handles.setdefault(_legend_label(group), line)
                    elif len(cell_colours) > 1 and _cell_key(cell) not in labelled:
                        labelled.add(_cell_key(cell))  # one legend entry for all seeds
                        line.set_label(mpl_text(_cell_key_label(cell, selected)))
            if cell.status == "diverged" and cell.diverged_at is not None:
                handles.setdefault(
                    "diverged",
                    ax.axvline(cell.diverged_at, color="tab:red", ls=":", lw=0.8, label="diverged"),
                )
        if log_y:
            ax.set_yscale("log")
        elif linthresh is not None:
            ax.set_yscale("symlog", linthresh=linthresh)
        if log_x:
            ax.set_xscale("log")  # step 0 is masked
            ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels overlap on short axes
        if not multi_group and len(cell_colours) > 1:
            ax.legend(loc="best", frameon=False)
        if index % ncols == 0:
            ax.set_ylabel(mpl_text(" / ".join(metric_list)))
        if index >= len(panels) - ncols:
            ax.set_xlabel("step")
    if len(metric_list) > 1:
        for style, name in zip(styles, metric_list, strict=False):
            handles.setdefault(name, Line2D([], [], color="0.3", ls=style, lw=1.1))
    if linthresh is not None:
        fig.supxlabel(
            mpl_text(f"symlog axis: values <= 0 drawn in place (linear within ±{fmt(linthresh)})"),
            fontsize=6.5,
        )
    if handles:
        names = _legend_names(list(handles), groups)
        fig.legend(
            [handles[n] for n in names],
            [mpl_text(n) for n in names],
            loc="outside right upper",
            frameon=False,
        )
    return fig


def _draw_band(
    ax: Any,
    members: Sequence[CellResult],
    metric_list: Sequence[str],
    cell_colour: str,
    group_colours: dict[str, str],
    multi_group: bool,
    log_y: bool,
    label: str | None,
    styles: Sequence[str] = LINE_STYLES,
) -> None:
    """Seeds of one cell key: the median over seeds as a line (the metric's style) and the
    min-max range shaded (Fig. 13). Seeds are cut to the shortest record (a diverged seed)."""
    for style, name in zip(styles, metric_list, strict=False):
        series = [c.series(name) for c in members if c.has_series(name)]
        if not series:
            continue
        length = min(s.values.shape[0] for s in series)
        steps = series[0].steps[:length]
        for g, group in enumerate(series[0].labels):
            stack = np.stack([s.values[:length, g] for s in series])
            if log_y:
                stack = np.where(stack > 0, stack, np.nan)
            colour = group_colours[group] if multi_group else cell_colour
            ax.fill_between(
                steps, stack.min(axis=0), stack.max(axis=0), color=colour, alpha=0.2, lw=0
            )
            (line,) = ax.plot(steps, np.median(stack, axis=0), color=colour, ls=style, lw=1.1)
            if label is not None and name == metric_list[0] and g == 0:
                line.set_label(label)


def _finite_values(
    panels: Sequence[tuple[str, Sequence[CellResult]]], metric_list: Sequence[str]
) -> np.ndarray:
    """Every finite value of the figure's metrics in its panels' cells."""
    found = [
        np.asarray(cell.series(name).values, dtype=float).ravel()
        for _, selected in panels
        for cell in selected
        for name in metric_list
        if cell.has_series(name)
    ]
    values = np.concatenate(found) if found else np.zeros(0)
    return values[np.isfinite(values)]


def _has(cell: CellResult, metric: str, where: dict[str, Any]) -> bool:
    return cell.matches(where) and cell.has_series(metric)


def _group_colours(groups: list[str]) -> dict[str, Any]:
    cmap = mpl.colormaps["viridis"]
    if len(groups) == 1:
        return {groups[0]: cmap(0.3)}
    return {g: cmap(0.92 * i / (len(groups) - 1)) for i, g in enumerate(groups)}


def _legend_label(label: str) -> str:
    """A group's legend entry: ``mode 3`` for a numbered group, else its label."""
    return f"mode {label}" if label.isdigit() else (label or "value")


def _legend_names(names: list[str], groups: list[str]) -> list[str]:
    """At most ``MAX_LEGEND_GROUPS`` group entries (evenly spaced), then the other entries."""
    group_names = [_legend_label(g) for g in groups if _legend_label(g) in names]
    others = [n for n in names if n not in group_names]
    if len(group_names) > MAX_LEGEND_GROUPS:
        keep = np.unique(np.linspace(0, len(group_names) - 1, MAX_LEGEND_GROUPS).round())
        group_names = [group_names[int(i)] for i in keep]
    return group_names + others


def _cell_key(cell: CellResult) -> tuple[Any, ...]:
    """Cells that differ only in their seed share a key (and a colour)."""
    return (cell.optimizer, tuple(sorted((k, repr(v)) for k, v in cell.point.items())))


def _cell_key_label(cell: CellResult, panel: Sequence[CellResult] = ()) -> str:
    """``optimizer key=value, ...``; within a panel, only what tells its cells apart: the
    optimizer if it varies, and of sweep keys that vary in lockstep (a zip) the first."""
    keys = list(cell.point)
    show_optimizer = True
    if panel:
        show_optimizer = len({c.optimizer for c in panel}) > 1
        kept: list[str] = []
        seen: list[list[int]] = []
        for key in keys:
            values = [repr(c.point.get(key)) for c in panel]
            pattern = [values.index(v) for v in values]  # the partition this key induces
            if len(set(values)) > 1 and pattern not in seen:
                kept.append(key)
                seen.append(pattern)
        keys = kept
    point = ", ".join(f"{k.rsplit('.', 1)[-1]}={fmt(cell.point[k])}" for k in keys)
    return f"{cell.optimizer if show_optimizer else ''} {point}".strip() or cell.optimizer


def _count_keys(cells: Sequence[CellResult]) -> dict[tuple[Any, ...], int]:
    counts: dict[tuple[Any, ...], int] = {}
    for cell in cells:
        counts[_cell_key(cell)] = counts.get(_cell_key(cell), 0) + 1
    return counts


def _cell_colours(cells: Sequence[CellResult]) -> dict[tuple[Any, ...], str]:
    keys = list(_count_keys(cells))
    return {key: f"C{i % 10}" for i, key in enumerate(keys)}


def _thinned(steps: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = np.where(np.isfinite(values), values, np.nan)
    if len(steps) <= MAX_POINTS:
        return steps, values
    index = np.unique(np.r_[np.linspace(0, len(steps) - 1, MAX_POINTS).round().astype(int)])
    return steps[index], values[index]
