"""The pytest plugin (runner/pytest_plugin.py): a spec's claims as pytest items.

One spec is trained, once, in a pytest subprocess under xdist (two workers, so the lock is what
keeps the cells from being trained twice); the later sessions reuse that run. Everything else
runs pytest in this process on the stored fixture run (tests/runner/data/regression_1d_smoke_run)
or only collects.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from runner import pytest_plugin, store
from runner.load import SpecError, load_spec
from runner.plan import content_hash
from runner.results import ClaimResult, Evidence

pytest_plugins = ["pytester"]

FIXTURE_RUN = Path(__file__).parent / "data" / "regression_1d_smoke_run"
MALFORMED = Path(__file__).parent / "malformed"

# The cheapest spec that trains: 6 GD steps on a linear least-squares problem, with a large and a
# small learning rate, and claims made to pass, fail and be inconclusive, and two negative
# controls: one holds (its claim fails), one does not.
OUTCOMES_SPEC = """\
name: outcomes
task: {kind: random_jacobian, residuals: 12, parameters: 40, singular_max: 10.0, singular_min: 0.1}
model: {kind: linear}
loss: {kind: mse, convention: raw}
optimizers:
  fast: {kind: gd, learning_rate: 1.0e-2}
  slow: {kind: gd, learning_rate: 1.0e-4}
train: {steps: 6, eval_every: 2}
metrics:
  - {kind: mse}
sweep: {seeds: [0]}
observables:
  remaining: {kind: final, metric: mse, relative_to_initial: true}
claims:
  - id: fast_leaves_less             # PASS
    kind: compare
    left: {observable: remaining, where: {optimizer: fast}}
    right: {observable: remaining, where: {optimizer: slow}}
    op: "<"
  - id: slow_leaves_less             # FAIL
    kind: compare
    statement: "Made to fail: the smaller step leaves less error."
    left: {observable: remaining, where: {optimizer: slow}}
    right: {observable: remaining, where: {optimizer: fast}}
    op: "<"
  - id: control_slow_leaves_less     # a negative control that holds (its claim fails): passed
    kind: compare
    expected: fail
    left: {observable: remaining, where: {optimizer: slow}}
    right: {observable: remaining, where: {optimizer: fast}}
    op: "<"
  - id: control_fast_leaves_less     # a negative control that does not hold: failed
    kind: compare
    expected: fail
    left: {observable: remaining, where: {optimizer: fast}}
    right: {observable: remaining, where: {optimizer: slow}}
    op: "<"
  - id: needs_two_seeds              # INCONCLUSIVE: one seed, min_seeds 2
    kind: compare
    min_seeds: 2
    left: {observable: remaining, where: {optimizer: fast}}
    right: {observable: remaining, where: {optimizer: slow}}
    op: "<"
