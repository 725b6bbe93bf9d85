"""The figures of a report, drawn with matplotlib (``matplotlib.figure.Figure``, no pyplot and no
global figure state) and embedded in the page as inline ``<svg>`` elements (:func:`figure_svg`).

A claim's ``figure`` (filled by :mod:`runner.kinds.claims`) is
``{"series": {...}, "groups": {...}}``, either part optional (``{}``: no figure):

* ``series``: ``{"kind": "series", "metric": name | [names], "selections": [{"label", "where"}],
  "log_y": bool, "log_x": bool, "window": [a, b] | None}``: one panel per selection with the
  metric of every matching cell against step (:mod:`runner.report.series`).
* ``groups``: ``{"kind": "groups", "values": {selection: {group: value}}, "band": [lo, hi] |
  None, "ylabel": str}``: per-group values, one marker series per selection, the acceptance band
  shaded.

A single figure dict with a top-level ``kind`` is accepted too. A spec's own overview
``figures`` are series figures, or an observable against a sweep key
(:func:`observable_figure`). A log axis asked for where some value is <= 0 becomes a symlog
axis (:func:`set_symlog`), and the observable figure lists under the plot every point it could
not draw and every point <= 0.
"""

from __future__ import annotations

import io
import math
import re
import textwrap
from collections.abc import Sequence
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from runner import text
from runner.report.common import as_float, distinct_strings, mpl_text
from runner.report.series import PANEL_HEIGHT, PANEL_WIDTH, draw_series
from runner.results import CellResult, ClaimResult

