"""runner/scales.py and ``runner results``: summaries collected into results/, the page built
from them alone, and the committed docs/results.md in step with the committed results/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from runner import scales
from runner.cli import main

ROOT = Path(__file__).resolve().parents[2]
STORED = Path(__file__).parent / "data" / "regression_1d_smoke_run"


def _run_copy(tmp_path: Path, name: str, *, profile: str, created: str, **edits) -> Path:
    """The stored smoke run as a run of ``profile`` created at ``created``, claims edited."""
    run = tmp_path / "runs" / name
    shutil.copytree(STORED, run)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest.update(run_id=name, profile=profile, created=created)
    (run / "manifest.json").write_text(json.dumps(manifest))
    claims = json.loads((run / "claims.json").read_text())
    for claim in claims["claims"]:
        claim.update(edits.get(claim["id"], {}))
    (run / "claims.json").write_text(json.dumps(claims))
    return run


def test_committed_page_is_in_step_with_committed_results():
    """docs/results.md is generated: rebuild it with ``runner results`` after collecting runs."""
    page = scales.render_markdown(ROOT / "results", source="results/")
    assert (ROOT / "docs" / "results.md").read_text() == page, "run: runner results"


def test_collect_copies_only_the_summaries(tmp_path):
    target = scales.collect(STORED, tmp_path / "results")
    run_id = "20261130T061947Z_regression_1d_92b9f884"  # the manifest's, not the folder's name
    assert target == tmp_path / "results" / "regression_1d" / "smoke" / run_id
    assert sorted(p.name for p in target.iterdir()) == sorted(scales.SUMMARY_FILES)


def test_page_has_a_column_per_profile_and_the_run_behind_each(tmp_path):
    results = tmp_path / "results"
    smoke = _run_copy(tmp_path, "r_smoke", profile="smoke", created="2026-11-29T10:00:00Z")
    default = _run_copy(
        tmp_path,
        "r_default",
        profile="default",
        created="2026-11-29T11:00:00Z",
        gn_uniform_rate={"verdict": "FAIL", "margin": -0.125, "fragile": True},
    )
    for run in (default, smoke):
        scales.collect(run, results)
    page = scales.render_markdown(results)
    header = next(line for line in page.splitlines() if line.startswith("| claim |"))
    # small to large, whatever the collect order
    assert header.endswith("| smoke | default | as the scale grows |")
    row = next(line for line in page.splitlines() if line.startswith("| `gn_uniform_rate`"))
    assert row.endswith("| PASS +0.45 | FAIL -0.12 fragile | - |")  # smoke is not evidence
    control = next(line for line in page.splitlines() if "`control_gd_uniform`" in line)
    assert "FAIL -inf control holds" in control
    assert "`results/regression_1d/default/r_default`" in page
    assert "865d1b9" in page  # the commit of the stored run, from its env.json


def test_newest_run_of_a_profile_wins(tmp_path):
    results = tmp_path / "results"
    old = _run_copy(tmp_path, "old", profile="default", created="2026-11-01T00:00:00Z")
    new = _run_copy(
        tmp_path,
        "new",
        profile="default",
        created="2026-11-02T00:00:00Z",
        gn_rate_is_lr={"verdict": "INCONCLUSIVE", "margin": None},
    )
    scales.collect(new, results)
    scales.collect(old, results)
    page = scales.render_markdown(results)
    assert "| `gn_rate_is_lr` | " in page
    assert next(line for line in page.splitlines() if "`gn_rate_is_lr`" in line).endswith(
        "| INCONCLUSIVE | - |"
    )
    assert "default/new`" in page and "default/old`" not in page


def test_runs_with_overrides_are_not_collected(tmp_path):
    run = tmp_path / "run"
    shutil.copytree(STORED, run)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["overrides"] = ["train.steps=5"]
    (run / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(scales.NotARunError, match="train.steps=5"):
        scales.collect(run, tmp_path / "results")


def test_machine_text_names_cores_and_processor(tmp_path):
    summary = scales.RunSummary.read(STORED)
    assert summary.machine() == "unknown"  # the stored run predates env.json's machine
    env = {**summary.env, "machine": {"processor": "AMD EPYC", "cpus": 2}}
    assert scales.RunSummary(STORED, summary.manifest, env, summary.claims).machine() == (
        "2 cores, AMD EPYC"
    )


def test_cli_collects_writes_and_checks(tmp_path, capsys):
    results, page = tmp_path / "results", tmp_path / "docs" / "results.md"
    paths = ["--results", str(results), "--page", str(page), "--reports", str(tmp_path / "r")]
    assert main(["results", *paths, "--check"]) == 1  # no page yet: out of date
    assert main(["results", *paths, "--collect", str(STORED)]) == 0
    assert "regression_1d" in page.read_text()
    assert main(["results", *paths, "--check"]) == 0
    page.write_text(page.read_text() + "hand edit\n")
    assert main(["results", *paths, "--check"]) == 1
    assert main(["results", *paths, "--collect", str(tmp_path)]) == 4
    assert "not a judged run directory" in capsys.readouterr().err


def _judged(verdict, margin, noise=None, expected="pass"):
    return {"verdict": verdict, "margin": margin, "noise": noise, "expected": expected}


def test_trend_compares_the_smallest_and_largest_evidence_runs():
    toward_pass = [("default", _judged("FAIL", -0.3, 0.05)), ("paper_cpu", _judged("PASS", 0.1))]
    assert scales.trend(toward_pass) == "toward PASS (FAIL -> PASS)"
    away = [
        ("default", _judged("PASS", 0.4)),
        ("big", _judged("PASS", 0.3)),
        ("paper", _judged("PASS", 0.1)),
    ]
    assert scales.trend(away) == "toward FAIL"
    within_noise = [("default", _judged("FAIL", -0.3, 0.2)), ("paper", _judged("FAIL", -0.2, 0.05))]
    assert scales.trend(within_noise) == "stays"
    smoke_ignored = [("smoke", _judged("PASS", 5.0)), ("default", _judged("FAIL", -0.3))]
    assert scales.trend(smoke_ignored) == "-"  # one evidence run: no trend
    no_margin = [("default", _judged("INCONCLUSIVE", None)), ("paper", _judged("PASS", 0.2))]
    assert scales.trend(no_margin) == "-"
    infinite = [("default", _judged("FAIL", "-inf")), ("paper", _judged("FAIL", "-inf"))]
    assert scales.trend(infinite) == "stays"


def test_answers_are_shown_under_their_spec_and_checked(tmp_path, capsys):
    results = tmp_path / "results"
    scales.collect(STORED, results)
    (results / "answers.yaml").write_text(
        "regression_1d:\n  gn_clears_every_mode: >-\n    Needs the 2 000 steps\n    of the paper.\n"
    )
    page = scales.render_markdown(results)
    assert "- `gn_clears_every_mode`: Needs the 2 000 steps of the paper." in page
    assert page.index("Is it the paper or the scale?") < page.index("| profile | run |")
    (results / "answers.yaml").write_text("regression_1d:\n  no_such_claim: text\n")
    with pytest.raises(scales.AnswersError, match="regression_1d.no_such_claim: no such claim"):
        scales.render_markdown(results)
    paths = ["--results", str(results), "--page", str(tmp_path / "page.md")]
    assert main(["results", *paths]) == 4
    assert "no such claim" in capsys.readouterr().err
    (results / "answers.yaml").write_text("lemmas:\n  x: text\n")
    with pytest.raises(scales.AnswersError, match="lemmas: no collected run"):
        scales.render_markdown(results)


def test_an_html_twin_beside_a_reports_index_linked_from_it(tmp_path, capsys):
    """With a reports folder that has an index.html, ``runner results`` also writes
    ``results.html`` there: the same tables in HTML, raw HTML from the summaries escaped, and
    the index links to it. Without an index nothing is written there."""
    reports = tmp_path / "reports"
    run = _run_copy(tmp_path, "r1", profile="default", created="2026-01-01T00:00:00Z")
    shutil.copytree(run, reports / "r1")
    claims = json.loads((run / "claims.json").read_text())
    claims["claims"][0]["statement"] = "<script>alert(1)</script> holds"
    (run / "claims.json").write_text(json.dumps(claims))
    paths = ["--results", str(tmp_path / "results"), "--page", str(tmp_path / "results.md")]
    assert main(["results", *paths, "--reports", str(reports), "--collect", str(run)]) == 0
    assert not (reports / "results.html").exists()  # no index.html yet
    from runner.report.index import write_index

    write_index(reports)
    assert 'href="results.html"' not in (reports / "index.html").read_text()
    assert main(["results", *paths, "--reports", str(reports)]) == 0
    assert f"results: {reports / 'results.html'}" in capsys.readouterr().out
    html = (reports / "results.html").read_text()
    assert (
        "<table>" in html and "<th>default</th>" in html and "<code>gn_uniform_rate</code>" in html
    )
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="results.html"' in (reports / "index.html").read_text()