"""


def _fresh_code_version() -> str:
    return store.code_version.__wrapped__()


def _junit_cases(path: Path) -> dict[str, ET.Element]:
    return {case.get("name"): case for case in ET.parse(path).getroot().iter("testcase")}


def _properties(case: ET.Element) -> dict[str, str]:
    return {p.get("name"): p.get("value") for p in case.iter("property")}


def test_claims_are_items_trained_once_then_reused(pytester: pytest.Pytester):
    pytest.importorskip("xdist")
    specs = pytester.mkdir("specs")
    (specs / "outcomes.yaml").write_text(OUTCOMES_SPEC, encoding="utf-8")
    (specs / "notes.yaml").write_text("title: not a spec\n", encoding="utf-8")  # no claims
    out = pytester.path / "out"
    common = ["--pgdlab-out", str(out), "--pgdlab-jobs", "1"]
    version = _fresh_code_version()

    # Two workers share the spec's five claims: one trains under the spec's lock, the other
    # waits for it and reuses the stored run.
    first = pytester.runpytest_subprocess(
        "specs", *common, "-n", "2", "--junitxml=claims.xml", timeout=300
    )
    first.assert_outcomes(passed=2, failed=2, skipped=1)
    runs = store.run_dirs(out)
    assert len(runs) == 1, runs
    summary = first.stdout.str()
    assert f"outcomes [default]: trained {runs[0]}\n" in summary
    assert f"outcomes [default]: reused {runs[0]} (judged from its stored" in summary
    assert store.read_json(runs[0] / "manifest.json")["code_version"] == version

    cases = _junit_cases(pytester.path / "claims.xml")
    assert set(cases) == {
        "fast_leaves_less",
        "slow_leaves_less",
        "control_slow_leaves_less",
        "control_fast_leaves_less",
        "needs_two_seeds",
    }
    passed = _properties(cases["control_slow_leaves_less"])
    assert passed["verdict"] == "FAIL" and passed["holds"] == "true"
    assert passed["expected"] == "fail" and passed["run_dir"] == str(runs[0])
    failure = cases["slow_leaves_less"].find("failure")
    assert failure is not None and _properties(cases["slow_leaves_less"])["margin"]
    assert "slow_leaves_less (compare): FAIL, expected PASS" in failure.text
    assert "paper:    Made to fail: the smaller step leaves less error." in failure.text
    assert "evidence:" in failure.text and "001_slow_s0_" in failure.text
    control = cases["control_fast_leaves_less"].find("failure")
    assert "negative control expected to FAIL, but it PASSED" in control.text
    skipped = cases["needs_two_seeds"].find("skipped")
    assert "INCONCLUSIVE:" in skipped.get("message") and "min_seeds" in skipped.get("message")

    if _fresh_code_version() != version:
        pytest.skip("runner/ or core/ changed during the test: the run is rightly not reused")
    # --lf and -x: the two failed claims are selected, the first stops the session; only judged
    again = pytester.runpytest_subprocess("specs/outcomes.yaml", *common, "--lf", "-x", timeout=120)
    again.assert_outcomes(failed=1, deselected=3)
    assert "rerun previous 2 failures" in again.stdout.str()
    assert f"outcomes [default]: reused {runs[0]} " in again.stdout.str()
    # -k over claim ids
    chosen = pytester.runpytest_subprocess(
        "specs", *common, "-k", "leaves and not control", timeout=120
    )
    chosen.assert_outcomes(passed=1, failed=1, deselected=3)
    assert f"outcomes [default]: reused {runs[0]} " in chosen.stdout.str()
    assert store.run_dirs(out) == runs  # nothing trained again


def _fixture_run(tmp_path: Path, *, version: str | None) -> tuple[Path, Path]:
    """A copy of the stored smoke run under ``tmp_path/out`` whose manifest has the spec hash
    of its spec.yaml as loaded now and ``version`` as its code version; and that spec's path."""
    run_dir = tmp_path / "out" / FIXTURE_RUN.name
    shutil.copytree(FIXTURE_RUN, run_dir)
    spec = tmp_path / "regression_1d.yaml"
    text = (FIXTURE_RUN / "spec.yaml").read_text(encoding="utf-8")
    if "verdicts: informational" not in text:  # the fixture predates the key
        text = text.replace("\n  smoke:\n", "\n  smoke:\n    verdicts: informational\n", 1)
    spec.write_text(text, encoding="utf-8")
    manifest = store.read_json(run_dir / "manifest.json")
    manifest["spec_hash"] = content_hash({"resolved": load_spec(spec, profile="smoke").resolved})
    if version is not None:
        manifest["code_version"] = version
    store.write_json(run_dir / "manifest.json", manifest)
    return run_dir, spec


def test_a_run_is_reused_only_with_the_same_code(tmp_path):
    run_dir, spec = _fixture_run(tmp_path, version=None)
    spec_hash = content_hash({"resolved": load_spec(spec, profile="smoke").resolved})
    out, version = run_dir.parent, store.code_version()
    # made before runs recorded their code version: any code could have trained it
    assert pytest_plugin.find_stored_run(out, spec_hash, version) is None
    manifest = store.read_json(run_dir / "manifest.json")
    store.write_json(run_dir / "manifest.json", {**manifest, "code_version": version})
    assert pytest_plugin.find_stored_run(out, spec_hash, version) == run_dir
    assert pytest_plugin.find_stored_run(out, spec_hash, "0" * 64) is None  # other code: stale
    assert pytest_plugin.find_stored_run(out, "f" * 64, version) is None  # another spec
    manifest = store.read_json(run_dir / "manifest.json")
    store.write_json(run_dir / "manifest.json", {**manifest, "status": "interrupted"})
    assert not pytest_plugin.is_complete(run_dir)
    assert pytest_plugin.find_stored_run(out, spec_hash, version) == run_dir  # to resume


def test_smoke_verdicts_skip_instead_of_failing(pytester: pytest.Pytester, tmp_path):
    run_dir, spec = _fixture_run(tmp_path, version=store.code_version())
    claims = load_spec(spec, profile="smoke").spec.claims
    result = pytester.runpytest_inprocess(
        str(spec), "--pgdlab-profile", "smoke", "--pgdlab-out", str(run_dir.parent), "-rs"
    )
    outcomes = result.parseoutcomes()
    assert "failed" not in outcomes and outcomes["skipped"] >= 1
    assert outcomes["passed"] + outcomes["skipped"] == len(claims)
    result.stdout.fnmatch_lines(
        ["*regression_1d.yaml:*: smoke: not evidence (verdicts: informational): FAIL: *"]
    )
    assert f"regression_1d [smoke]: reused {run_dir} " in result.stdout.str()
    assert store.run_dirs(run_dir.parent) == [run_dir]


