"""Engines give identical cells: the submitit job array (through submitit's local executor, no
cluster needed) writes the same metrics as the inline engine."""

from __future__ import annotations

import numpy as np
import pytest

from runner import engines
from runner.plan import plan
from runner.spec import Spec

from .test_crash import SPEC


def _metrics(run_dir, cells) -> dict[str, dict[str, np.ndarray]]:
    out = {}
    for cell in cells:
        with np.load(run_dir / "cells" / cell.cell_id / "metrics.npz") as data:
            out[cell.cell_id] = {k: data[k] for k in data.files}
    return out


def test_submitit_engine_matches_inline(tmp_path):
    pytest.importorskip("submitit")
    spec = Spec.model_validate(SPEC)
    cells = plan(spec, SPEC)[:4]
    quiet = engines.Progress(len(cells), 1, stream=open("/dev/null", "w"))  # noqa: SIM115
    inline = engines.execute(cells, tmp_path / "inline", engine="inline", progress=quiet)
    quiet = engines.Progress(len(cells), 1, stream=open("/dev/null", "w"))  # noqa: SIM115
    submitted = engines.execute(
        cells,
        tmp_path / "submitit",
        engine="submitit",
        progress=quiet,
        engine_options={"cluster": "local", "timeout_min": 10},
    )
    assert {k: v["status"] for k, v in submitted.items()} == {
        k: v["status"] for k, v in inline.items()
    }
    assert all(v["status"] == "finished" for v in submitted.values())
    a, b = _metrics(tmp_path / "inline", cells), _metrics(tmp_path / "submitit", cells)
    for cell_id in a:
        for name in a[cell_id]:
            np.testing.assert_array_equal(a[cell_id][name], b[cell_id][name])
    # the job logs are kept inside the run directory, nothing else is written by the jobs
    assert (tmp_path / "submitit" / "submitit").is_dir()


def test_submitit_engine_refuses_unknown_options(tmp_path):
    pytest.importorskip("submitit")
    spec = Spec.model_validate(SPEC)
    cells = plan(spec, SPEC)[:1]
    quiet = engines.Progress(1, 1, stream=open("/dev/null", "w"))  # noqa: SIM115
    with pytest.raises(engines.EngineUnavailable, match="partitoin"):
        engines.execute(
            cells,
            tmp_path,
            engine="submitit",
            progress=quiet,
            engine_options={"cluster": "local", "slurm_partitoin": "gpu"},
        )


def test_cli_refuses_bad_engine_options_before_running(tmp_path, capsys):
    pytest.importorskip("submitit")
    import yaml

    from runner import cli

    spec = tmp_path / "crash.yaml"
    spec.write_text(yaml.safe_dump(SPEC), encoding="utf-8")
    out = tmp_path / "out"
    bad = ["--engine-opt", "cluster=local", "--engine-opt", "slurm_partitoin=gpu"]
    assert cli.main(["run", str(spec), "--out", str(out), "--engine", "submitit", *bad]) == 4
    assert "partitoin" in capsys.readouterr().err
    assert cli.main(["run", str(spec), "--out", str(out), "--engine-opt", "x=1"]) == 4
    assert "--engine-opt is for --engine submitit or ray" in capsys.readouterr().err
    assert not out.exists()


def test_detach_then_status_then_judge(tmp_path, capsys):
    """``--detach`` returns once the job array is submitted; ``runner status`` follows the cells
    from their directories and ``runner judge`` then gives the inline claims."""
    pytest.importorskip("submitit")
    import json
    import time

    import yaml

    from runner import cli

    spec = tmp_path / "crash.yaml"
    spec.write_text(yaml.safe_dump(SPEC), encoding="utf-8")
    inline_out = tmp_path / "inline"
    assert cli.main(["run", str(spec), "--out", str(inline_out)]) in (0, 1)
    (inline_dir,) = [p for p in inline_out.iterdir() if p.is_dir() and not p.is_symlink()]
    out = tmp_path / "detached"
    args = ["run", str(spec), "--out", str(out), "--engine", "submitit", "--detach"]
    assert cli.main([*args, "--engine-opt", "cluster=local"]) == cli.EXIT_OK
    assert "submitted 12 job(s)" in capsys.readouterr().out
    (run_dir,) = [p for p in out.iterdir() if p.is_dir() and not p.is_symlink()]
    assert json.loads((run_dir / "manifest.json").read_text())["status"] == "submitted"
    assert (run_dir / "submitit" / "jobs.json").exists()
    deadline = time.time() + 300
    while time.time() < deadline:
        assert cli.main(["status", str(run_dir)]) == cli.EXIT_OK
        if "12 finished" in capsys.readouterr().out:
            break
        time.sleep(1)
    else:
        pytest.fail("the detached jobs did not finish")
    assert cli.main(["judge", str(run_dir)]) in (0, 1)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "finished"

    def claims(path):
        data = json.loads((path / "claims.json").read_text())["claims"]
        return [(c["id"], c["verdict"], c["observed"]) for c in data]

    assert claims(run_dir) == claims(inline_dir)
    assert cli.main(["run", str(spec), "--out", str(out), "--detach"]) == cli.EXIT_USAGE


def test_ray_engine_refuses_unknown_options(tmp_path, capsys):
    """(The ray engine's claims against inline: test_cli_e2e, on a smoke profile.)"""
    pytest.importorskip("ray")
    import yaml

    from runner import cli

    spec = tmp_path / "crash.yaml"
    spec.write_text(yaml.safe_dump(SPEC), encoding="utf-8")
    bad = ["--engine", "ray", "--engine-opt", "num_cpu=2"]
    assert cli.main(["run", str(spec), "--out", str(tmp_path / "bad"), *bad]) == 4
    assert "unknown option(s) ['num_cpu']" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
