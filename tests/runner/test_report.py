"""The HTML report and junit XML rendered from a synthetic run (no training)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from html.parser import HTMLParser

import numpy as np
import pytest

from runner import report
from runner.report import build_figures, figure_svg, render_junit, render_report
from runner.results import CellResult, ClaimResult, Evidence, RunView
from runner.spec import Spec

SPEC = {
    "name": "example",
    "description": "GN decays all modes uniformly; GD shows spectral bias.",
    "paper": "Fig. 3",
    "task": {"kind": "regression_1d"},
    "model": {"kind": "mlp", "hidden": [80]},
    "optimizers": {
        "gd": {"kind": "gd", "learning_rate": 0.01},
        "gn": {"kind": "gn", "learning_rate": 0.01, "eps": 1e-6},
    },
    "train": {"steps": 100, "eval_every": 10},
    "metrics": [{"kind": "fft_error", "modes": 11}],
    "observables": {"rates": {"kind": "decay_rate", "metric": "fft_error", "window": [10, 90]}},
    "claims": [
        {
            "id": "gn_uniform",
            "kind": "uniform_across",
            "observable": "rates",
            "where": {"optimizer": "gn"},
            "max": 2.0,
        }
    ],
}
MODES = [str(k) for k in range(11)]
SVG_NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


def _cell(optimizer: str, seed: int, rate: float, status: str = "finished", **kw) -> CellResult:
    steps = np.arange(0, 101, 10)
    if status == "error":
        return CellResult(
            cell_id=f"{optimizer}_s{seed}",
            optimizer=optimizer,
            seed=seed,
            point={},
            status="error",
            error="Traceback (most recent call last):\n  ...\n"
            "FloatingPointError: \x1b[31mboom\x1b[0m",
            wall_seconds=0.4,
        )
    mode_rates = rate * (np.ones(11) if optimizer == "gn" else 1.0 / (1.0 + np.arange(11)))
    fft = 0.1 * np.exp(-np.outer(steps, mode_rates)) * (1 + 0.01 * seed)
    loss = np.exp(-rate * np.arange(100))
    diverged_at = None
    if status == "diverged":
        diverged_at = 60
        fft[7:] = np.nan
        loss[60:] = np.inf
    return CellResult(
        cell_id=f"{optimizer}_s{seed}",
        optimizer=optimizer,
        seed=seed,
        point={},
        status=status,
        eval_steps=steps,
        metrics={"fft_error": fft},
        groups={"fft_error": MODES},
        records={"loss": loss},
        diverged_at=diverged_at,
        wall_seconds=1.25,
        steps_done=60 if status == "diverged" else 100,
        **kw,
    )


SERIES = {
    "kind": "series",
    "metric": "fft_error",
    "selections": [
        {"label": "GD", "where": {"optimizer": "gd"}},
        {"label": "GN", "where": {"optimizer": "gn"}},
    ],
    "log_y": True,
    "window": [10, 90],
}
GROUPS = {
    "kind": "groups",
    "values": {"gn": {m: 0.01 for m in MODES}, "gd": {m: 0.01 / (1 + int(m)) for m in MODES}},
    "band": [0.005, 0.02],
    "ylabel": "rate per step",
}


def _claims() -> list[ClaimResult]:
    evidence = [
        Evidence("gn s0", {"ratio": 1.02, "rates": [0.01] * 11}, "gn_s0", True),
        Evidence("gn s1", {"ratio": 1.03}, "gn_s1", True),
    ]
    return [
        ClaimResult(
            id="gn_uniform",
            kind="uniform_across",
            verdict="PASS",
            expected="pass",
            expected_sentence="max/min of the GN decay rates is at most 2",
            observed_sentence="max/min is 1.03",
            statement="GN decays all modes at one rate <script>alert(1)</script>",
            margin=0.97,
            evidence=evidence,
            cells=["gn_s0", "gn_s1"],
            figure={"series": SERIES, "groups": GROUPS},
        ),
        ClaimResult(
            id="gd_bias",
            kind="uniform_across",
            verdict="FAIL",
            expected="pass",
            expected_sentence="max/min of the GD decay rates is at least 5",
            observed_sentence="max/min is 3.1",
            margin=-1.9,
            evidence=[Evidence("gd s0", {"ratio": 3.1}, "gd_s0", False)],
            figure={"series": SERIES},
        ),
        ClaimResult(
            id="lm_order",
            kind="ordering",
            verdict="INCONCLUSIVE",
            expected="pass",
            expected_sentence="GD >= LM >= GN in most modes",
            observed_sentence="no LM cells",
            reason="no cells match {optimizer: lm}",
        ),
        ClaimResult(
            id="stable_all",
            kind="stable",
            verdict="ERROR",
            expected="pass",
            expected_sentence="every cell finishes",
            observed_sentence="the claim could not be judged",
            reason="KeyError: 'loss'",
        ),
        ClaimResult(
            id="gd_uniform_control",
            kind="uniform_across",
            verdict="FAIL",
            expected="fail",
            expected_sentence="max/min of the GD decay rates is at most 2",
            observed_sentence="max/min is 11",
            margin=-9.0,
            figure={"groups": GROUPS},
        ),
        ClaimResult(
            id="gn_control_passed",
            kind="threshold",
            verdict="PASS",
            expected="fail",
            expected_sentence="GN final error above 1",
            observed_sentence="GN final error is 2",
            margin=1.0,
            figure={},
        ),
    ]


def make_view() -> RunView:
    """Five cells (one diverged, one errored) and six claims of every verdict."""
    cells = [
        _cell("gd", 0, 0.02),
        _cell("gd", 1, 0.02, status="diverged"),
        _cell("gn", 0, 0.05),
        _cell("gn", 1, 0.05),
        _cell("gn", 2, 0.05, status="error"),
    ]
    return RunView(
        spec=Spec.model_validate(SPEC),
        spec_text="name: example  # <b>verbatim</b>\n",
        resolved_text="name: example\ntrain: {steps: 100}\n",
        manifest={
            "run_id": "20260101T000000Z_example_abcdef12",
            "spec_name": "example",
            "spec_hash": "abcdef1234567890",
            "profile": "smoke",
            "overrides": ["train.steps=100"],
            "command": "runner run specs/example.yaml --profile smoke --set train.steps=100",
            "created": "2026-01-01T00:00:00Z",
            "finished": "2026-01-01T00:01:00Z",
            "status": "finished",
            "pgdlab_version": "0.1.0",
            "cells": [
                {
                    "cell_id": "gd_s0",
                    "wall_seconds": 3.0,
                    "compile_seconds": 0.6,
                    "eval_seconds": 0.3,
                },
                {
                    "cell_id": "gn_s0",
                    "wall_seconds": 1.0,
                    "compile_seconds": 0.2,
                    "eval_seconds": 0.1,
                },
                {"cell_id": "gn_s2", "wall_seconds": 0.4},
            ],
        },
        env={
            "git": {"commit": "0123456789abcdef", "dirty": True},
            "packages": {"jax": "0.10.0", "numpy": "2.1.0"},
            "python": "3.12.3",
            "platform": "Linux-x86_64",
            "jax_devices": ["CpuDevice(id=0)"],
            "threads": {"OMP_NUM_THREADS": "1"},
            "data_sources": [],
        },
        cells=cells,
        claims=_claims(),
    )


@pytest.fixture(scope="module")
def view() -> RunView:
    return make_view()


@pytest.fixture(scope="module")
def html(view: RunView) -> str:
    return render_report(view)


class _Recorder(HTMLParser):
    VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.stack: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes <{self.stack[-1:]}>"
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def test_html_parses_with_balanced_tags(html: str) -> None:
    parser = _Recorder()
    parser.feed(html)
    parser.close()
    assert parser.stack == []
    assert {"html", "head", "body", "table", "svg"} <= set(parser.tags)


def test_html_is_self_contained(html: str) -> None:
    urls = set(re.findall(r"https?://[^\s\"'<>)]*", html))
    assert urls <= SVG_NAMESPACES
    lowered = html.lower()
    for forbidden in ("<script", "<link", "<iframe", "<img", "@import", " src=", "url(http"):
        assert forbidden not in lowered
    for target in re.findall(r'href="([^"]*)"', html):
        assert target.startswith("#"), target


def test_every_claim_has_a_section_and_figures(html: str, view: RunView) -> None:
    sections = re.split(r'<section class="claim', html)[1:]
    by_id = {re.search(r'id="claim-([^"]+)"', s).group(1): s for s in sections}
    assert set(by_id) == {c.id for c in view.claims}
    for claim in view.claims:
        parts = claim.figure.keys() & {"series", "groups"}
        assert by_id[claim.id].count("<svg") == len(parts), claim.id
        assert "figure could not be drawn" not in by_id[claim.id]
    assert 'id="claim-lm_order"' in html
    assert "no cells match {optimizer: lm}" in html  # the INCONCLUSIVE reason
    assert "KeyError: &#39;loss&#39;" in html  # the ERROR reason


def test_svg_ids_are_unique(html: str) -> None:
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    for ref in re.findall(r'href="#([^"]+)"', html):
        assert ref in ids


def test_failures_come_first(html: str) -> None:
    table = html.split('<table class="claims">')[1].split("</table>")[0]
    order = re.findall(r'data-claim="([^"]+)"', table)
    assert order == [
        "gd_bias",
        "stable_all",
        "gn_control_passed",
        "lm_order",
        "gn_uniform",
        "gd_uniform_control",
    ]


def test_user_text_is_escaped(html: str) -> None:
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;verbatim&lt;/b&gt;" in html


def test_header_and_provenance(html: str) -> None:
    assert "2 of 6 claims failed, 1 inconclusive, 1 errored" in html
    assert "2 of 6 claims hold" in html
    assert "negative control: expected to fail; it failed, so it holds" in html
    assert "negative control: expected to fail; it passed, so it does not hold" in html
    assert "1 cell errored" in html and "gn_s2" in html
    assert "runner run specs/example.yaml --profile smoke --set train.steps=100" in html
    assert "0123456789abcdef (dirty" in html
    assert "abcdef1234567890" in html and "Fig. 3" in html and "train.steps=100" in html
    assert "CpuDevice(id=0)" in html and "OMP_NUM_THREADS" in html
    assert "FloatingPointError" in html  # the errored cell's message in the grid


def test_provenance_shows_the_compile_and_evaluation_share(html: str) -> None:
    # 4.4 s over three cells; of the two with timings (4 s): compile 0.8 s, evaluation 0.4 s
    assert (
        "4.4 s in 3 cells; compiling 0.8 s (20.0 %), evaluating 0.4 s (10.0 %) "
        "of the 2 cells that recorded timings"
    ) in html


def test_all_hold_headline(view: RunView) -> None:
    holding = [c for c in view.claims if c.holds]
    ok = replace(view, claims=holding, cells=view.cells[:4])
    page = render_report(ok)
    assert "ALL CLAIMS HOLD" in page
    assert "claims failed" not in page


def test_figures_handle_missing_data_and_escape_labels() -> None:
    claim = ClaimResult(
        id="x",
        kind="threshold",
        verdict="PASS",
        expected="pass",
        expected_sentence="e",
        observed_sentence="o",
        figure={
            "series": {**SERIES, "selections": [{"label": "cost $5 <b>", "where": {"seed": 9}}]},
            "groups": {"kind": "groups", "values": {"a": {"0": "nan", "1": None}}, "band": None},
        },
    )
    figures = build_figures(claim, [_cell("gn", 0, 0.05)])
    assert len(figures) == 2
    svg = figure_svg(figures[0], prefix="t-")
    assert svg.startswith("<svg") and "<b>" not in svg and "&lt;b&gt;" in svg
    assert "<?xml" not in svg and "DOCTYPE" not in svg and "metadata" not in svg


def test_single_group_series_colours_cells() -> None:
    spec = {"kind": "series", "metric": "loss", "selections": [{"label": "all", "where": {}}]}
    cells = [_cell("gd", 0, 0.02), _cell("gd", 1, 0.02), _cell("gn", 0, 0.05)]
    (fig,) = build_figures(replace(_claims()[0], figure={"series": spec}), cells)
    (ax,) = fig.axes
    colours = [line.get_color() for line in ax.get_lines()]
    assert colours[0] == colours[1] != colours[2]  # seeds share a colour
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["gd", "gn"]


def test_broken_figure_does_not_break_the_report(view: RunView, monkeypatch) -> None:
    def boom(spec, cells):
        raise ValueError("bad figure spec")

    monkeypatch.setattr(report.figures, "series_figure", boom)
    page = render_report(view)
    assert "figure could not be drawn: ValueError: bad figure spec" in page


def test_report_is_deterministic(view: RunView, html: str) -> None:
    assert render_report(view) == html


def test_junit(view: RunView) -> None:
    root = ET.fromstring(render_junit(view))
    assert root.tag == "testsuite"
    assert root.get("name") == "example"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "6",
        "2",
        "1",
        "1",
    )
    cases = {case.get("name"): case for case in root.iter("testcase")}
    assert set(cases) == {c.id for c in view.claims}
    assert all(case.get("classname") == "pgdlab.example" for case in cases.values())
    assert [child.tag for child in cases["gd_bias"]] == ["properties", "failure"]
    failure = cases["gd_bias"].find("failure")
    assert "at least 5" in failure.text and "3.1" in failure.text
    assert [child.tag for child in cases["gn_control_passed"]] == ["properties", "failure"]
    assert [child.tag for child in cases["stable_all"]] == ["properties", "error"]
    skipped = cases["lm_order"].find("skipped")
    assert skipped.get("message") == "INCONCLUSIVE: no cells match {optimizer: lm}"
    assert [child.tag for child in cases["gn_uniform"]] == ["properties"]
    assert [child.tag for child in cases["gd_uniform_control"]] == ["properties"]
    props = {p.get("name"): p.get("value") for p in cases["gd_bias"].iter("property")}
    assert props == {"verdict": "FAIL", "margin": "-1.9", "fragile": "false"}


def _accuracy_cell(optimizer: str, alpha: float, t_train: int, t_test: int | None) -> CellResult:
    steps = np.arange(0, 1001, 10)

    def step(t: int) -> np.ndarray:
        return (steps >= t).astype(float)

    return CellResult(
        cell_id=f"{optimizer}_a{alpha:g}",
        optimizer=optimizer,
        seed=0,
        point={"model.alpha": alpha},
        status="finished",
        eval_steps=steps,
        metrics={
            "train_accuracy": step(t_train),
            "accuracy": step(t_test) if t_test is not None else np.zeros(steps.size),
        },
        groups={},
        records={"loss": np.ones(1000)},
        steps_done=1000,
    )


def test_series_figure_draws_several_metrics_with_line_styles_on_a_log_axis() -> None:
    """Fig. 5 style: train solid, test dotted, one colour per alpha, log step axis."""
    cells = [_accuracy_cell("sgd", a, 100, 200 * a) for a in (1.0, 2.0)]
    spec = {
        "kind": "series",
        "metric": ["train_accuracy", "accuracy"],
        "selections": [{"label": "SGD", "where": {"optimizer": "sgd"}}],
        "log_x": True,
    }
    fig = report.series_figure(spec, cells)
    ax = fig.axes[0]
    styles = [(line.get_color(), line.get_linestyle()) for line in ax.get_lines()]
    assert [s for _, s in styles] == ["-", ":", "-", ":"]
    assert styles[0][0] == styles[1][0] != styles[2][0]  # a colour per alpha, shared by metrics
    assert ax.get_xscale() == "log"
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["train_accuracy", "accuracy"]


def test_observable_figure_plots_against_the_axis_and_lists_missing_values() -> None:
    spec = Spec.model_validate(
        {
            "name": "grok",
            "task": {"kind": "modular_addition", "modulus": 5},
            "model": {"kind": "mlp", "hidden": [4]},
            "optimizers": {"sgd": {"kind": "gd", "learning_rate": 1.0}},
            "train": {"steps": 1000, "eval_every": 10},
            "metrics": [{"kind": "accuracy", "on": "train"}, {"kind": "accuracy"}],
            "sweep": {"grid": {"model.alpha": [1.0, 2.0, 4.0]}},
            "observables": {
                "t_train": {"kind": "crossing", "metric": "train_accuracy", "above": 0.95},
                "t_test": {"kind": "crossing", "metric": "accuracy", "above": 0.9},
                "delay": {"kind": "delay", "start": "t_train", "end": "t_test"},
            },
            "figures": [
                {
                    "title": "delay against alpha",
                    "observable": "delay",
                    "axis": "model.alpha",
                    "panels": [{"label": "SGD", "where": {"optimizer": "sgd"}}],
                }
            ],
        }
    )
    cells = [_accuracy_cell("sgd", 1.0, 100, 200), _accuracy_cell("sgd", 2.0, 100, 500)]
    cells.append(_accuracy_cell("sgd", 4.0, 100, None))
    fig = report.observable_figure(spec.figures[0], spec.observables, cells)
    ax = fig.axes[0]
    (line,) = ax.get_lines()
    xs, ys = line.get_data()
    assert list(xs) == [1.0, 2.0, 4.0]
    assert list(ys[:2]) == [100.0, 400.0] and np.isnan(ys[2])
    assert "missing (no value, not drawn): SGD at model.alpha=4" in fig.get_supxlabel()


def test_figure_spec_needs_one_of_metric_and_observable() -> None:
    base = {"title": "t", "panels": [{"label": "all"}]}
    from runner.spec import FigureSpec

    with pytest.raises(ValueError, match="exactly one of"):
        FigureSpec.model_validate(base)
    with pytest.raises(ValueError, match="needs 'axis'"):
        FigureSpec.model_validate({**base, "observable": "delay"})


def test_series_figure_seed_bands_and_marks() -> None:
    """Fig. 13 style: three seeds drawn as their median with the min-max range shaded; Fig. 7
    style: a vertical bar at the switch step."""
    cells = [
        replace(_accuracy_cell("adamw", 8.0, 100, t), seed=s, cell_id=f"adamw_s{s}")
        for s, t in enumerate((300, 400, 600))
    ]
    spec = {
        "kind": "series",
        "metric": ["train_accuracy", "accuracy"],
        "selections": [{"label": "AdamW", "where": {"optimizer": "adamw"}}],
        "marks": [[500, "switch to AdamW"]],
        "seeds": "band",
    }
    fig = report.series_figure(spec, cells)
    ax = fig.axes[0]
    lines = [line for line in ax.get_lines() if line.get_linestyle() in ("-", ":")]
    data = [line for line in lines if len(line.get_xdata()) > 2]
    assert len(data) == 2  # one median line per metric, not one per seed
    test_median = [line for line in data if line.get_linestyle() == ":"][0]
    steps = np.asarray(test_median.get_xdata())
    assert np.asarray(test_median.get_ydata())[steps == 450][0] == 1.0  # 2 of 3 seeds are up
    assert len(ax.collections) == 2  # a shaded band per metric
    assert any(list(line.get_xdata()) == [500, 500] for line in ax.get_lines())
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "switch to AdamW" in legend


# --- fragile verdicts, margins with their noise, INCONCLUSIVE in its own words -----------------


def _fragile_view() -> RunView:
    fragile = ClaimResult(
        id="adam_weights_grow",
        kind="threshold",
        verdict="PASS",
        expected="pass",
        expected_sentence="the weight norm ratio is > 1",
        observed_sentence="Observed 1.0005 (median over 3 seeds, 95% CI [0.99, 1.01]), > 1.",
        margin=0.0005,
        noise=0.01,
        fragile=True,
        fragile_reason="margin 0.0005 inside noise 0.01",
    )
    single = ClaimResult(
        id="one_seed",
        kind="threshold",
        verdict="PASS",
        expected="pass",
        expected_sentence="e",
        observed_sentence="Observed 2 (median over 1 seed), > 1.",
        observed={"noise_unknown": "1 seed"},
        margin=1.0,
    )
    clear = replace(single, id="clear", noise=0.1, observed={})
    inconclusive = ClaimResult(
        id="ratio_against_zero",
        kind="compare",
        verdict="INCONCLUSIVE",
        expected="pass",
        expected_sentence="e",
        observed_sentence="Not judged: the right-hand value is not positive.",
        reason="the right-hand value is not positive",
    )
    return replace(make_view(), claims=[fragile, single, clear, inconclusive])


def _section(page: str, claim_id: str) -> str:
    return page.split(f'id="claim-{claim_id}"')[1].split("</section>")[0]


def test_a_fragile_verdict_has_a_badge_its_reason_and_its_noise() -> None:
    page = render_report(_fragile_view())
    header = _section(page, "adam_weights_grow").split("</h3>")[0]
    assert '<span class="badge fragile">fragile</span>' in header
    assert "margin 0.0005 inside noise 0.01" in header
    assert "margin 0.0005 ± 0.01" in header
    row = page.split('data-claim="adam_weights_grow"')[1].split("</tr>")[0]
    assert "fragile" in row and "0.0005 ± 0.01" in row
    assert "1 fragile verdict (margin inside its noise" in page
    clear = _section(page, "clear").split("</h3>")[0]
    assert "fragile" not in clear and "margin 1 ± 0.1" in clear


def test_unknown_noise_says_so() -> None:
    page = render_report(_fragile_view())
    assert "margin 1 (noise unknown (1 seed))" in _section(page, "one_seed")


def test_inconclusive_never_reads_as_does_not_hold() -> None:
    view = _fragile_view()
    page = render_report(view)
    section = _section(page, "ratio_against_zero")
    assert "does not hold" not in section and "inconclusive" in section
    row = page.split('data-claim="ratio_against_zero"')[1].split("</tr>")[0]
    assert ">inconclusive<" in row and ">no<" not in row
    control = replace(view.claims[3], id="control", expected="fail")
    page = render_report(replace(view, claims=[control]))
    assert "it was inconclusive (not judged either way)" in page
    assert "does not hold" not in _section(page, "control")


def test_junit_marks_fragile_claims() -> None:
    root = ET.fromstring(render_junit(_fragile_view()))
    cases = {case.get("name"): case for case in root.iter("testcase")}
    props = {p.get("name"): p.get("value") for p in cases["adam_weights_grow"].iter("property")}
    assert props == {"verdict": "PASS", "margin": "0.0005", "noise": "0.01", "fragile": "true"}
    out = cases["adam_weights_grow"].find("system-out").text
    assert "fragile: margin 0.0005 inside noise 0.01" in out
    assert "margin: 0.0005 ± 0.01" in out
    assert cases["clear"].find("system-out") is None
    one_seed = {p.get("name"): p.get("value") for p in cases["one_seed"].iter("property")}
    assert one_seed["fragile"] == "false" and "noise" not in one_seed
    skipped = cases["ratio_against_zero"].find("skipped")
    assert skipped.get("message").startswith("INCONCLUSIVE: ")


def _delay_spec() -> Spec:
    return Spec.model_validate(
        {
            "name": "grok",
            "task": {"kind": "modular_addition", "modulus": 5},
            "model": {"kind": "mlp", "hidden": [4]},
            "optimizers": {
                "adamw": {"kind": "adamw", "learning_rate": 1e-3},
                "adam": {"kind": "adam", "learning_rate": 1e-3},
                "lm": {"kind": "lm", "learning_rate": 0.1, "damping": 0.1},
            },
            "train": {"steps": 1000, "eval_every": 10},
            "metrics": [{"kind": "accuracy", "on": "train"}, {"kind": "accuracy"}],
            "sweep": {"grid": {"model.alpha": [2.0, 8.0]}},
            "observables": {
                "t_train": {"kind": "crossing", "metric": "train_accuracy", "above": 0.95},
                "t_test": {"kind": "crossing", "metric": "accuracy", "above": 0.8},
                "delay": {"kind": "delay", "start": "t_train", "end": "t_test"},
            },
            "figures": [
                {
                    "title": "Grokking delay against alpha",
                    "observable": "delay",
                    "axis": "model.alpha",
                    "panels": [
                        {"label": "AdamW", "where": {"optimizer": "adamw"}},
                        {"label": "Adam", "where": {"optimizer": "adam"}},
                        {"label": "LM", "where": {"optimizer": "lm"}},
                    ],
                }
            ],
        }
    )


def test_delay_figure_draws_zero_and_negative_delays_and_lists_every_point() -> None:
    """The user's report: on a log axis AdamW's delay 0 became a cliff, LM's -10 vanished, and
    the panel listed only the Adam cells as missing."""
    spec = _delay_spec()
    cells = [
        _accuracy_cell("adamw", 2.0, 100, 100),  # delay 0
        _accuracy_cell("adamw", 8.0, 100, 560),  # delay 460
        _accuracy_cell("adam", 2.0, 100, None),  # never generalises
        _accuracy_cell("adam", 8.0, 100, None),
        _accuracy_cell("lm", 2.0, 20, 10),  # delay -10
        _accuracy_cell("lm", 8.0, 20, 70),  # delay 50
    ]
    fig = report.observable_figure(spec.figures[0], spec.observables, cells)
    ax = fig.axes[0]
    assert ax.get_yscale() == "symlog"  # not log: 0 and -10 are drawn where they are
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["AdamW"].get_ydata()) == [0.0, 460.0]
    assert list(lines["LM"].get_ydata()) == [-10.0, 50.0]
    note = fig.get_supxlabel().replace("\n", " ")
    assert "AdamW at model.alpha=2: 0" in note and "LM at model.alpha=2: -10" in note
    assert "missing (no value, not drawn): Adam at model.alpha=2; Adam at model.alpha=8" in note
    assert "linear within ±10" in note
    svg = figure_svg(fig, prefix="d-")
    assert "AdamW at model.alpha=2: 0" in svg  # the notes are in the page, as text


def test_a_log_series_with_zeros_uses_a_symlog_axis() -> None:
    cell = _cell("gd", 0, 0.02)
    cell.metrics["fft_error"][-3:, 0] = 0.0  # mode 0's error reaches exactly 0
    spec = {**SERIES, "selections": [{"label": "GD", "where": {"optimizer": "gd"}}]}
    fig = report.series_figure(spec, [cell])
    assert fig.axes[0].get_yscale() == "symlog"
    assert "symlog axis: values <= 0 drawn in place" in fig.get_supxlabel()
    mode0 = fig.axes[0].get_lines()[0]
    assert np.asarray(mode0.get_ydata())[-1] == 0.0  # drawn, not masked
    positive = report.series_figure(spec, [_cell("gd", 0, 0.02)])
    assert positive.axes[0].get_yscale() == "log"
