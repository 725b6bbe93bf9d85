"""The ``runner`` console script: version and usage errors (exit codes of runner/cli.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from runner import cli
from runner.results import ClaimResult

STORED_RUN = Path(__file__).parent / "runner" / "data" / "regression_1d_smoke_run"


def test_version(capsys):
    assert cli.main(["--version"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert out.startswith("pgdlab ") and "jax" in out


def test_unknown_option_is_a_usage_error(capsys):
    assert cli.main(["--no-such-option"]) == cli.EXIT_USAGE
    assert "unrecognized arguments" in capsys.readouterr().err


def test_console_script_installed():
    exe = shutil.which("runner") or f"{sys.prefix}/bin/runner"
    result = subprocess.run([exe, "--version"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("pgdlab ")


# --- the claims on the console and the summary line ----------------------------------------------


def _claim(id: str, verdict: str, expected: str = "pass", **kw) -> ClaimResult:
    return ClaimResult(
        id=id,
        kind="threshold",
        verdict=verdict,
        expected=expected,
        expected_sentence="e",
        observed_sentence=f"observed {id}",
        **kw,
    )


def test_summary_line_counts_as_pytest_does():
    claims = [_claim(f"f{i}", "FAIL") for i in range(3)]
    claims += [_claim(f"p{i}", "PASS") for i in range(6)]
    claims.append(_claim("control", "FAIL", expected="fail"))  # holds: counted as passed
    claims.append(_claim("unsure", "INCONCLUSIVE", reason="no cell"))
    claims[3] = _claim("shaky", "PASS", margin=0.004, noise=0.012, fragile=True)
    assert cli.summary_line(claims, 41.2) == "3 failed, 7 passed, 1 inconclusive, 1 fragile in 41 s"
    broken = [_claim("a", "ERROR"), _claim("b", "ERROR"), _claim("c", "PASS", expected="fail")]
    assert cli.summary_line(broken, 0.34) == "1 failed, 2 errors in 0.3 s"
    assert cli.summary_line([], 1.0) == "no claims in 1.0 s"


def test_console_marks_inconclusive_and_fragile_claims(capsys):
    cli._print_claims(
        [
            _claim("unsure", "INCONCLUSIVE", reason="no cell"),
            _claim("unsure_control", "INCONCLUSIVE", expected="fail"),
            _claim(
                "shaky",
                "PASS",
                margin=0.004,
                noise=0.012,
                fragile=True,
                fragile_reason="margin 0.004 inside noise 0.012",
            ),
            _claim("wrong", "FAIL"),
        ]
    )
    out = capsys.readouterr().out
    assert "DOES NOT HOLD" not in out.split("wrong")[0]  # only the claim that failed
    assert "INCONCLUSIVE unsure: inconclusive" in out
    assert "unsure_control (negative control): inconclusive" in out
    assert "PASS         shaky: holds (fragile: margin 0.004 inside noise 0.012)" in out
    assert "FAIL         wrong: DOES NOT HOLD" in out


def test_judge_ends_with_the_summary_line(tmp_path, capsys):
    """``runner judge`` on the stored regression_1d run: a negative control that holds is
    counted as passed, and the summary is the last line."""
    run_dir = shutil.copytree(STORED_RUN, tmp_path / STORED_RUN.name)
    code = cli.main(["judge", str(run_dir)])
    out = capsys.readouterr().out.splitlines()
    assert code == cli.EXIT_CLAIM_FAILED
    assert re.fullmatch(r"3 failed, 7 passed in [\d.]+ s", out[-1]), out[-1]


def test_exit_codes_with_informational_verdicts():
    """``verdicts: informational`` (smoke profiles): verdicts never fail the run; an errored cell
    or claim still exits 3 and an interrupt 2. The same claims as evidence exit 1."""
    from runner.results import ClaimResult

    def claim(verdict: str, expected: str = "pass") -> ClaimResult:
        return ClaimResult("c", "threshold", verdict, expected, "e", "o")

    failed = [claim("PASS"), claim("FAIL"), claim("INCONCLUSIVE")]
    ok = {"a": "finished"}
    code = cli.exit_code
    assert code(failed, ok, interrupted=False, strict=False) == cli.EXIT_CLAIM_FAILED
    assert code(failed, ok, interrupted=False, strict=True, informational=True) == cli.EXIT_OK
    assert code([claim("ERROR")], ok, interrupted=False, strict=False, informational=True) == 3
    errored = {"a": "error"}
    assert code(failed, errored, interrupted=False, strict=False, informational=True) == 3
    assert code(failed, ok, interrupted=True, strict=False, informational=True) == 2
    assert code([claim("PASS")], ok, interrupted=False, strict=False) == cli.EXIT_OK
