"""The report's figures as files for a paper: ``runner report RUN --figures DIR --format pdf``.

One code path: every figure is drawn by the functions the HTML report calls
(:func:`runner.report.figures.series_figure` and :func:`~runner.report.figures.observable_figure`
for the spec's overview ``figures``, :func:`~runner.report.figures.build_figures` for a claim's),
then, for print, re-sized to a journal column and given fonts of at least 8 pt
(:func:`print_layout`). :func:`draw_overview` and :func:`claims_in_report_order` are the pieces
the HTML page can share.

Names are stable and safe as file names, in the order the report shows the figures: the
overview figures first (``overview-1-loss-per-optimizer``: its number in the spec and its title
as a slug), then each claim's figures in the report's claim order (failed, inconclusive, then
holding claims, each group in spec order): ``claim-<id>`` for its first figure,
``claim-<id>-2`` for its second. A name depends only on the spec, never on a verdict.

Imported by ``runner report`` only when figures are asked for; importing it loads matplotlib.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import matplotlib as mpl
from matplotlib.figure import Figure
from matplotlib.text import Text

from runner.report import figures
from runner.results import ClaimResult, RunView

FORMATS = ("png", "pdf", "svg")
PNG_DPI = 300

SINGLE_COLUMN = 3.5  # inches: one column of a two-column journal page
DOUBLE_COLUMN = 7.0  # inches: the full text width
MIN_FONT = 8.0  # points: the smallest text a journal accepts
SINGLE_ASPECT = 0.75  # height / width of a single-column figure
PANEL_ASPECT = 0.85  # height / width of one of several panels in a row (shared y: squarer)
MIN_PANEL_HEIGHT = 1.8  # inches: room for a title, ticks and a label at 8 pt
MAX_PANEL_HEIGHT = 2.8
LEGEND_ROOM = 1.2  # inches of the width a legend outside the panels takes

_SAVE_RC: Any = {  # typed Any: matplotlib stubs want literal rc keys
    "pdf.fonttype": 42,  # TrueType in the PDF: editable text, no Type 3 fonts (journals refuse)
    "ps.fonttype": 42,
    "svg.fonttype": "none",  # text stays text
    "svg.hashsalt": "pgdlab",  # deterministic ids: the same run writes the same files
}
# No creation date or tool version inside the files, so that re-exporting a run changes nothing.
_METADATA: dict[str, dict[str, Any]] = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
    "svg": {"Creator": None, "Date": None, "Format": None, "Type": None},
}

_STATUS_RANK = {"failed": 0, "inconclusive": 1, "holds": 2}  # the report's claim order

T = TypeVar("T")


class FigureExportError(Exception):
    """Some figures could not be drawn (the others were written): ``failures`` maps each name to
    its error, ``written`` lists the files that were written."""

    def __init__(self, failures: dict[str, str], written: list[Path]) -> None:
        self.failures = failures
        self.written = written
        listed = "; ".join(f"{name}: {error}" for name, error in failures.items())
        super().__init__(f"{len(failures)} figure(s) could not be drawn: {listed}")


@dataclass(frozen=True)
class _Drawing:
    """Figures the report draws with one call (a claim's series and groups figures come from
    one :func:`~runner.report.figures.build_figures`): their names, and that call."""

    names: tuple[str, ...]
    draw: Callable[[], list[Figure]]


def figure_names(view: RunView) -> list[str]:
    """Every figure of the report, overview then claims, as stable file-name-safe names."""
    return [name for drawing in _drawings(view) for name in drawing.names]


def draw_figure(view: RunView, name: str, *, for_print: bool = False) -> Figure:
    """The figure called ``name`` (see :func:`figure_names`) as the report draws it; with
    ``for_print`` sized and lettered for a paper (:func:`print_layout`). An unknown name raises
    ``ValueError`` listing the valid ones."""
    drawings = _drawings(view)
    for drawing in drawings:
        if name in drawing.names:
            built = drawing.draw()
            wanted = built[drawing.names.index(name)]
            for fig in built:
                if fig is not wanted:
                    fig.clear()
            return print_layout(wanted) if for_print else wanted
    import difflib

    names = [name for drawing in drawings for name in drawing.names]
    valid = ", ".join(names) or "none (this run has no figures)"
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"no figure {name!r}{hint} (this run has: {valid})")


def export_figures(view: RunView, directory: Path, fmt: str) -> list[Path]:
    """Writes every figure of the report into ``directory`` (created) as ``<name>.<fmt>``,
    sized for print; ``fmt`` is png (300 dpi), pdf or svg. The paths written, in report order.
    A figure that cannot be drawn does not stop the others: they are written, then
    :class:`FigureExportError` names the failures."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown figure format {fmt!r} (choose from: {', '.join(FORMATS)})")
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    failures: dict[str, str] = {}
    for drawing in _drawings(view):
        try:
            built = drawing.draw()
            if len(built) != len(drawing.names):  # the names were counted without drawing
                raise RuntimeError(f"drew {len(built)} figures, expected {len(drawing.names)}")
        except Exception as error:  # as in the report: a broken figure costs only itself
            failures.update({name: f"{type(error).__name__}: {error}" for name in drawing.names})
            continue
        for name, fig in zip(drawing.names, built, strict=True):
            path = directory / f"{name}.{fmt}"
            try:
                save_figure(print_layout(fig), path, fmt)
                written.append(path)
            except Exception as error:
                failures[name] = f"{type(error).__name__}: {error}"
            finally:
                fig.clear()
    if failures:
        raise FigureExportError(failures, written)
    return written


