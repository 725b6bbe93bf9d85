"""The report of one run: a self-contained HTML page and a junit XML file.

:func:`render_report` turns a :class:`~runner.results.RunView` into one HTML file that opens
offline: no external CSS, JavaScript, fonts or images, no required JavaScript at all. Figures are
drawn with matplotlib (``matplotlib.figure.Figure``, no pyplot and no global figure state) and
embedded as inline ``<svg>`` elements; every user-provided string is escaped by Jinja2's
autoescape. :func:`render_junit` writes one ``<testcase>`` per claim for CI systems.

Figures
-------
A claim's ``figure`` (filled by :mod:`runner.claims`) is ``{"series": {...}, "groups": {...}}``,
either part optional (``{}``: no figure):

* ``series``: ``{"kind": "series", "metric": name | [names], "selections": [{"label", "where"}],
  "log_y": bool, "log_x": bool, "window": [a, b] | None}``: one panel per selection with the
  metric of every matching cell against step, one colour per group (viridis), seeds in the same
  colour; several metrics share a cell's colour and differ in line style (solid, dotted, dashed,
  dash-dot).
* ``groups``: ``{"kind": "groups", "values": {selection: {group: value}}, "band": [lo, hi] |
  None, "ylabel": str}``: per-group values, one marker series per selection, the acceptance band
  shaded.

A single figure dict with a top-level ``kind`` is accepted too.
"""

from __future__ import annotations

import io
import math
import re
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import matplotlib as mpl
import numpy as np
import yaml
from markupsafe import Markup
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator, NullFormatter

from runner.results import CellResult, ClaimResult, Evidence, RunView, jsonable

__all__ = [
    "build_figures",
    "figure_svg",
    "groups_figure",
    "render_junit",
    "render_report",
    "series_figure",
]

TEMPLATES = Path(__file__).parent / "templates"

PANEL_WIDTH = 2.8  # inches per panel
PANEL_HEIGHT = 3.2
PANELS_PER_ROW = 4
LEGEND_WIDTH = 1.0  # inches added on the right for a shared legend
MAX_POINTS = 500  # per plotted line; longer per-step records are thinned
MAX_LEGEND_GROUPS = 12
ERROR_PREVIEW = 160  # characters of a cell's error shown in the sweep grid

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

_RANK = {"failed": 0, "inconclusive": 1, "holds": 2}


# --- public API --------------------------------------------------------------------------------


def render_report(view: RunView) -> str:
    """The HTML report of a run: one self-contained page (inline CSS and SVG, no scripts)."""
    return _environment().get_template("report.html.j2").render(**_context(view))


def render_junit(view: RunView) -> str:
    """junit XML: one ``<testcase>`` per claim. A claim that does not hold is a ``<failure>``,
    ERROR an ``<error>``, INCONCLUSIVE ``<skipped>``; holding claims have no child element."""
    name = _spec_name(view)
    claims = view.claims
    counts = _counts(claims)
    suite = ET.Element(
        "testsuite",
        {
            "name": _xml_text(name),
            "tests": str(len(claims)),
            "failures": str(counts["failed"]),
            "errors": str(counts["errored"]),
            "skipped": str(counts["inconclusive"]),
        },
    )
    if view.manifest.get("created"):
        suite.set("timestamp", _xml_text(str(view.manifest["created"])))
    properties = ET.SubElement(suite, "properties")
    git = view.env.get("git") or {}
    cell_errors = sum(1 for cell in view.cells if cell.status == "error")
    for key, value in (
        ("run_id", view.manifest.get("run_id")),
        ("profile", view.manifest.get("profile")),
        ("spec_hash", view.manifest.get("spec_hash")),
        ("git_commit", git.get("commit")),
        ("cell_errors", cell_errors),
    ):
        if value is not None:
            ET.SubElement(properties, "property", name=key, value=_xml_text(str(value)))
    for claim in claims:
        case = ET.SubElement(
            suite, "testcase", classname=_xml_text(f"pgdlab.{name}"), name=_xml_text(claim.id)
        )
        text = _xml_text(_junit_text(claim))
        if claim.verdict == "ERROR":
            element = ET.SubElement(
                case,
                "error",
                message=_xml_text(claim.reason or claim.observed_sentence),
                type=claim.kind,
            )
            element.text = text
        elif claim.verdict == "INCONCLUSIVE":
            ET.SubElement(
                case, "skipped", message=_xml_text(claim.reason or claim.observed_sentence)
            )
        elif not claim.holds:
            element = ET.SubElement(
                case, "failure", message=_xml_text(_failure_message(claim)), type=claim.kind
            )
            element.text = text
    ET.indent(suite)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"
    )


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
        return _series_figure(spec, cells)