def _claim(verdict: str, expected: str = "pass", **extra) -> ClaimResult:
    return ClaimResult(
        id="c",
        kind="threshold",
        verdict=verdict,
        expected=expected,
        expected_sentence="X is below 1.",
        observed_sentence="Observed X = 2.",
        **extra,
    )


def test_verdicts_map_to_outcomes():
    check = pytest_plugin.check_claim
    check(_claim("PASS"), informational=False)  # passes
    check(_claim("FAIL", "fail"), informational=False)  # a control that holds passes
    rows = [Evidence("s0", {"x": 2.0, "bound": 1.0}, cell_id="000_gd_s0", passed=False)]
    with pytest.raises(pytest_plugin.ClaimDidNotHold) as failed:
        check(_claim("FAIL", margin=-1.0, evidence=rows), informational=False, run_dir=Path("r"))
    text = str(failed.value)
    assert "c (threshold): FAIL, expected PASS" in text and "observed: Observed X = 2." in text
    assert "margin:   -1" in text and "000_gd_s0" in text and str(Path("r", "report.html")) in text
    with pytest.raises(pytest_plugin.ClaimDidNotHold, match="negative control expected to FAIL"):
        check(_claim("PASS", "fail"), informational=False)
    with pytest.raises(pytest.skip.Exception, match="^INCONCLUSIVE: too few seeds"):
        check(_claim("INCONCLUSIVE", reason="too few seeds"), informational=False)
    with pytest.raises(pytest.skip.Exception, match="^smoke: not evidence .*: FAIL: Observed"):
        check(_claim("FAIL"), informational=True)
    for informational in (False, True):  # an error fails, smoke or not
        with pytest.raises(pytest_plugin.ClaimErrored, match="errored: ValueError: boom"):
            check(_claim("ERROR", reason="ValueError: boom"), informational=informational)


def test_a_malformed_spec_is_a_collection_error_with_the_loaders_message(
    pytester: pytest.Pytester,
):
    shutil.copy(MALFORMED / "negative_learning_rate.yaml", pytester.path / "bad.yaml")
    with pytest.raises(SpecError) as error:
        load_spec("bad.yaml")  # pytester runs in its folder: the same relative path
    result = pytester.runpytest_inprocess("bad.yaml")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*ERROR collecting bad.yaml*", error.value.format()])
    assert "Traceback" not in result.stdout.str()


def test_yaml_is_collected_only_from_named_paths_outside_testpaths(pytester: pytest.Pytester):
    pytester.makeini("[pytest]\ntestpaths = tests\n")
    pytester.makepyfile(**{"tests/test_plain": "def test_plain():\n    pass\n"})
    (pytester.path / "tests" / "malformed").mkdir()
    shutil.copy(MALFORMED / "negative_learning_rate.yaml", pytester.path / "tests" / "malformed")
    specs = pytester.mkdir("specs")
    (specs / "outcomes.yaml").write_text(OUTCOMES_SPEC, encoding="utf-8")
    stored = specs / "stored_run"  # a run directory's copy of its spec is not collected
    stored.mkdir()
    (stored / "manifest.json").write_text("{}", encoding="utf-8")
    (stored / "spec.yaml").write_text(OUTCOMES_SPEC, encoding="utf-8")

    for args in ((), ("tests",)):  # the configured testpaths, or a folder holding them
        result = pytester.runpytest_inprocess(*args)
        result.assert_outcomes(passed=1)
        assert "negative_learning_rate" not in result.stdout.str()
    result = pytester.runpytest_inprocess("specs", "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.OK
    assert [line for line in result.stdout.lines if "::" in line] == [
        f"specs/outcomes.yaml::{claim.id}"
        for claim in load_spec(specs / "outcomes.yaml").spec.claims
    ]


def test_a_run_that_raises_fails_every_claim_once_with_its_traceback(
    pytester: pytest.Pytester, monkeypatch
):
    def run_spec(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("runner.run.run_spec", run_spec)
    (pytester.path / "outcomes.yaml").write_text(OUTCOMES_SPEC, encoding="utf-8")
    result = pytester.runpytest_inprocess("outcomes.yaml", "--pgdlab-out", "out", "-rN")
    result.assert_outcomes(failed=5)
    output = result.stdout.str()
    assert output.count("E       RuntimeError: disk full") == 1  # the first claim's traceback
    assert output.count("the run of outcomes [default] failed: disk full") == 4
    assert store.run_dirs(pytester.path / "out") == []