def save_figure(fig: Figure, path: Path, fmt: str) -> None:
    """``fig`` as a file for print, at its size: fonts embedded as TrueType, no dates inside
    (the same figure writes the same bytes)."""
    with mpl.rc_context(_SAVE_RC):
        # The figure's own size, not a tight bounding box: the width is the column's exactly,
        # and the constrained layout already keeps every label and legend inside.
        fig.savefig(path, format=fmt, dpi=PNG_DPI, metadata=_METADATA[fmt])


# --- sizing for print --------------------------------------------------------------------------


def print_layout(fig: Figure) -> Figure:
    """``fig`` re-sized for a journal page, in place: one panel a single column
    (:data:`SINGLE_COLUMN` inches wide), several the full width (:data:`DOUBLE_COLUMN`); every
    text, tick label and legend entry at least :data:`MIN_FONT` points; notes under the figure
    wrapped to its width. The layout stays matplotlib's constrained layout."""
    axes = [ax for ax in fig.axes if ax.get_visible()]
    columns, rows = _grid(axes)
    width = SINGLE_COLUMN if columns == 1 else DOUBLE_COLUMN
    legend_outside = any(legend.get_visible() for legend in fig.legends)
    panel_width = (width - (LEGEND_ROOM if legend_outside else 0.0)) / columns
    aspect = SINGLE_ASPECT if columns == 1 else PANEL_ASPECT
    height = rows * min(MAX_PANEL_HEIGHT, max(MIN_PANEL_HEIGHT, panel_width * aspect))
    fig.set_size_inches(width, height)
    for text in fig.findobj(Text):
        if text.get_text() and text.get_fontsize() < MIN_FONT:
            text.set_fontsize(MIN_FONT)
    for ax in axes:  # ticks are made again at draw time: set their size, not just today's
        ax.tick_params(which="both", labelsize=max(MIN_FONT, _tick_size(ax)))
    for text in dict.fromkeys(fig.texts + _figure_labels(fig)):  # a label may be in both
        if len(text.get_text()) > 40:
            text.set_text(_unwrapped(text.get_text()))
            text.set_wrap(True)  # wrapped again to the figure's width at draw time
    return fig


def _unwrapped(note: str) -> str:
    """The notes under a figure without the line breaks of their screen width. Each note was
    filled to :data:`runner.report.figures.NOTE_WIDTH` characters (``textwrap.fill``), which
    breaks a line only where the next word would not fit: a line followed by a word that would
    have fitted ends its note, which keeps its own line."""
    lines = note.split("\n")
    out = lines[:1]
    for previous, line in zip(lines, lines[1:], strict=False):
        next_word = line.split(" ", 1)[0]
        if len(previous) + 1 + len(next_word) > figures.NOTE_WIDTH:
            out[-1] += " " + line
        else:
            out.append(line)
    return "\n".join(out)