def observable_figure(figure: Any, observables: Any, cells: Sequence[CellResult]) -> Figure:
    """An observable (median over seeds) against a sweep key, one line per panel."""
    with mpl.rc_context(_RC):
        return _observable_figure(figure, observables, cells)


def groups_figure(spec: dict[str, Any]) -> Figure:
    """Per-group values, one marker series per selection, the acceptance band shaded."""
    with mpl.rc_context(_RC):
        return _groups_figure(spec)


# --- figures -----------------------------------------------------------------------------------


LINE_STYLES = ("-", ":", "--", "-.")
STYLE_NAMES = {"solid": "-", "dotted": ":", "dashed": "--", "dashdot": "-."}


def _line_styles(spec: dict[str, Any]) -> tuple[str, ...]:
    """The figure's ``styles`` (names) as matplotlib styles; the default order otherwise."""
    names = spec.get("styles")
    return tuple(STYLE_NAMES[n] for n in names) if names else LINE_STYLES


def _series_figure(spec: dict[str, Any], cells: Sequence[CellResult]) -> Figure:
    names = spec.get("metric", "")
    metric_list = [str(n) for n in names] if isinstance(names, list) else [str(names)]
    metric = metric_list[0]
    selections = list(spec.get("selections") or [{"label": metric, "where": {}}])
    log_y = bool(spec.get("log_y"))
    log_x = bool(spec.get("log_x"))
    window = spec.get("window")
    marks = [(_num(m[0]), str(m[1])) for m in spec.get("marks") or []]
    bands = spec.get("seeds") == "band"
    styles = _line_styles(spec)
    panels = [
        (str(sel.get("label", "")), [c for c in cells if _has(c, metric, sel.get("where") or {})])
        for sel in selections
    ]
    groups = _ordered_union(
        cell.series(metric).labels for _, selected in panels for cell in selected
    )
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
        ax.set_title(_mpl_text(label or metric))
        if window:
            a, b = (_num(v) for v in window[:2])
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
                    _mpl_text(_cell_key_label(members[0], selected))
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
                        handles.setdefault(_group_name(group), line)
                    elif len(cell_colours) > 1 and _cell_key(cell) not in labelled:
                        labelled.add(_cell_key(cell))  # one legend entry for all seeds
                        line.set_label(_mpl_text(_cell_key_label(cell, selected)))
            if cell.status == "diverged" and cell.diverged_at is not None:
                handles.setdefault(
                    "diverged",
                    ax.axvline(cell.diverged_at, color="tab:red", ls=":", lw=0.8, label="diverged"),
                )
        if log_y:
            ax.set_yscale("log")
        if log_x:
            ax.set_xscale("log")  # step 0 is masked
            ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels overlap on short axes
        if not multi_group and len(cell_colours) > 1:
            ax.legend(loc="best", frameon=False)
        if index % ncols == 0:
            ax.set_ylabel(_mpl_text(" / ".join(metric_list)))
        if index >= len(panels) - ncols:
            ax.set_xlabel("step")
    if len(metric_list) > 1:
        for style, name in zip(styles, metric_list, strict=False):
            handles.setdefault(name, Line2D([], [], color="0.3", ls=style, lw=1.1))
    if handles:
        names = _legend_names(list(handles), groups)
        fig.legend(
            [handles[n] for n in names],
            [_mpl_text(n) for n in names],
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


def _groups_figure(spec: dict[str, Any]) -> Figure:
    values = spec.get("values") or {}
    if values and not any(isinstance(v, dict) for v in values.values()):
        values = {"": values}
    groups = _ordered_union(list(per_group) for per_group in values.values())
    numeric = bool(groups) and all(g.lstrip("-").isdigit() for g in groups)
    positions = {g: (int(g) if numeric else i) for i, g in enumerate(groups)}
    width = min(PANEL_WIDTH * 2, PANEL_WIDTH + 0.12 * len(groups))
    fig = Figure(figsize=(max(width, PANEL_WIDTH), PANEL_HEIGHT), layout="constrained")
    ax = fig.add_subplot()
    markers = "osD^v<>ph*"
    finite: list[float] = []
    for i, (selection, per_group) in enumerate(values.items()):
        xs = [positions[str(g)] for g in per_group]
        ys = [_num(v) for v in per_group.values()]
        finite.extend(y for y in ys if math.isfinite(y))
        ax.plot(
            xs,
            ys,
            marker=markers[i % len(markers)],
            ms=4,
            lw=0.8,
            color=f"C{i % 10}",
            label=_mpl_text(str(selection)) or None,
        )
    band = spec.get("band")
    lo = _num(band[0]) if band and band[0] is not None else -math.inf
    hi = _num(band[1]) if band and len(band) > 1 and band[1] is not None else math.inf
    limits = finite + [v for v in (lo, hi) if math.isfinite(v)]
    log_y = spec.get("log_y")
    if log_y is None:
        log_y = bool(finite) and min(limits) > 0 and max(limits) / min(limits) > 100
    if log_y:
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
        ax.set_xticks(range(len(groups)), [_mpl_text(g) for g in groups])
        if sum(len(g) for g in groups) > 30:
            ax.tick_params(axis="x", labelrotation=45)
        ax.set_xlabel("group")
    ax.set_ylabel(_mpl_text(str(spec.get("ylabel") or "value")))
    if values or band:
        ax.legend(loc="best", frameon=False)
    return fig


def _observable_figure(figure: Any, observables: Any, cells: Sequence[CellResult]) -> Figure:
    from runner.observables import observe  # the report draws what the claims judge

    fig = Figure(figsize=(PANEL_WIDTH * 1.6, PANEL_HEIGHT), layout="constrained")
    ax = fig.add_subplot()
    never: list[str] = []
    for i, panel in enumerate(figure.panels):
        by_point: dict[Any, list[float]] = {}
        for cell in cells:
            if not cell.matches(dict(panel.where)) or figure.axis not in cell.point:
                continue
            observed = observe(figure.observable, observables, cell)
            value = observed.values.get("") if observed.values else None
            point = cell.point[figure.axis]
            by_point.setdefault(point, [])
            if value is None or not math.isfinite(value):
                never.append(f"{panel.label} at {figure.axis}={_short_value(point)}")
            else:
                by_point[point].append(float(value))
        points = sorted(by_point, key=lambda p: (not isinstance(p, (int, float)), p))
        ys = [float(np.median(by_point[p])) if by_point[p] else np.nan for p in points]
        ax.plot(
            points,
            ys,
            marker="os^Dv"[i % 5],
            ms=4,
            lw=1.0,
            color=f"C{i % 10}",
            label=_mpl_text(panel.label),
        )
    if figure.log_y:
        ax.set_yscale("log")
    ax.set_xlabel(_mpl_text(figure.axis))
    ax.set_ylabel(_mpl_text(figure.observable))
    ax.legend(loc="best", frameon=False)
    if never:
        text = "missing: " + "; ".join(sorted(set(never)))
        ax.set_title(_mpl_text(text if len(text) < 90 else text[:87] + "..."), fontsize=7)
    return fig


def _short_value(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _has(cell: CellResult, metric: str, where: dict[str, Any]) -> bool:
    return cell.matches(where) and cell.has_series(metric)


def _ordered_union(lists: Iterable[Iterable[Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for items in lists:
        for item in items:
            seen.setdefault(str(item), None)
    return list(seen)


def _group_colours(groups: list[str]) -> dict[str, Any]:
    cmap = mpl.colormaps["viridis"]
    if len(groups) == 1:
        return {groups[0]: cmap(0.3)}
    return {g: cmap(0.92 * i / (len(groups) - 1)) for i, g in enumerate(groups)}


def _group_name(label: str) -> str:
    return f"mode {label}" if label.isdigit() else (label or "value")


def _legend_names(names: list[str], groups: list[str]) -> list[str]:
    """At most ``MAX_LEGEND_GROUPS`` group entries (evenly spaced), then the other entries."""
    group_names = [_group_name(g) for g in groups if _group_name(g) in names]
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
    point = ", ".join(f"{k.rsplit('.', 1)[-1]}={_fmt(cell.point[k])}" for k in keys)
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


def _mpl_text(text: str) -> str:
    """User text for matplotlib: ``$`` would start mathtext (and can fail to parse)."""
    return text.replace("$", r"\$")


_ID = re.compile(r'\bid="([^"]+)"')
_HREF = re.compile(r'\b((?:xlink:)?href)="([^"]*)"')
_URL_REF = re.compile(r"url\(#([^)]+)\)")


def _inline_svg(text: str, prefix: str) -> str:
    start = text.find("<svg")
    if start < 0:
        raise ValueError("matplotlib produced no <svg> element")
    svg = text[start:].strip()
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


# --- HTML context ------------------------------------------------------------------------------


@cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _context(view: RunView) -> dict[str, Any]:
    manifest, spec = view.manifest, view.spec
    claims = [_claim_context(claim, view, i) for i, claim in enumerate(view.claims)]
    claims.sort(key=lambda c: _RANK[c["status"]])  # stable: spec order within each rank
    overrides = manifest.get("overrides") or []
    if isinstance(overrides, str):
        overrides = [overrides]
    return {
        "name": _spec_name(view),
        "description": getattr(spec, "description", "") or "",
        "paper": getattr(spec, "paper", "") or "",
        "run_id": str(manifest.get("run_id", "")),
        "profile": str(manifest.get("profile") or "—"),
        "overrides": [str(o) for o in overrides],
        "run_status": str(manifest.get("status") or ""),
        "verdict": _overall(view),
        "claims": claims,
        "overview": _overview_figures(view),
        "grid": _grid(view.cells),
        "command": _command(manifest.get("command")),
        "provenance": _provenance(view),
        "packages": sorted((str(k), _fmt(v)) for k, v in (view.env.get("packages") or {}).items()),
        "resolved_text": view.resolved_text,
        "spec_text": view.spec_text,
    }


def _counts(claims: Sequence[ClaimResult]) -> dict[str, int]:
    return {
        "holds": sum(1 for c in claims if c.holds),
        "failed": sum(1 for c in claims if not c.holds and c.verdict in ("PASS", "FAIL")),
        "inconclusive": sum(1 for c in claims if c.verdict == "INCONCLUSIVE"),
        "errored": sum(1 for c in claims if c.verdict == "ERROR"),
        "controls": sum(1 for c in claims if c.expected == "fail"),
    }


def _overall(view: RunView) -> dict[str, Any]:
    claims = view.claims
    counts = _counts(claims)
    total = len(claims)
    notes = []
    if total == 0:
        headline, css = "NO CLAIMS JUDGED", "inconclusive"
    elif counts["holds"] == total:
        headline, css = "ALL CLAIMS HOLD", "pass"
    else:
        parts = [
            f"{counts['failed']} of {total} claims failed" if counts["failed"] else "",
            f"{counts['inconclusive']} inconclusive" if counts["inconclusive"] else "",
            f"{counts['errored']} errored" if counts["errored"] else "",
        ]
        headline = ", ".join(p for p in parts if p)
        css = "fail" if counts["failed"] else ("error" if counts["errored"] else "inconclusive")
    if total:
        notes.append(f"{counts['holds']} of {total} claims hold")
    if counts["controls"]:
        n = counts["controls"]
        notes.append(f"{n} negative control{'s' if n != 1 else ''} (expected to fail)")
    by_status: dict[str, list[str]] = {}
    for cell in view.cells:
        by_status.setdefault(cell.status, []).append(cell.cell_id)
    cell_errors = by_status.get("error", [])
    for status, word in (("diverged", "diverged"), ("missing", "missing")):
        if by_status.get(status):
            notes.append(f"{len(by_status[status])} of {len(view.cells)} cells {word}")
    status = str(view.manifest.get("status") or "")
    if status and status != "finished":
        notes.append(f"run status: {status}")
    return {"headline": headline, "css": css, "notes": notes, "cell_errors": cell_errors}


def _overview_figures(view: RunView) -> list[dict[str, Any]]:
    """The spec's own ``figures`` (e.g. Fig. 4: loss per optimizer, a colour per frequency)."""
    out = []
    for number, figure in enumerate(getattr(view.spec, "figures", None) or []):
        part = {
            "kind": "series",
            "metric": figure.metric,
            "selections": [{"label": p.label, "where": dict(p.where)} for p in figure.panels],
            "log_y": figure.log_y,
            "log_x": figure.log_x,
            "window": None,
            "marks": [[m.step, m.label] for m in figure.marks],
            "styles": figure.styles,
            "seeds": figure.seeds,
        }
        try:
            if figure.observable is not None:
                fig = observable_figure(figure, view.spec.observables, view.cells)
            else:
                fig = series_figure(part, view.cells)
            try:
                svg = Markup(figure_svg(fig, prefix=f"o{number}-"))
            finally:
                fig.clear()
            out.append({"title": figure.title, "svg": svg, "error": None})
        except Exception as error:  # a broken figure must not cost the whole report
            out.append(
                {"title": figure.title, "svg": None, "error": f"{type(error).__name__}: {error}"}
            )
    return out


def _claim_context(claim: ClaimResult, view: RunView, index: int) -> dict[str, Any]:
    if claim.holds:
        status = "holds"
    elif claim.verdict == "INCONCLUSIVE":
        status = "inconclusive"
    else:
        status = "failed"
    figures = []
    try:
        built = build_figures(claim, view.cells)
    except Exception as error:  # a broken figure must not cost the whole report
        figures.append({"svg": None, "error": f"{type(error).__name__}: {error}"})
        built = []
    for number, fig in enumerate(built):
        try:
            svg = figure_svg(fig, prefix=f"c{index}f{number}-")
            figures.append({"svg": Markup(svg), "error": None})
        except Exception as error:
            figures.append({"svg": None, "error": f"{type(error).__name__}: {error}"})
        finally:
            fig.clear()
    columns, rows = _evidence(claim.evidence)
    return {
        "id": claim.id,
        "anchor": f"claim-{claim.id}",
        "kind": claim.kind,
        "verdict": claim.verdict,
        "verdict_css": claim.verdict.lower(),
        "expected": claim.expected,
        "holds": claim.holds,
        "status": status,
        "expected_sentence": claim.expected_sentence,
        "observed_sentence": claim.observed_sentence,
        "statement": claim.statement or "",
        "reason": claim.reason or "",
        "margin": _fmt(claim.margin),
        "control_note": _control_note(claim),
        "figures": figures,
        "evidence_columns": columns,
        "evidence_rows": rows,
        "cells": list(claim.cells),
        "observed": [(str(k), _fmt(v)) for k, v in (claim.observed or {}).items()],
        "definition": _claim_definition(view.spec, claim.id),
    }


def _control_note(claim: ClaimResult) -> str:
    if claim.expected != "fail":
        return ""
    outcome = {
        "FAIL": "it failed, so it holds",
        "PASS": "it passed, so it does not hold",
        "INCONCLUSIVE": "it was inconclusive, so it does not hold",
        "ERROR": "it errored, so it does not hold",
    }[claim.verdict]
    return f"negative control: expected to fail; {outcome}"


def _evidence(rows: Sequence[Evidence]) -> tuple[list[str], list[dict[str, Any]]]:
    columns = _ordered_union(row.values for row in rows)
    out = []
    for row in rows:
        passed = {True: "pass", False: "fail", None: "—"}[row.passed]
        out.append(
            {
                "label": row.label,
                "cell_id": row.cell_id or "",
                "numbers": [_fmt(row.values[c]) if c in row.values else "" for c in columns],
                "passed": passed,
            }
        )
    return columns, out


def _claim_definition(spec: Any, claim_id: str) -> str:
    for claim in getattr(spec, "claims", None) or []:
        if getattr(claim, "id", None) == claim_id:
            try:
                data = claim.model_dump(mode="json", exclude_defaults=True)
                return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip()
            except Exception:  # pragma: no cover - a spec object without pydantic dumping
                return ""
    return ""


def _grid(cells: Sequence[CellResult]) -> dict[str, Any]:
    keys = _ordered_union(cell.point for cell in cells)
    rows = []
    for cell in cells:
        error = (cell.error or "").strip()
        rows.append(
            {
                "cell_id": cell.cell_id,
                "optimizer": cell.optimizer,
                "seed": cell.seed,
                "point": [_fmt(cell.point[k]) if k in cell.point else "" for k in keys],
                "status": cell.status,
                "steps_done": cell.steps_done,
                "diverged_at": "" if cell.diverged_at is None else cell.diverged_at,
                "wall": f"{cell.wall_seconds:.1f}",
                "error": error,
                "error_preview": _truncate(error.splitlines()[-1] if error else "", ERROR_PREVIEW),
            }
        )
    return {"columns": keys, "rows": rows}


def _command(command: Any) -> str:
    if command is None:
        return ""
    if isinstance(command, (list, tuple)):
        return shlex.join(str(part) for part in command)
    return str(command)


def _provenance(view: RunView) -> list[tuple[str, str]]:
    manifest, env = view.manifest, view.env
    git = env.get("git") or {}
    commit = str(git.get("commit") or "unknown")
    if git.get("dirty"):
        commit += " (dirty: uncommitted changes)"
    elif "dirty" in git:
        commit += " (clean)"
    rows = [
        ("run id", manifest.get("run_id")),
        ("run status", manifest.get("status")),
        ("spec path", manifest.get("spec_path")),
        ("spec hash", manifest.get("spec_hash")),
        ("profile", manifest.get("profile")),
        ("overrides", manifest.get("overrides") or "none"),
        ("created", manifest.get("created")),
        ("finished", manifest.get("finished")),
        ("git commit", commit),
        ("pgdlab version", manifest.get("pgdlab_version")),
        ("engine", manifest.get("engine")),
        ("jobs", manifest.get("jobs")),
        ("python", env.get("python")),
        ("platform", env.get("platform")),
        ("JAX devices", env.get("jax_devices")),
        ("threads", env.get("threads")),
        ("data sources", env.get("data_sources") or "none (all data generated from seeds)"),
    ]
    return [(key, _fmt(value, limit=None)) for key, value in rows if value is not None]


# --- formatting --------------------------------------------------------------------------------


def _fmt(value: Any, limit: int | None = 300) -> str:
    """A compact, readable string for a number, list or mapping (never raises)."""
    value = jsonable(value)
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str):
        return value if limit is None else _truncate(value, limit)
    if isinstance(value, dict):
        text = ", ".join(f"{k}: {_fmt(v, limit)}" for k, v in value.items())
    elif isinstance(value, list):
        shown = [_fmt(v, limit) for v in value[:12]]
        more = f", … ({len(value)} in all)" if len(value) > 12 else ""
        text = "[" + ", ".join(shown) + more + "]"
    else:
        text = str(value)
    return text if limit is None else _truncate(text, limit)


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _num(value: Any) -> float:
    """A float from a number, a JSON-safe string ("nan", "inf", "-inf") or None (NaN)."""
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _spec_name(view: RunView) -> str:
    return str(getattr(view.spec, "name", None) or view.manifest.get("spec_name") or "spec")


def _failure_message(claim: ClaimResult) -> str:
    if claim.expected == "fail":
        return f"negative control expected to fail, but it passed: {claim.observed_sentence}"
    return claim.observed_sentence


def _junit_text(claim: ClaimResult) -> str:
    lines = [f"expected: {claim.expected_sentence}", f"observed: {claim.observed_sentence}"]
    if claim.expected == "fail":
        lines.append(_control_note(claim))
    if claim.statement:
        lines.append(f"paper: {claim.statement}")
    if claim.reason:
        lines.append(f"reason: {claim.reason}")
    if claim.margin is not None:
        lines.append(f"margin: {_fmt(claim.margin)}")
    return "\n".join(lines)


_XML_INVALID = re.compile("[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    """Drop characters XML 1.0 cannot carry (ANSI escapes in tracebacks, NUL)."""
    return _XML_INVALID.sub("", text)
