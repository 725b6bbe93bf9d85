"""Crash safety: a run killed with SIGKILL at several points leaves no half-written file, and
``--resume`` then ends with the claims of an uninterrupted run."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from runner import cli, store


def below_gd(optimizer: str, **extra) -> dict:
    """The claim ``<optimizer>_below_gd``: its ``left`` (final relative mode error) is below gd's
    (this spec's claims, and test_failures.py's)."""
    return {
        "id": f"{optimizer}_below_gd",
        "kind": "compare",
        "left": {"observable": "left", "where": {"optimizer": optimizer}},
        "right": {"observable": "left", "where": {"optimizer": "gd"}},
        "op": "<",
        **extra,
    }


SPEC = {
    "name": "crash",
    "task": {"kind": "random_jacobian", "residuals": 8, "parameters": 20},
    "model": {"kind": "linear"},
    "loss": {"kind": "mse", "convention": "raw"},
    "optimizers": {
        "gd": {"kind": "gd", "learning_rate": 0.01},
        "lm": {"kind": "lm", "learning_rate": 0.5, "damping": 0.1},
        "gn": {"kind": "gn", "learning_rate": 0.5, "eps": 1e-6},
    },
    "train": {"steps": 30, "eval_every": 3, "precision": "float64"},
    "metrics": [{"kind": "mode_error", "modes": 4}],
    "sweep": {"seeds": [0, 1], "grid": {"task.singular_min": [1e-2, 1e-3]}},
    "observables": {
        "left": {"kind": "final", "metric": "mode_error", "relative_to_initial": True},
    },
    "claims": [
        below_gd("gn", for_each="task.singular_min"),
        below_gd("lm", for_each="task.singular_min"),
    ],
}


def _command(spec: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "runner.cli", "run", str(spec), "--out", str(out), *extra]


def _run_dir(out: Path) -> Path:
    (run_dir,) = store.run_dirs(out)
    return run_dir


def _claims(run_dir: Path) -> list[tuple]:
    claims = json.loads((run_dir / "claims.json").read_text())["claims"]
    return [(c["id"], c["verdict"], json.dumps(c["observed"], sort_keys=True)) for c in claims]


def _assert_complete_files(run_dir: Path) -> None:
    """Every visible file is whole: JSON parses, npz loads (temporary files are hidden)."""
    for path in run_dir.rglob("*"):
        if path.is_dir() or path.name.startswith("."):
            continue
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".npz":
            with np.load(path) as data:
                [data[k] for k in data.files]
        elif path.suffix in (".yaml", ".txt", ".html", ".xml"):
            assert path.read_bytes() is not None


@pytest.fixture(scope="module")
def spec_and_reference(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    spec = root / "crash.yaml"
    spec.write_text(yaml.safe_dump(SPEC), encoding="utf-8")
    out = root / "reference"
    done = subprocess.run(_command(spec, out), capture_output=True, text=True, timeout=600)
    assert done.returncode in (cli.EXIT_OK, cli.EXIT_CLAIM_FAILED), done.stderr
    return spec, _claims(_run_dir(out))


@pytest.mark.parametrize("finished_before_kill", [0, 1, 5])
def test_sigkill_then_resume_gives_the_same_claims(
    spec_and_reference, tmp_path, finished_before_kill
):
    spec, reference = spec_and_reference
    out = tmp_path / "out"
    process = subprocess.Popen(
        _command(spec, out), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    deadline = time.time() + 300
    while time.time() < deadline and process.poll() is None:
        cells = list(out.glob("*/cells/*/summary.json")) if out.exists() else []
        started = out.exists() and any(out.glob("*/manifest.json"))
        if started and len(cells) >= finished_before_kill:
            break
        time.sleep(0.02)
    assert process.poll() is None, "the run ended before it could be killed"
    # a random moment after the count was reached: inside a cell, between files, or in a write
    time.sleep(random.Random(finished_before_kill).uniform(0.0, 0.4))
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    run_dir = _run_dir(out)
    _assert_complete_files(run_dir)

    resumed = subprocess.run(
        _command(spec, out, "--resume", str(run_dir)), capture_output=True, text=True, timeout=600
    )
    assert resumed.returncode in (cli.EXIT_OK, cli.EXIT_CLAIM_FAILED), resumed.stderr
    assert "Traceback" not in resumed.stderr
    _assert_complete_files(run_dir)
    assert not list(run_dir.rglob(".*.tmp")), "temporary files left after --resume"
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "finished"
    assert all(c["status"] == "finished" for c in manifest["cells"])
    assert _claims(run_dir) == reference