def _grid(axes: Sequence[Any]) -> tuple[int, int]:
    """(columns, rows) of the visible panels."""
    if not axes:
        return 1, 1
    spec = axes[0].get_subplotspec()
    if spec is None:
        return 1, 1
    grid = spec.get_gridspec()
    used_columns = {ax.get_subplotspec().colspan.start for ax in axes}
    used_rows = {ax.get_subplotspec().rowspan.start for ax in axes}
    return min(grid.ncols, len(used_columns)), min(grid.nrows, len(used_rows))


def _tick_size(ax: Any) -> float:
    labels = ax.get_xticklabels() + ax.get_yticklabels()
    return max((label.get_fontsize() for label in labels), default=MIN_FONT)


def _figure_labels(fig: Figure) -> list[Text]:
    """The figure-level labels (the notes under a figure are its ``supxlabel``)."""
    return [
        text
        for text in (getattr(fig, "_supxlabel", None), getattr(fig, "_supylabel", None))
        if text is not None
    ]


# --- which figures the report draws ------------------------------------------------------------


def claims_in_report_order(items: Sequence[T], claims: Sequence[ClaimResult]) -> list[T]:
    """``items`` (one per claim, e.g. the claims themselves) in the order the report lists the
    claims: failed, inconclusive, then holding, spec order within each."""
    ranks = [_STATUS_RANK[_status(claim)] for claim in claims]
    return [item for _, item in sorted(zip(ranks, items, strict=True), key=lambda p: p[0])]


def _status(claim: ClaimResult) -> str:
    if claim.holds:
        return "holds"
    return "inconclusive" if claim.verdict == "INCONCLUSIVE" else "failed"


def overview_series_part(figure: Any) -> dict[str, Any]:
    """A spec's overview ``figures`` entry as the series-figure dict the report draws."""
    return {
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


def draw_overview(view: RunView, figure: Any) -> Figure:
    """One of the spec's overview ``figures``, drawn as the report draws it."""
    if figure.observable is not None:
        return figures.observable_figure(figure, view.spec.observables, view.cells)
    return figures.series_figure(overview_series_part(figure), view.cells)


def claim_figure_count(claim: ClaimResult) -> int:
    """How many figures :func:`runner.report.figures.build_figures` draws for ``claim``
    (counted from its ``figure`` dict without drawing)."""
    spec = claim.figure or {}
    parts = [spec] if "kind" in spec else [spec.get("series"), spec.get("groups")]
    return sum(1 for part in parts if part)


def slug(text: str, limit: int = 40) -> str:
    """``text`` as a lower-case file-name part: letters and digits, runs of anything else one
    ``-``; at most ``limit`` characters, cut at a ``-`` where possible."""
    words = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if len(words) > limit:
        cut = words[:limit]
        words = cut.rsplit("-", 1)[0] if "-" in cut[limit // 2 :] else cut
    return words.strip("-")


def _drawings(view: RunView) -> list[_Drawing]:
    """The report's figures in its order, named (see the module docstring)."""
    drawings: list[_Drawing] = []
    taken: set[str] = set()
    for number, figure in enumerate(getattr(view.spec, "figures", None) or [], start=1):
        words = slug(str(figure.title))
        name = _unique(f"overview-{number}" + (f"-{words}" if words else ""), taken)
        drawings.append(_Drawing((name,), lambda figure=figure: [draw_overview(view, figure)]))
    # Named in spec order (a name never depends on a verdict), listed in the report's order.
    by_claim: list[_Drawing | None] = []
    for claim in view.claims:
        count = claim_figure_count(claim)
        names = tuple(
            _unique(f"claim-{claim.id}" + (f"-{index + 1}" if index else ""), taken)
            for index in range(count)
        )
        draw = lambda claim=claim: figures.build_figures(claim, view.cells)  # noqa: E731
        by_claim.append(_Drawing(names, draw) if count else None)
    drawings.extend(d for d in claims_in_report_order(by_claim, view.claims) if d is not None)
    return drawings


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``... when taken: claim ``a`` with two figures and
    claim ``a-2`` would both be ``claim-a-2``. Compared without case (macOS, Windows)."""
    candidate, n = name, 1
    while candidate.lower() in taken:
        n += 1
        candidate = f"{name}_{n}"
    taken.add(candidate.lower())
    return candidate
