"""Figures for a paper: ``runner report RUN --figures DIR --format png|pdf|svg`` and
:mod:`runner.report.export` (names, print sizes, file formats), on a copy of the stored
regression_1d smoke run with an overview figure added to its spec."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import struct
import textwrap
from pathlib import Path

import pytest
from matplotlib.text import Text

from runner import cli
from runner.report import export
from runner.report.figures import build_figures
from runner.run import load_view

STORED_RUN = Path(__file__).parent / "data" / "regression_1d_smoke_run"

OVERVIEW = """
figures:
  - title: "Loss per optimizer (Fig. 3)"
    metric: mse
    panels:
      - {label: GD, where: {optimizer: gd}}
      - {label: GN, where: {optimizer: gn}}
"""

MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-", "svg": b"<svg"}


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """The stored run, its spec given one overview figure (the report draws it first)."""
    copy = tmp_path / "run"
    shutil.copytree(STORED_RUN, copy)
    spec = copy / "spec.yaml"
    spec.write_text(spec.read_text() + OVERVIEW)
    return copy


@pytest.fixture
def view(run_dir: Path):
    return load_view(run_dir)


def _expected_names(view) -> list[str]:
    """What the names must be, spelt out: the overview, then the claims failed first (the
    report's order), each claim's figures numbered from its second."""
    names = ["overview-1-loss-per-optimizer-fig-3"]
    failed = [c for c in view.claims if not c.holds]
    holding = [c for c in view.claims if c.holds]
    for claim in failed + holding:
        count = len(build_figures(claim, []))  # the fixture's claims: series + groups, or none
        names += [f"claim-{claim.id}", f"claim-{claim.id}-2"][:count]
    return names


def test_report_figures_writes_every_figure_of_the_report(run_dir, tmp_path, capsys):
    # three claims (one failed, one holding, one without a figure) keep the test in seconds
    stored = json.loads((run_dir / "claims.json").read_text())
    keep = ("gn_uniform_rate", "gn_clears_every_mode", "all_cells_stable")
    stored["claims"] = [c for c in stored["claims"] if c["id"] in keep]
    (run_dir / "claims.json").write_text(json.dumps(stored))
    out = tmp_path / "figures"
    code = cli.main(["report", str(run_dir), "--figures", str(out), "--format", "svg"])
    printed = capsys.readouterr().out
    assert code == cli.EXIT_OK
    view = load_view(run_dir)
    names = export.figure_names(view)
    assert names == _expected_names(view)
    # as many files as the re-rendered page has figures, each one an SVG document
    in_report = (run_dir / "report.html").read_text().count('<svg class="figure"')
    files = sorted(out.iterdir())
    assert len(files) == len(names) == in_report == 5
    assert {f.name for f in files} == {f"{name}.svg" for name in names}
    for path in files:
        assert MAGIC["svg"] in path.read_bytes()[:400], path
    assert re.findall(r"^figure: (.+)$", printed, re.M) == [str(out / f"{n}.svg") for n in names]
    assert f"{len(names)} figure(s) written to {out} (svg)" in printed


@pytest.mark.parametrize("fmt", ["png", "pdf"])
def test_export_writes_valid_files_sized_for_print(view, tmp_path, fmt):
    one_claim = dataclasses.replace(view, claims=[c for c in view.claims if c.figure][:1])
    written = export.export_figures(one_claim, tmp_path, fmt)
    assert [p.name for p in written] == [f"{n}.{fmt}" for n in export.figure_names(one_claim)]
    for path in written:
        data = path.read_bytes()
        assert data.startswith(MAGIC[fmt]), path
        if fmt == "png":  # 300 dpi: a 3.5 in (one panel) to 7 in (several) wide figure
            width = struct.unpack(">I", data[16:20])[0]
            assert 0.8 * 3.5 * 300 < width < 7.2 * 300, width
        else:  # fonts embedded as TrueType (Type 42), never Type 3
            assert b"/FontFile2" in data and b"/Type3" not in data


def test_print_layout_sizes_columns_and_fonts(view):
    names = export.figure_names(view)
    for name in (names[0], "claim-gn_uniform_rate", "claim-gn_uniform_rate-2"):
        fig = export.draw_figure(view, name, for_print=True)
        width = fig.get_size_inches()[0]
        panels = [ax for ax in fig.axes if ax.get_visible()]
        assert width == (export.SINGLE_COLUMN if len(panels) == 1 else export.DOUBLE_COLUMN)
        sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text()]
        sizes += [ax.xaxis.get_major_ticks()[0].label1.get_fontsize() for ax in panels]
        assert sizes and min(sizes) >= export.MIN_FONT, (name, min(sizes))
        assert any(ax.get_xlabel() for ax in panels) and any(ax.get_ylabel() for ax in panels)
    # the screen version is the report's own size: small fonts, unchanged
    screen = export.draw_figure(view, "claim-gn_uniform_rate-2")
    assert min(t.get_fontsize() for t in screen.findobj(Text) if t.get_text()) < export.MIN_FONT


def test_names_never_depend_on_verdicts_and_never_collide(view):
    names = export.figure_names(view)
    flipped = [
        dataclasses.replace(c, verdict="FAIL" if c.holds else "PASS", expected="pass")
        for c in view.claims
    ]
    reordered = export.figure_names(dataclasses.replace(view, claims=flipped))
    assert sorted(reordered) == sorted(names) and reordered != names
    # claim "a" (two figures: claim-a, claim-a-2) next to claim "a-2" and claim "A"
    template = next(c for c in view.claims if c.figure)
    clashing = [dataclasses.replace(template, id=i) for i in ("a", "a-2", "A")]
    unique = export.figure_names(dataclasses.replace(view, claims=clashing))
    assert len({n.lower() for n in unique}) == len(unique) == 7
    assert unique[1:3] == ["claim-a", "claim-a-2"]
    assert export.slug("Loss (log) / step — GN vs. GD!") == "loss-log-step-gn-vs-gd"


def test_an_unknown_figure_name_lists_the_valid_ones(view):
    with pytest.raises(ValueError, match=r"no figure 'claim-gn_uniform'; did you mean") as error:
        export.draw_figure(view, "claim-gn_uniform")
    assert "claim-gn_uniform_rate-2" in str(error.value)
    with pytest.raises(ValueError, match="choose from: png, pdf, svg"):
        export.export_figures(view, Path("unused"), "jpg")


def test_a_figure_that_cannot_be_drawn_costs_only_itself(view, tmp_path, monkeypatch):
    def broken(claim, cells):
        raise RuntimeError("no such metric")

    monkeypatch.setattr(export.figures, "build_figures", broken)
    with pytest.raises(export.FigureExportError) as error:
        export.export_figures(view, tmp_path, "svg")
    assert [p.name for p in error.value.written] == ["overview-1-loss-per-optimizer-fig-3.svg"]
    assert error.value.failures["claim-gn_uniform_rate-2"] == "RuntimeError: no such metric"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--figures", "{out}", "--format", "jpg"], "--format 'jpg': not a figure format"),
        (["--format", "png"], "--format is the format of --figures DIR"),
    ],
)
def test_report_figures_usage_errors(run_dir, tmp_path, capsys, extra, message):
    args = [a.replace("{out}", str(tmp_path / "f")) for a in extra]
    assert cli.main(["report", str(run_dir), *args]) == cli.EXIT_USAGE
    assert message in capsys.readouterr().err
    assert not (run_dir / "report.html").exists()  # nothing re-rendered on a usage error


def test_report_figures_needs_a_run_directory(tmp_path, capsys):
    code = cli.main(["report", str(tmp_path), "--figures", str(tmp_path / "f")])
    assert code == cli.EXIT_USAGE
    assert f"{tmp_path}: not a run directory (no manifest.json)" in capsys.readouterr().err


def test_notes_under_a_figure_are_wrapped_to_the_print_width():
    from matplotlib.figure import Figure

    from runner.report.figures import NOTE_WIDTH

    notes = [
        "symlog axis (linear within ±1), <= 0: "
        + "; ".join(f"GD at alpha={a}: 0" for a in range(6)),
        "missing (no value, not drawn): LM at alpha=4 (seed 2)",
    ]
    fig = Figure(figsize=(4.5, 3.2), layout="constrained")
    fig.add_subplot().plot([0, 1])
    fig.supxlabel("\n".join(textwrap.fill(note, NOTE_WIDTH) for note in notes), fontsize=6.5)
    assert fig.get_supxlabel().count("\n") == 2  # the first note filled on two screen lines
    export.print_layout(fig)
    assert fig.get_supxlabel() == "\n".join(notes)  # one line a note, wrapped when drawn
    assert fig.findobj(lambda t: isinstance(t, Text) and t.get_text() == "\n".join(notes))[
        0
    ].get_wrap()
