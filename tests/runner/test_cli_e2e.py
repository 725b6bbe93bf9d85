"""End to end through the CLI: every spec's smoke profile (informational verdicts: exit 0), the
files of a run, re-judging, Ctrl-C while training or judging then resuming, the robustness
check, the inline engine against the default, and user mistakes (exit 4, no traceback)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import yaml

from runner import cli, store
from runner.kinds.claims import KIND_MODULES

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
MALFORMED = sorted((Path(__file__).parent / "malformed").glob("*.yaml"))
ALLOWED_URLS = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink"}


class _StrictHTML(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name == "id" and value:
                self.ids.add(value)


def _run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = cli.main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _smoke(spec: Path, out: Path, *extra: str) -> list[str]:
    """``runner run SPEC --profile smoke --out OUT [extra...]``."""
    return ["run", str(spec), "--profile", "smoke", "--out", str(out), *extra]


def _latest(out: Path) -> Path:
    runs = store.run_dirs(out)
    return runs[-1]


def _verdicts(run_dir: Path) -> dict[str, tuple[str, object]]:
    claims = json.loads((run_dir / "claims.json").read_text())["claims"]
    return {c["id"]: (c["verdict"], c["observed"].get("value")) for c in claims}


def test_every_spec_validates(capsys):
    assert SPECS, "no specs found"
    code, out, err = _run_cli(["validate", *map(str, SPECS)], capsys)
    assert code == cli.EXIT_OK, err
    assert out.count("ok  ") == len(SPECS)


class _SmokeRuns:
    """Each spec's smoke profile, run through the CLI (in this process, default engine) the first
    time a test asks for it: ``runs[stem] -> (exit code, run dir, stdout)``."""

    def __init__(self, factory):
        self.factory, self.runs = factory, {}

    def __getitem__(self, stem: str) -> tuple[int, Path, str]:
        if stem not in self.runs:
            out = self.factory.mktemp(f"reports_{stem}")
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                code = cli.main(_smoke(ROOT / "specs" / f"{stem}.yaml", out))
            self.runs[stem] = (code, _latest(out), printed.getvalue())
        return self.runs[stem]


@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory):
    return _SmokeRuns(tmp_path_factory)


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_smoke_run_files(smoke_runs, spec):
    code, run_dir, printed = smoke_runs[spec.stem]
    # Every shipped smoke profile has informational verdicts: whatever they are, the run exits 0
    # (it would exit 3 on an error, 2 when interrupted), and says it is not evidence.
    assert code == cli.EXIT_OK, printed
    assert "smoke: not evidence" in printed
    for name in (
        "manifest.json",
        "spec.yaml",
        "spec.resolved.yaml",
        "overrides.txt",
        "env.json",
        "claims.json",
        "report.html",
        "junit.xml",
    ):
        assert (run_dir / name).exists(), name
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "finished" and manifest["profile"] == "smoke"
    assert all(c["status"] == "finished" for c in manifest["cells"])
    # each cell's compile and evaluation seconds, within its wall time
    assert all(
        0 <= c["compile_seconds"] <= c["wall_seconds"]
        and 0 <= c["eval_seconds"] <= c["wall_seconds"]
        for c in manifest["cells"]
    )
    # a switch that continues another optimizer's cell (grokking, transformer) started from its
    # kept parameters: the engine (local, one worker per core) ran the donor first
    for entry in manifest["cells"]:
        cell = json.loads((run_dir / "cells" / entry["cell_id"] / "cell.json").read_text())
        summary = json.loads((run_dir / "cells" / entry["cell_id"] / "summary.json").read_text())
        assert summary.get("continued_from") == cell.get("continues"), entry["cell_id"]
    assert (run_dir / "spec.yaml").read_text() == spec.read_text()  # verbatim
    env = json.loads((run_dir / "env.json").read_text())
    assert {"git", "packages", "jax_devices", "threads"} <= set(env)

    claims = json.loads((run_dir / "claims.json").read_text())["claims"]
    from runner.load import load_spec

    smoke_spec = load_spec(spec, profile="smoke").spec
    expected_ids = [c.id for c in smoke_spec.claims]
    assert sorted(c["id"] for c in claims) == sorted(expected_ids)
    assert all(c["verdict"] in ("PASS", "FAIL", "INCONCLUSIVE") for c in claims)

    html = (run_dir / "report.html").read_text()
    parser = _StrictHTML()
    parser.feed(html)
    parser.close()
    assert "html" in parser.tags and "table" in parser.tags
    assert "not-evidence" in parser.ids and "smoke: not evidence" in html
    for claim_id in expected_ids:
        assert f"claim-{claim_id}" in parser.ids
    if smoke_spec.figures:  # the spec's overview figures (e.g. Fig. 4) are drawn
        assert "overview" in parser.ids
        assert html.count("<svg") >= len(smoke_spec.figures)
        assert "figure could not be drawn" not in html
    assert set(re.findall(r"https?://[^\s\"'<>)]+", html)) <= ALLOWED_URLS
    assert "<script" not in html.lower() and "<link" not in html.lower()

    suite = ET.fromstring((run_dir / "junit.xml").read_text())
    cases = suite.findall("testcase")
    assert sorted(c.get("name") for c in cases) == sorted(expected_ids)
    assert int(suite.get("tests")) == len(expected_ids)
    # junit marks it: no <failure> (a claim that does not hold is <skipped>, "not evidence")
    assert suite.get("name").endswith("(smoke: not evidence)") and suite.get("failures") == "0"
    assert {"verdicts": "informational"}.items() <= _properties(suite).items()
    assert not suite.findall("testcase/failure")
    failing = [c["id"] for c in claims if not c["holds"] and c["verdict"] in ("PASS", "FAIL")]
    for case in cases:
        if case.get("name") in failing:
            assert case.find("skipped").get("message").startswith("smoke: not evidence: ")


def _properties(element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in element.findall("properties/property")}


def _copy_run(run_dir: Path, tmp_path: Path) -> Path:
    """A copy of a stored run (tests that edit a run do not change the shared one)."""
    copy = tmp_path / "runs" / run_dir.name
    shutil.copytree(run_dir, copy)
    return copy


def test_informational_verdicts_exit_0_and_evidence_verdicts_fail(smoke_runs, capsys, tmp_path):
    """The same stored smoke run and a claim forced to FAIL: judged with the smoke profile's
    ``verdicts: informational`` it exits 0 and says "not evidence"; with the line removed
    (``verdicts: evidence``, the default) the failed claim fails the run (exit 1)."""
    run_dir = _copy_run(smoke_runs["regression_1d"][1], tmp_path)
    spec_text = (ROOT / "specs" / "regression_1d.yaml").read_text()
    failing = spec_text.replace(
        "value: 0.5   # docs/paper-notes.md#regression-1d, claim 2 (",
        "value: 1.0e+9   # docs/paper-notes.md#regression-1d, claim 2 (",
    )
    assert failing != spec_text
    informational = tmp_path / "informational.yaml"
    informational.write_text(failing)
    code, out, err = _run_cli(["judge", str(run_dir), "--spec", str(informational)], capsys)
    assert _verdicts(run_dir)["gd_spectral_bias"][0] == "FAIL"
    assert code == cli.EXIT_OK, out + err
    assert "smoke: not evidence" in out
    evidence = tmp_path / "evidence.yaml"
    evidence.write_text(re.sub(r"^    verdicts: informational\b.*\n", "", failing, flags=re.M))
    assert "verdicts: informational" not in evidence.read_text()
    code, out, err = _run_cli(["judge", str(run_dir), "--spec", str(evidence)], capsys)
    assert code == cli.EXIT_CLAIM_FAILED, out + err
    assert "not evidence" not in out
    suite = ET.fromstring((run_dir / "junit.xml").read_text())
    assert "verdicts" not in _properties(suite) and int(suite.get("failures")) >= 1
    assert "smoke: not evidence" not in (run_dir / "report.html").read_text()


def test_rejudge_gives_the_same_verdicts(smoke_runs, capsys):
    _, run_dir, _ = smoke_runs["regression_1d"]
    before = _verdicts(run_dir)
    code, out, err = _run_cli(["judge", str(run_dir)], capsys)
    assert code == cli.EXIT_OK, err
    assert _verdicts(run_dir) == before
    code, out, _ = _run_cli(["report", str(run_dir)], capsys)
    assert code == cli.EXIT_OK and "report.html" in out


def test_rejudge_with_an_edited_claim(smoke_runs, capsys, tmp_path):
    """Editing a claim and re-judging needs no training: the stored metrics are judged again."""
    _, run_dir, _ = smoke_runs["regression_1d"]
    spec_text = (ROOT / "specs" / "regression_1d.yaml").read_text()
    edited = spec_text.replace(
        "value: 0.5   # docs/paper-notes.md#regression-1d, claim 2 (",
        "value: 1.0e+9   # docs/paper-notes.md#regression-1d, claim 2 (",
    )
    assert edited != spec_text
    path = tmp_path / "regression_1d.yaml"
    path.write_text(edited)
    _run_cli(["judge", str(run_dir), "--spec", str(path)], capsys)
    assert _verdicts(run_dir)["gd_spectral_bias"][0] == "FAIL"
    assert (run_dir / "spec.judged.yaml").read_text() == edited
    assert (run_dir / "spec.yaml").read_text() == spec_text  # what the cells were trained with
    _run_cli(["report", str(run_dir)], capsys)  # re-rendering keeps the judged spec's claims
    assert "1e+09" in (run_dir / "report.html").read_text()
    _run_cli(["judge", str(run_dir), "--spec", str(ROOT / "specs" / "regression_1d.yaml")], capsys)
    assert _verdicts(run_dir)["gd_spectral_bias"][0] == "PASS"


def test_ls_schema_claims_plan(smoke_runs, capsys):
    _, run_dir, _ = smoke_runs["lemmas"]
    code, out, _ = _run_cli(["ls", "--out", str(run_dir.parent)], capsys)
    assert code == 0 and run_dir.name in out and "holds" in out
    code, out, _ = _run_cli(["schema"], capsys)
    schema = json.loads(out)
    assert code == 0 and "optimizers" in schema["properties"]
    code, out, _ = _run_cli(["claims"], capsys)
    for kind in KIND_MODULES:  # every claim kind, one module each
        assert kind in out
    code, out, _ = _run_cli(["plan", str(ROOT / "specs" / "regression_1d.yaml")], capsys)
    assert code == 0 and "12 cells" in out


def test_overrides_are_applied_and_recorded(tmp_path, capsys):
    spec = ROOT / "specs" / "regression_1d.yaml"
    code, _, err = _run_cli(
        _smoke(
            spec, tmp_path, "--only", "gd", "--set", "train.steps=40", "--set", "sweep.seeds=[3]"
        ),
        capsys,
    )
    assert code == cli.EXIT_OK, err
    run_dir = _latest(tmp_path)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["overrides"] == ["train.steps=40", "sweep.seeds=[3]"]
    assert manifest["engine"] == "local" and manifest["jobs"] >= 1  # the default (one cell: inline)
    assert "--set train.steps=40" in manifest["command"]
    assert (run_dir / "overrides.txt").read_text().splitlines() == manifest["overrides"]
    (cell,) = manifest["cells"]
    assert cell["seed"] == 3 and cell["steps_done"] == 40


def test_inline_engine_gives_the_same_claims(smoke_runs, tmp_path, capsys):
    """``--engine inline`` (one process, XLA's default threads) against the default engine
    (local: a worker per core, one BLAS and one XLA thread each): the same verdicts and numbers,
    and each reproduces its own run as the manifest records it."""
    spec = ROOT / "specs" / "regression_1d.yaml"
    code, _, err = _run_cli(_smoke(spec, tmp_path, "--engine", "inline"), capsys)
    assert code == cli.EXIT_OK, err
    default = smoke_runs["regression_1d"][1]
    assert _verdicts(_latest(tmp_path)) == _verdicts(default)
    inline = json.loads((_latest(tmp_path) / "manifest.json").read_text())
    assert (inline["engine"], inline["jobs"]) == ("inline", 1)
    manifest = json.loads((default / "manifest.json").read_text())
    expected = ("local", os.cpu_count() or 1) if (os.cpu_count() or 1) > 1 else ("inline", 1)
    if hasattr(os, "sched_getaffinity"):
        cores = len(os.sched_getaffinity(0))
        expected = ("local", cores) if cores > 1 else ("inline", 1)
    assert (manifest["engine"], manifest["jobs"]) == expected
    assert "--engine" not in manifest["command"]  # inline and local give the same cells


@pytest.mark.parametrize(
    ("engine", "options"),
    [("submitit", ["--engine-opt", "cluster=local"]), ("ray", ["--engine-opt", "num_cpus=2"])],
)
def test_cluster_engines_give_the_same_claims(smoke_runs, tmp_path, capsys, engine, options):
    """The smoke profile through submitit's local executor and a local Ray: the inline claims."""
    pytest.importorskip(engine)
    spec = ROOT / "specs" / "regression_1d.yaml"
    code, _, err = _run_cli(_smoke(spec, tmp_path, "--engine", engine, *options), capsys)
    assert code == cli.EXIT_OK, err
    assert _verdicts(_latest(tmp_path)) == _verdicts(smoke_runs["regression_1d"][1])
    manifest = json.loads((_latest(tmp_path) / "manifest.json").read_text())
    assert manifest["engine"] == engine and " ".join(options) in manifest["command"]


# ``python -c PAUSED ARGS...``: the runner's main in a process that holds still at a chosen point
# and writes the marker MARKER there, so that a test sends SIGINT at a known moment instead of
# racing the run (a sleep-and-poll test failed when a loaded machine let the run finish first).
# ``cell``: after the first finished cell is recorded (the parent's Progress.finish), ``claim``:
# before the second claim is judged.
PAUSED = """
import sys, time
from pathlib import Path
marker, point = Path(sys.argv[1]), sys.argv[2]
def hold():
    marker.write_text("paused")
    time.sleep(600)  # until SIGINT
if point == "cell":
    from runner import engines
    finish = engines.Progress.finish
    def finish_then_hold(self, cell, summary, reused=False):
        finish(self, cell, summary, reused)
        if not reused and not marker.exists():
            hold()
    engines.Progress.finish = finish_then_hold
else:
    import runner.kinds.claims as claims
    judge, calls = claims.judge, []
    def judge_then_hold(spec, cells):
        if calls and not marker.exists():
            hold()
        calls.append(spec)
        return judge(spec, cells)
    claims.judge = judge_then_hold
from runner.cli import main
sys.exit(main(sys.argv[3:]))
"""


def _interrupted_run(tmp_path: Path, point: str, args: list[str]) -> subprocess.CompletedProcess:
    """``runner ARGS`` paused at ``point``, then SIGINT. The process starts with SIGINT ignored,
    as a shell starts a script's background job (``runner run ... &``) and as a CI runner may:
    Python then installs no KeyboardInterrupt handler, and Ctrl-C used to be lost (issue 15)."""
    marker = tmp_path / f"paused-{point}"
    ignoring = ["sh", "-c", 'trap "" INT; exec "$@"', "sh"]  # exec keeps SIGINT ignored
    process = subprocess.Popen(
        [*ignoring, sys.executable, "-c", PAUSED, str(marker), point, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 600
    while not marker.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert marker.exists(), f"the run never reached {point}: {process.communicate()}"
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=300)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


@pytest.mark.parametrize("engine", [[], ["--engine", "inline"]], ids=["default", "inline"])
def test_interrupt_then_resume_gives_the_same_claims(smoke_runs, tmp_path, engine):
    """Ctrl-C after the first finished cell: exit 2, finished cells kept, the claims of those
    judged in report.html and junit.xml, the --resume hint; --resume completes the run and its
    claims equal those of an uninterrupted run."""
    spec = ROOT / "specs" / "regression_1d.yaml"
    out = tmp_path / "reports"
    args = [*_smoke(spec, out), *engine]
    stopped = _interrupted_run(tmp_path, "cell", args)
    assert stopped.returncode == cli.EXIT_INTERRUPTED, stopped.stdout + stopped.stderr
    assert "Traceback" not in stopped.stderr
    run_dir = _latest(out)
    assert f"continue with --resume {run_dir}" in stopped.stderr
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["interrupted_while"] == "training"
    kept = [c for c in manifest["cells"] if c["status"] == "finished"]
    if engine:  # inline: the run held after its first cell
        assert len(kept) == 1
    else:  # the other workers may have finished theirs meanwhile: kept, not lost
        assert 1 <= len(kept) <= len(manifest["cells"])
    assert (run_dir / "report.html").exists() and (run_dir / "junit.xml").exists()
    for path in run_dir.rglob("*.tmp"):
        pytest.fail(f"half-written file left behind: {path}")

    resumed = subprocess.run(
        [sys.executable, "-m", "runner.cli", *args, "--resume", str(run_dir)],
        capture_output=True,
        text=True,
    )
    assert resumed.returncode == cli.EXIT_OK, resumed.stderr
    assert f"{len(kept)} reused" in resumed.stdout
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "finished"
    assert _verdicts(run_dir) == _verdicts(smoke_runs["regression_1d"][1])


def test_interrupt_while_judging_writes_the_report(smoke_runs, tmp_path):
    """Ctrl-C while claims are judged (every cell reused): exit 2, claims.json, report.html and
    junit.xml hold the claim judged so far and the others as not judged, the --resume hint is
    printed; ``runner judge`` then judges every claim and the run is finished."""
    run_dir = _copy_run(smoke_runs["regression_1d"][1], tmp_path)
    spec = ROOT / "specs" / "regression_1d.yaml"
    args = [*_smoke(spec, tmp_path / "reports"), "--resume", str(run_dir)]
    stopped = _interrupted_run(tmp_path, "claim", args)
    assert stopped.returncode == cli.EXIT_INTERRUPTED, stopped.stdout + stopped.stderr
    assert "Traceback" not in stopped.stderr
    assert f"continue with --resume {run_dir}" in stopped.stderr
    assert "interrupted while judging: 1 of" in stopped.stderr
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["interrupted_while"] == "judging"
    claims = json.loads((run_dir / "claims.json").read_text())["claims"]
    not_judged = [c["id"] for c in claims if c["observed"].get("not_judged")]
    assert len(not_judged) == len(claims) - 1 >= 1
    assert all(c["verdict"] == "INCONCLUSIVE" for c in claims if c["id"] in not_judged)
    html = (run_dir / "report.html").read_text()
    assert "Not judged: the run was interrupted" in html and "run status: interrupted" in html
    suite = ET.fromstring((run_dir / "junit.xml").read_text())
    skipped = {
        case.get("name")
        for case in suite.findall("testcase")
        if case.find("skipped") is not None and "not judged" in case.find("skipped").get("message")
    }
    assert skipped == set(not_judged)

    judged = subprocess.run(
        [sys.executable, "-m", "runner.cli", "judge", str(run_dir)], capture_output=True, text=True
    )
    assert judged.returncode == cli.EXIT_OK, judged.stderr
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "finished"
    assert _verdicts(run_dir) == _verdicts(smoke_runs["regression_1d"][1])


def test_check_robustness(smoke_runs, tmp_path, capsys):
    """``--check-robustness`` re-runs the cells of seed 0 with the initial parameters perturbed
    at rounding level (same cell ids and hashes, the perturbation in cell.json), judges again and
    writes both verdicts and margins per claim; a claim whose bound sits between the two values
    flips, and the console, claims.json and the report say so; the exit code stays the run's."""
    stored = smoke_runs["regression_1d"][1]
    plain = _copy_run(stored, tmp_path / "plain")
    code, _, err = _run_cli(["judge", str(plain), "--check-robustness"], capsys)
    assert code == cli.EXIT_USAGE and "no robustness cells" in err

    run_dir = _copy_run(stored, tmp_path)
    spec = ROOT / "specs" / "regression_1d.yaml"
    code, out, err = _run_cli(
        [*_smoke(spec, tmp_path / "reports"), "--resume", str(run_dir), "--check-robustness"],
        capsys,
    )
    assert code == cli.EXIT_OK, out + err
    manifest = json.loads((run_dir / "manifest.json").read_text())
    seed0 = [c for c in manifest["cells"] if c["seed"] == min(c["seed"] for c in manifest["cells"])]
    assert f"robustness: {len(seed0)} cell(s) of seed 0 re-run" in out
    for cell in seed0:
        directory = run_dir / "robustness" / "cells" / cell["cell_id"]
        info = json.loads((directory / "cell.json").read_text())
        assert info["hash"] == cell["hash"]
        assert info["perturbation"]["kind"] == "rounding"
        assert info["perturbation"]["eps"] == {"float64": 2.220446049250313e-16}
        assert json.loads((directory / "summary.json").read_text())["status"] == "finished"
    with (
        np.load(run_dir / "cells" / seed0[0]["cell_id"] / "metrics.npz") as a,
        np.load(run_dir / "robustness" / "cells" / seed0[0]["cell_id"] / "metrics.npz") as b,
    ):  # the perturbation is there, and at rounding level
        assert any(not np.array_equal(a[name], b[name]) for name in a.files)
        np.testing.assert_allclose(a["eval/mse"][0], b["eval/mse"][0], rtol=1e-12)
    section = json.loads((run_dir / "claims.json").read_text())["robustness"]
    ids = [c["id"] for c in json.loads((run_dir / "claims.json").read_text())["claims"]]
    assert [entry["id"] for entry in section["claims"]] == ids
    assert {"verdict", "margin", "perturbed_verdict", "perturbed_margin", "flipped"} <= set(
        section["claims"][0]
    )
    assert '<h2 id="robustness">' in (run_dir / "report.html").read_text()

    # a threshold claim with its bound between the two values flips (GN's claims may already
    # flip: a 1-ulp change of the initial parameters moves GN's final errors by up to 3x here)
    flipped_before = set(section["flips"])
    assert flipped_before == {e["id"] for e in section["claims"] if e["flipped"]}
    from runner.load import load_spec

    kinds = {c.id: c.kind for c in load_spec(spec, profile="smoke").spec.claims}
    entry = next(
        e
        for e in section["claims"]
        if kinds[e["id"]] == "threshold"
        and e["id"] not in flipped_before
        and isinstance(e["value"], float)
        and isinstance(e["perturbed_value"], float)
        and e["value"] != e["perturbed_value"]
    )
    data = yaml.safe_load(spec.read_text())
    claim = next(c for c in data["claims"] if c["id"] == entry["id"])
    claim["op"], claim["value"] = "<", max(entry["value"], entry["perturbed_value"])
    edited = tmp_path / "edited.yaml"
    edited.write_text(yaml.safe_dump(data, sort_keys=False))
    code, out, err = _run_cli(
        ["judge", str(run_dir), "--spec", str(edited), "--check-robustness"], capsys
    )
    assert code == cli.EXIT_OK, out + err  # informational smoke: the flip does not change it
    assert re.search(rf"FLIP\s+{entry['id']}: (PASS|FAIL) .* -> (PASS|FAIL) ", out), out
    section = json.loads((run_dir / "claims.json").read_text())["robustness"]
    assert set(section["flips"]) == flipped_before | {entry["id"]}
    html = (run_dir / "report.html").read_text()
    n = len(section["flips"])
    words = "verdict flips" if n == 1 else "verdicts flip"
    assert f"{n} {words}:" in html and f"{n} {words} when the initial" in html


@pytest.mark.parametrize("path", MALFORMED, ids=lambda p: p.name)
def test_malformed_specs_exit_4_without_traceback(path, capsys):
    """Each file of the corpus through the CLI (``plan --profile P`` when the defect is in
    profile P, which ``validate`` of the base alone would not ask for)."""
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8", "replace")
    profile = re.search(r"profile=(\w+)", first)
    args = (
        ["plan", str(path), "--profile", profile.group(1)] if profile else ["validate", str(path)]
    )
    code, out, err = _run_cli(args, capsys)
    assert code == cli.EXIT_USAGE
    assert path.name in err
    assert "Traceback" not in err + out


@pytest.mark.parametrize(
    "args",
    [
        ["run", "specs/regression_1d.yaml", "--set", "train.stepz=5"],
        ["run", "specs/regression_1d.yaml", "--set", "nokey"],
        ["run", "specs/regression_1d.yaml", "--profile", "huge"],
        ["run", "specs/regression_1d.yaml", "--only", "adam"],
        ["run", "specs/regression_1d.yaml", "--jobs", "0"],
        ["run", "specs/does_not_exist.yaml"],
        ["judge", "specs"],
        ["run", "specs/regression_1d.yaml", "--engine", "warp"],
        ["frobnicate"],
    ],
)
def test_usage_mistakes_exit_4(args, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    code, out, err = _run_cli(args, capsys)
    assert code == cli.EXIT_USAGE, (out, err)
    assert "Traceback" not in err + out
    assert err.strip()


def test_console_entry_point_reports_spec_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntask: {kind: regression_1d}\ntrain: {stepz: 3}\n")
    result = subprocess.run(
        [sys.executable, "-m", "runner.cli", "validate", str(bad)],
        capture_output=True,
        text=True,
        env={**os.environ},
    )
    assert result.returncode == 4
    assert re.search(r"bad\.yaml:3:\d+\s+train\.stepz\s+unknown key", result.stderr), result.stderr
    assert "Traceback" not in result.stderr


def test_committed_schema_is_current(capsys):
    """``spec.schema.json`` (the specs' editor modeline points at it) matches ``runner schema``."""
    code, out, _ = _run_cli(["schema"], capsys)
    assert code == cli.EXIT_OK
    committed = (ROOT / "spec.schema.json").read_text()
    assert json.loads(committed) == json.loads(out), "run: runner schema > spec.schema.json"
