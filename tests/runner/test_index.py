"""The runs of an out folder (runner/report/index.py): ``<out>/index.html``, the previous run of a
run, the report's "Since <run>" section, and what ``runner judge`` prints and keeps. One folder
of copies of the stored regression_1d smoke run; one ``runner judge`` (no training).
"""

from __future__ import annotations

import contextlib
import io
import re
from types import SimpleNamespace

import pytest

from runner import cli, store
from runner.diff import PREVIOUS_CLAIMS, claim_changes
from runner.report import render_report
from runner.report.index import Since, previous_run
from runner.results import RunView
from runner.spec import Spec

from .test_diff import RUN, copy_run
from .test_report import SPEC


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> SimpleNamespace:
    """Five runs of regression_1d under one folder, oldest first: ``a`` (smoke, judged, with a
    report), ``other`` (profile default), ``unjudged`` (smoke, no claims.json), ``b`` (smoke,
    judged now with an edited claim: gd_spectral_bias PASS -> FAIL) and ``later`` (a spec
    named ``<b>other</b>``, to be escaped)."""
    out = tmp_path_factory.mktemp("reports")
    a = copy_run(out)
    (a / "report.html").write_text("<!DOCTYPE html><title>a</title>\n")
    other = copy_run(out, stamp="20261130T120000Z", profile="default")
    unjudged = copy_run(out, stamp="20261130T180000Z", status="running")
    (unjudged / "claims.json").unlink()
    b = copy_run(out, stamp="20261201T000000Z")
    later = copy_run(out, stamp="20261202T000000Z", spec_name="<b>other</b>")
    spec = (RUN / "spec.yaml").read_text()
    edited = re.sub(r"^    value: 0\.5\b", "    value: 1.0e+9", spec, count=1, flags=re.M)
    assert edited != spec
    (out / "edited.yaml").write_text(edited)
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = cli.main(["judge", str(b), "--spec", str(out / "edited.yaml")])
    return SimpleNamespace(
        out=out, a=a, other=other, unjudged=unjudged, b=b, later=later, code=code, stdout=stdout
    )


def test_judge_prints_the_verdict_changes_and_keeps_the_previous_claims(folder):
    lines = folder.stdout.getvalue().splitlines()
    assert folder.code == cli.EXIT_CLAIM_FAILED
    start = lines.index(f"1 verdict changed since the previous judgement ({PREVIOUS_CLAIMS}):")
    assert lines[start + 1] == "  gd_spectral_bias: PASS -> FAIL (margin 1.81 -> -1)"
    assert lines[-1].startswith("4 failed, 6 passed in ")  # the summary line stays last
    kept = folder.b / PREVIOUS_CLAIMS
    assert kept.read_bytes() == (RUN / "claims.json").read_bytes()
    verdicts = {c.id: c.verdict for c in store.read_claims(folder.b)}
    assert verdicts["gd_spectral_bias"] == "FAIL"


def test_the_previous_run_is_the_latest_earlier_judged_one_of_its_spec_and_profile(folder):
    assert previous_run(folder.b).run_dir == folder.a  # not `other` (profile), not `unjudged`
    assert previous_run(folder.unjudged).run_dir == folder.a
    assert previous_run(folder.a) is None  # the earliest
    assert previous_run(folder.later) is None  # another spec
    assert previous_run(folder.other) is None  # the only run with its profile


def test_the_report_links_the_previous_run_and_shows_its_verdict_changes(folder):
    html = (folder.b / "report.html").read_text()
    since = re.search(r'<div class="since changed" id="since-previous">(.*?)</div>', html, re.S)
    assert since, "no Since section"
    text = since.group(1)
    (link,) = re.findall(r'href="(\.\./[^"]+)"', text)
    assert (folder.b / link).resolve() == (folder.a / "report.html").resolve()
    assert f">{folder.a.name}</a>" in text
    assert "(the previous run of regression_1d, profile smoke)" in text
    assert (
        'href="#claim-gd_spectral_bias"' in text
        and "PASS -&gt; FAIL (margin 1.81 -&gt; -1)" in text
    )
    assert "gn_uniform_rate" not in text  # only the claims whose verdict changed
    (index,) = re.findall(r'<a href="([^"#]+)">all runs</a>', html)
    assert (folder.b / index).resolve() == (folder.out / "index.html").resolve()


def test_the_index_lists_every_run_with_its_counts_and_a_working_link(folder, capsys):
    html = (folder.out / "index.html").read_text()
    row = r'<tr class="run-row" id="[^"]+" data-run="([^"]+)">(.*?)</tr>'
    rows = dict(re.findall(row, html, re.S))
    names = [folder.later.name, folder.b.name, folder.unjudged.name, folder.other.name]
    assert list(rows) == [*names, folder.a.name]  # newest first, every run
    for name, row in rows.items():
        for link in re.findall(r'href="([^"#]+)"', row):
            assert (folder.out / link).resolve() == (folder.out / name / "report.html").resolve()
            assert (folder.out / link).is_file()
    b, a = rows[folder.b.name], rows[folder.a.name]
    assert ">6 hold<" in b and ">4 failed<" in b and "of 10" in b
    assert ">7 hold<" in a and ">3 failed<" in a
    assert f'href="{folder.b.name}/report.html"' in b and f'href="{folder.a.name}/report.html"' in a
    assert "2026-12-01 00:00:00 UTC" in b and "865d1b9a3c89" in b and ">smoke<" in b
    link = f'<a href="#run-{folder.a.name}" title="{folder.a.name}">2026-11-30 06:19:47 UTC</a>'
    assert f"since {link}" in b
    for anchor in re.findall(r'href="#([^"]+)"', html):  # each row links its previous one
        assert f'id="{anchor}"' in html
    assert "<code>gd_spectral_bias</code> PASS -&gt; FAIL" in b
    assert "not judged" in rows[folder.unjudged.name] and ">running<" in rows[folder.unjudged.name]
    assert "(no report)" in rows[folder.later.name]
    assert "&lt;b&gt;other&lt;/b&gt;" in html and "<b>other</b>" not in html
    assert cli.main(["ls", "--out", str(folder.out)]) == cli.EXIT_OK
    assert capsys.readouterr().out.splitlines()[-1] == f"index: {folder.out / 'index.html'}"


def _view() -> RunView:
    return RunView(
        spec=Spec.model_validate(SPEC),
        spec_text="",
        resolved_text="",
        manifest={"run_id": "r"},
        env={},
        cells=[],
        claims=[],
    )


def test_a_first_run_and_an_unchanged_run_say_so():
    first = render_report(_view(), Since(spec_name="example", profile="smoke"))
    assert "The first judged run of example with profile smoke in this folder" in first
    same = Since("example", "smoke", previous="run_0", link="../run_0/report.html")
    same.changes = claim_changes([], [])
    html = render_report(_view(), same)
    assert re.search(r'id="since-previous">.*?run_0</a>.*?no verdict changed\.', html, re.S)
    assert 'class="since changed"' not in html
    assert "all runs" not in render_report(_view())  # outside an out folder: no links out
