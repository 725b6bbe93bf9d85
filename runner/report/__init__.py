"""The report of one run: a self-contained HTML page and a junit XML file.

- :mod:`~runner.report.html`: :func:`render_report` turns a :class:`~runner.results.RunView`
  into one HTML file that opens offline (inline CSS and SVG, no scripts).
- :mod:`~runner.report.figures` (with :mod:`~runner.report.series`): the figures of claims and
  of the spec's overview, drawn with matplotlib and inlined as ``<svg>``; the figure contract is
  written there.
- :mod:`~runner.report.junit`: :func:`render_junit`, one ``<testcase>`` per claim for CI.
- :mod:`~runner.report.common`: values as text (numbers through :mod:`runner.text`) and claim
  counts, shared by the page and the junit file.
"""

from __future__ import annotations

from runner.report.figures import (
    build_figures,
    figure_svg,
    groups_figure,
    observable_figure,
    series_figure,
)
from runner.report.html import TEMPLATES, render_report
from runner.report.junit import render_junit

__all__ = [
    "TEMPLATES",
    "build_figures",
    "figure_svg",
    "groups_figure",
    "observable_figure",
    "render_junit",
    "render_report",
    "series_figure",
]
