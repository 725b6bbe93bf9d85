"""End to end through the CLI: every spec's smoke profile, the files of a run, re-judging,
resuming after Ctrl-C, the local engine, and user mistakes (exit 4, no traceback)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from runner import cli
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
    runs = sorted(p for p in out.iterdir() if (p / "manifest.json").exists() and not p.is_symlink())
    return runs[-1]


def _verdicts(run_dir: Path) -> dict[str, tuple[str, object]]:
    claims = json.loads((run_dir / "claims.json").read_text())["claims"]
    return {c["id"]: (c["verdict"], c["observed"].get("value")) for c in claims}


def test_every_spec_validates(capsys):
    assert SPECS, "no specs found"
    code, out, err = _run_cli(["validate", *map(str, SPECS)], capsys)
    assert code == cli.EXIT_OK, err
    assert out.count("ok  ") == len(SPECS)


@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory):
    """Each spec's smoke profile, run once through the CLI (in this process)."""
    runs = {}
    for spec in SPECS:
        out = tmp_path_factory.mktemp(f"reports_{spec.stem}")
        code = cli.main(_smoke(spec, out))
        runs[spec.stem] = (code, _latest(out))
    return runs


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_smoke_run_files(smoke_runs, spec):
    code, run_dir = smoke_runs[spec.stem]
    # Claims at smoke scale may fail; the pipeline must not error or be interrupted.
    assert code in (cli.EXIT_OK, cli.EXIT_CLAIM_FAILED)
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


def test_rejudge_gives_the_same_verdicts(smoke_runs, capsys):
    _, run_dir = smoke_runs["regression_1d"]
    before = _verdicts(run_dir)
    code, out, err = _run_cli(["judge", str(run_dir)], capsys)
    assert code in (cli.EXIT_OK, cli.EXIT_CLAIM_FAILED), err
    assert _verdicts(run_dir) == before
    code, out, _ = _run_cli(["report", str(run_dir)], capsys)
    assert code == cli.EXIT_OK and "report.html" in out


def test_rejudge_with_an_edited_claim(smoke_runs, capsys, tmp_path):
    """Editing a claim and re-judging needs no training: the stored metrics are judged again."""
    _, run_dir = smoke_runs["regression_1d"]
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
    _, run_dir = smoke_runs["lemmas"]
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
    assert code in (cli.EXIT_OK, cli.EXIT_CLAIM_FAILED), err
    run_dir = _latest(tmp_path)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["overrides"] == ["train.steps=40", "sweep.seeds=[3]"]
    assert "--set train.steps=40" in manifest["command"]
    assert (run_dir / "overrides.txt").read_text().splitlines() == manifest["overrides"]
    (cell,) = manifest["cells"]
    assert cell["seed"] == 3 and cell["steps_done"] == 40


def test_local_engine_gives_the_same_claims(smoke_runs, tmp_path, capsys):
    spec = ROOT / "specs" / "regression_1d.yaml"
    code, _, err = _run_cli(_smoke(spec, tmp_path, "--engine", "local", "--jobs", "2"), capsys)
    assert code in (cli.EXIT_OK, cli.EXIT_CLAIM_FAILED), err
    assert _verdicts(_latest(tmp_path)) == _verdicts(smoke_runs["regression_1d"][1])


@pytest.mark.parametrize(
    ("engine", "options"),
    [("submitit", ["--engine-opt", "cluster=local"]), ("ray", ["--engine-opt", "num_cpus=2"])],
)
def test_cluster_engines_give_the_same_claims(smoke_runs, tmp_path, capsys, engine, options):
    """The smoke profile through submitit's local executor and a local Ray: the inline claims."""
    pytest.importorskip(engine)
    spec = ROOT / "specs" / "regression_1d.yaml"
    code, _, err = _run_cli(_smoke(spec, tmp_path, "--engine", engine, *options), capsys)
    assert code in (cli.EXIT_OK, cli.EXIT_CLAIM_FAILED), err
    assert _verdicts(_latest(tmp_path)) == _verdicts(smoke_runs["regression_1d"][1])
    manifest = json.loads((_latest(tmp_path) / "manifest.json").read_text())
    assert manifest["engine"] == engine and " ".join(options) in manifest["command"]


def test_interrupt_then_resume_gives_the_same_claims(smoke_runs, tmp_path):
    """Ctrl-C after the first finished cell: exit 2, finished cells kept; --resume completes the
    run and its claims equal those of an uninterrupted run."""
    spec = ROOT / "specs" / "regression_1d.yaml"
    out = tmp_path / "reports"
    command = [sys.executable, "-m", "runner.cli", *_smoke(spec, out)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while time.time() < deadline:
        finished = list(out.glob("*/cells/*/summary.json")) if out.exists() else []
        if finished or process.poll() is not None:
            break
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == cli.EXIT_INTERRUPTED, err
    assert "Traceback" not in err
    run_dir = _latest(out)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    kept = [c for c in manifest["cells"] if c["status"] == "finished"]
    assert 1 <= len(kept) < len(manifest["cells"])
    for path in run_dir.rglob("*.tmp"):
        pytest.fail(f"half-written file left behind: {path}")

    resumed = subprocess.run(command + ["--resume", str(run_dir)], capture_output=True, text=True)
    assert resumed.returncode in (cli.EXIT_OK, cli.EXIT_CLAIM_FAILED), resumed.stderr
    assert f"{len(kept)} reused" in resumed.stdout
    assert _verdicts(run_dir) == _verdicts(smoke_runs["regression_1d"][1])


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
