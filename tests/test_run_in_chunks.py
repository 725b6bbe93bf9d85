"""scripts/run_in_chunks.py: a profile run across several calls with a training limit per call,
the state kept in chunks.json, the finished run collected for the results page."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import yaml

from runner import store
from tests.benchmark_scripts import run_script
from tests.runner.test_crash import SPEC

_script = partial(run_script, "scripts/run_in_chunks.py")


def test_a_run_in_tiny_chunks_resumes_until_judged_and_is_collected(tmp_path):
    spec = {
        **SPEC,
        "optimizers": {"gd": SPEC["optimizers"]["gd"]},
        "train": {**SPEC["train"], "eval_every": 15},  # 2 chunks
        "sweep": {"seeds": [0]},
        "claims": [{"id": "finite", "kind": "stable"}],
        "profiles": {"default": {}, "paper": {}},
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(spec))
    out, results = tmp_path / "out", tmp_path / "results"
    common = [str(path), "--out", str(out), "--jobs", "1", "--collect", str(results)]

    nothing = _script(*common, "--budget", "0")  # no time at all: call again
    assert nothing.returncode == 2, nothing.stderr[-2000:]
    assert "call again" in nothing.stdout

    done = _script(
        *common, "--budget", "300", "--reserve", "1", "--min-chunk", "1", "--chunk", "0.001"
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    entry = json.loads((out / "chunks.json").read_text())[str(path)]
    assert entry["status"] == "done" and entry["calls"] == 2  # paused after chunk 1, then judged
    run_dir = Path(entry["run_dir"])
    assert store.read_json(run_dir / "manifest.json")["status"] == "finished"
    collected = Path(entry["collected"])
    assert collected.parent == results / "crash" / "paper"
    assert sorted(p.name for p in collected.iterdir()) == [
        "claims.json",
        "env.json",
        "manifest.json",
    ]

    again = _script(*common, "--budget", "300")  # everything done: nothing runs
    assert (
        again.returncode == 0
        and json.loads((out / "chunks.json").read_text())[str(path)]["calls"] == 2
    )


def test_a_missing_spec_is_bad_input(tmp_path):
    result = _script(str(tmp_path / "nope.yaml"), "--out", str(tmp_path / "out"))
    assert result.returncode == 4 and "no spec to run" in result.stdout
