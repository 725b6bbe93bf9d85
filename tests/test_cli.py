"""The ``runner`` console script: version and usage errors (exit codes of runner/cli.py)."""

from __future__ import annotations

import shutil
import subprocess
import sys

from runner import cli


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