_RC: Any = {  # typed Any: matplotlib stubs want literal rc keys
    "svg.fonttype": "none",  # text stays text: small SVGs, no glyph ids
    "svg.hashsalt": "pgdlab",  # deterministic ids (and so deterministic reports)
    "font.size": 7,
    "axes.titlesize": 8,
    "axes.labelsize": 7,
    "xtick.labelsize": 6.5,
    "ytick.labelsize": 6.5,
    "legend.fontsize": 6.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_SVG_METADATA = {"Creator": None, "Date": None, "Format": None, "Type": None}


def build_figures(claim: ClaimResult, cells: Sequence[CellResult]) -> list[Figure]:
    """The matplotlib figures of a claim (empty when its ``figure`` is ``{}``)."""
    spec = claim.figure or {}
    parts = [spec] if "kind" in spec else [spec.get("series"), spec.get("groups")]
    figures = []
    for part in parts:
        if not part:
            continue
        if part.get("kind", "series") == "groups":
            figures.append(groups_figure(part))
        else:
            figures.append(series_figure(part, cells))
    return figures


def figure_svg(fig: Figure, prefix: str = "f-") -> str:
    """``fig`` as an inline ``<svg>`` element: no XML prolog or DOCTYPE, no metadata, every id
    prefixed with ``prefix`` (several SVGs share one HTML document) and no external reference."""
    buffer = io.StringIO()
    with mpl.rc_context(_RC):
        fig.savefig(buffer, format="svg", metadata=_SVG_METADATA)
    return _inline_svg(buffer.getvalue(), prefix)


def series_figure(spec: dict[str, Any], cells: Sequence[CellResult]) -> Figure:
    """One panel per selection: the metric of each matching cell against step."""
    with mpl.rc_context(_RC):
        return draw_series(spec, cells)


def observable_figure(figure: Any, observables: Any, cells: Sequence[CellResult]) -> Figure:
    """An observable (median over seeds) against a sweep key, one line per panel."""
    with mpl.rc_context(_RC):
        return _observable_figure(figure, observables, cells)


def groups_figure(spec: dict[str, Any]) -> Figure:
    """Per-group values, one marker series per selection, the acceptance band shaded."""
    with mpl.rc_context(_RC):
        return _groups_figure(spec)


# --- per-group values and observables -----------------------------------------------------------


def _groups_figure(spec: dict[str, Any]) -> Figure:
    values = spec.get("values") or {}
    if values and not any(isinstance(v, dict) for v in values.values()):
        values = {"": values}
    groups = distinct_strings(list(per_group) for per_group in values.values())
    numeric = bool(groups) and all(g.lstrip("-").isdigit() for g in groups)
    positions = {g: (int(g) if numeric else i) for i, g in enumerate(groups)}
    width = min(PANEL_WIDTH * 2, PANEL_WIDTH + 0.12 * len(groups))
    fig = Figure(figsize=(max(width, PANEL_WIDTH), PANEL_HEIGHT), layout="constrained")
    ax = fig.add_subplot()
    markers = "osD^v<>ph*"
    finite: list[float] = []
    for i, (selection, per_group) in enumerate(values.items()):
        xs = [positions[str(g)] for g in per_group]
        ys = [as_float(v) for v in per_group.values()]
        finite.extend(y for y in ys if math.isfinite(y))
        ax.plot(
            xs,
            ys,
            marker=markers[i % len(markers)],
            ms=4,
            lw=0.8,
            color=f"C{i % 10}",
            label=mpl_text(str(selection)) or None,
        )
    band = spec.get("band")
    lo = as_float(band[0]) if band and band[0] is not None else -math.inf
    hi = as_float(band[1]) if band and len(band) > 1 and band[1] is not None else math.inf
    limits = finite + [v for v in (lo, hi) if math.isfinite(v)]
    log_y = spec.get("log_y")
    if log_y is None:
        log_y = bool(finite) and min(limits) > 0 and max(limits) / min(limits) > 100
    if log_y and limits and min(limits) <= 0:  # asked for, but a log axis cannot show them
        set_symlog(ax, limits)
        log_y = False
    elif log_y:
        ax.set_yscale("log")
    if limits:
        bottom, top = min(limits), max(limits)
        if log_y and bottom > 0:
            pad = (top / bottom) ** 0.08 if top > bottom else 2.0
            ax.set_ylim(bottom / pad, top * pad)
        else:
            pad = 0.08 * (top - bottom) if top > bottom else max(abs(top), 1.0) * 0.1
            ax.set_ylim(bottom - pad, top + pad)
    if band and (math.isfinite(lo) or math.isfinite(hi)):
        bottom, top = ax.get_ylim()
        ax.axhspan(
            lo if math.isfinite(lo) else bottom,
            hi if math.isfinite(hi) else top,
            color="tab:green",
            alpha=0.13,
            zorder=0,
            label="acceptance band",
        )
        for edge in (lo, hi):
            if math.isfinite(edge):
                ax.axhline(edge, color="tab:green", lw=0.7, ls="--", zorder=0)
        ax.set_ylim(bottom, top)
    if numeric:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("mode")
    else:
        ax.set_xticks(range(len(groups)), [mpl_text(g) for g in groups])
        if sum(len(g) for g in groups) > 30:
            ax.tick_params(axis="x", labelrotation=45)
        ax.set_xlabel("group")
    ax.set_ylabel(mpl_text(str(spec.get("ylabel") or "value")))
    if values or band:
        ax.legend(loc="best", frameon=False)
    return fig


def _observable_figure(figure: Any, observables: Any, cells: Sequence[CellResult]) -> Figure:
    from runner.kinds.observables import observe  # the report draws what the claims judge

    fig = Figure(figsize=(PANEL_WIDTH * 1.6, PANEL_HEIGHT), layout="constrained")
    ax = fig.add_subplot()
    missing: list[str] = []  # every point (panel, axis value) with a seed without a value
    drawn: list[tuple[str, Any, float]] = []  # every point drawn: (panel, axis value, median)
    for i, panel in enumerate(figure.panels):
        by_point: dict[Any, list[float]] = {}
        lost: dict[Any, list[int]] = {}
        for cell in cells:
            if not cell.matches(dict(panel.where)) or figure.axis not in cell.point:
                continue
            observed = observe(figure.observable, observables, cell)
            value = observed.values.get("") if observed.values else None
            point = cell.point[figure.axis]
            by_point.setdefault(point, [])
            if value is None or not math.isfinite(value):
                lost.setdefault(point, []).append(cell.seed)
            else:
                by_point[point].append(float(value))
        points = sorted(by_point, key=lambda p: (not isinstance(p, (int, float)), p))
        ys = [float(np.median(by_point[p])) if by_point[p] else np.nan for p in points]
        for p, y in zip(points, ys, strict=True):
            at = f"{panel.label} at {figure.axis}={text.value(p, digits=6)}"
            if p in lost:
                seeds = sorted(lost[p])
                some = f" (seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))})"
                missing.append(at + (some if by_point[p] else ""))
            if math.isfinite(y):
                drawn.append((at, p, y))
        ax.plot(
            points,
            ys,
            marker="os^Dv"[i % 5],
            ms=4,
            lw=1.0,
            color=f"C{i % 10}",
            label=mpl_text(panel.label),
        )
    notes = []
    nonpositive = [(at, y) for at, _, y in drawn if y <= 0]
    if figure.log_y and nonpositive:
        # A delay of 0 (grokking at once) or below 0 (test accuracy before train accuracy) has no
        # place on a log axis: matplotlib would clip 0 to the bottom (a vertical cliff) and drop
        # negatives. A symlog axis keeps the positive values' decades logarithmic above the
        # smallest nonzero |value| and draws 0 and negatives linearly around 0, where they are.
        linthresh = set_symlog(ax, [y for _, _, y in drawn])
        listed = "; ".join(f"{at}: {text.number(y)}" for at, y in nonpositive)
        notes.append(f"symlog axis (linear within ±{text.number(linthresh)}), <= 0: {listed}")
    elif figure.log_y:
        ax.set_yscale("log")
    if missing:
        notes.append("missing (no value, not drawn): " + "; ".join(missing))
    ax.set_xlabel(mpl_text(figure.axis))
    ax.set_ylabel(mpl_text(figure.observable))
    ax.legend(loc="best", frameon=False)
    if notes:  # every point listed, wrapped under the plot (never cut short)
        wrapped = "\n".join(textwrap.fill(note, NOTE_WIDTH) for note in notes)
        fig.supxlabel(mpl_text(wrapped), fontsize=6.5, ha="left", x=0.01)
    return fig


NOTE_WIDTH = 80  # characters per line of the notes under a figure


def set_symlog(ax: Any, values: Sequence[float]) -> float:
    """A symlog y axis for ``values`` some of which are <= 0: logarithmic above the smallest
    nonzero finite |value|, linear within it (returned). All zero: a linear axis (returns 1)."""
    nonzero = [abs(v) for v in values if math.isfinite(v) and v != 0]
    if not nonzero:
        ax.set_yscale("linear")
        return 1.0
    linthresh = min(nonzero)
    ax.set_yscale("symlog", linthresh=linthresh)
    return linthresh


# --- SVG inlining ------------------------------------------------------------------------------

_ID = re.compile(r'\bid="([^"]+)"')
_HREF = re.compile(r'\b((?:xlink:)?href)="([^"]*)"')
_URL_REF = re.compile(r"url\(#([^)]+)\)")


def _inline_svg(document: str, prefix: str) -> str:
    """The ``<svg>`` element of a matplotlib SVG document, ids prefixed, external references
    dropped (see :func:`figure_svg`)."""
    start = document.find("<svg")
    if start < 0:
        raise ValueError("matplotlib produced no <svg> element")
    svg = document[start:].strip()
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.DOTALL)
    ids = set(_ID.findall(svg))
    svg = _ID.sub(lambda m: f'id="{prefix}{m.group(1)}"', svg)

    def href(match: re.Match[str]) -> str:
        attribute, target = match.groups()
        if target.startswith("#") and target[1:] in ids:
            return f'{attribute}="#{prefix}{target[1:]}"'
        if target.startswith(("#", "data:")):
            return match.group(0)
        return ""  # an external reference: drop it rather than let the page make a request

    svg = _HREF.sub(href, svg)
    svg = _URL_REF.sub(
        lambda m: f"url(#{prefix}{m.group(1)})" if m.group(1) in ids else "none", svg
    )
    return svg.replace("<svg ", '<svg class="figure" role="img" ', 1)
