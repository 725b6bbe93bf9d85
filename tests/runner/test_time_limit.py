"""``runner run --time-limit``: cells stop between chunks at the deadline, are kept as paused, and
``--resume`` finishes them with every array an uninterrupted run gives."""

from __future__ import annotations

import json

import numpy as np
import yaml

from runner import cli, engines, store
from runner.plan import plan
from runner.run import reusable_summaries
from runner.spec import Spec

from .test_crash import SPEC
from .test_engines import CONTINUING, _metrics, _quiet


def test_cells_paused_chunk_by_chunk_end_with_the_uninterrupted_arrays(tmp_path):
    """A deadline already past: each call starts one cell (so every call makes progress), which
    trains one chunk and pauses. Called again and again, the donor and then the switch that
    continues it finish, and every array equals the straight run's."""
    cells = plan(Spec.model_validate(CONTINUING), CONTINUING)
    straight = tmp_path / "straight"
    engines.execute(cells, straight, engine="inline", progress=_quiet(cells))

    run = tmp_path / "paused"
    calls, seen = 0, set()
    while True:
        calls += 1
        reuse = reusable_summaries(run, cells) if run.exists() else {}
        summaries = engines.execute(
            cells, run, engine="inline", progress=_quiet(cells), reuse=reuse, deadline=0.0
        )
        statuses = {cell.cell_id: summaries.get(cell.cell_id, {}).get("status") for cell in cells}
        seen |= set(statuses.values())
        if set(statuses.values()) == {"finished"}:
            break
        assert calls < 40, statuses
    # gd: 30 steps in chunks of 3; the switch: 18 steps after the donor's 12, in chunks of 6
    assert calls == 10 + 3 and {"paused", None} <= seen
    gd, switch = cells
    summary = store.read_summary(run / "cells" / switch.cell_id)
    assert summary["continued_from"] == gd.cell_id and summary["steps_done"] == 30
    paused, ours = _metrics(straight, cells), _metrics(run, cells)
    for cell in cells:
        assert sorted(ours[cell.cell_id]) == sorted(paused[cell.cell_id])
        for name, values in paused[cell.cell_id].items():
            np.testing.assert_array_equal(ours[cell.cell_id][name], values, err_msg=name)
        directory = run / "cells" / cell.cell_id
        assert not list(directory.glob(f"{store.CHECKPOINT}.*"))  # removed when it ended
        assert store.read_summary(directory)["wall_seconds"] > 0


def test_a_checkpoint_of_another_cell_or_code_version_is_not_resumed(tmp_path, monkeypatch):
    cells = plan(Spec.model_validate(CONTINUING), CONTINUING)
    run = tmp_path / "run"
    engines.execute(cells[:1], run, engine="inline", progress=_quiet(cells), deadline=0.0)
    directory = run / "cells" / cells[0].cell_id
    assert store.read_summary(directory)["status"] == "paused"
    phases, seconds = store.read_paused(directory, cells[0].hash)
    assert list(phases) == ["main"] and phases["main"].stopped and seconds > 0
    assert phases["main"].steps_done == 3 and list(phases["main"].eval_steps) == [0, 3]
    assert store.read_paused(directory, "another hash") is None
    monkeypatch.setattr(store, "code_version", lambda: "other code")
    assert store.read_paused(directory, cells[0].hash) is None


def _spec_file(tmp_path, **train) -> str:
    """test_crash's spec (3 optimizers x 2 points) with one seed and ``train`` changed."""
    spec = {**SPEC, "train": {**SPEC["train"], **train}, "sweep": {**SPEC["sweep"], "seeds": [0]}}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return str(path)


def test_the_command_pauses_exits_2_without_judging_and_resume_finishes(tmp_path, capsys):
    spec, out = _spec_file(tmp_path, eval_every=15), tmp_path / "out"  # 2 chunks per cell
    args = ["run", spec, "--out", str(out), "--jobs", "1", "--time-limit", "0.001"]
    assert cli.main(args) == cli.EXIT_INTERRUPTED
    printed = capsys.readouterr()
    assert "stopped at the time limit" in printed.err and "report:" not in printed.out
    run_dir = (out / "latest").resolve()
    manifest = store.read_json(run_dir / "manifest.json")
    assert manifest["status"] == "paused" and manifest["interrupted_while"] == "time limit"
    assert not (run_dir / "claims.json").exists()
    for _ in range(40):
        code = cli.main(["run", spec, "--resume", str(run_dir), "--jobs", "1"])
        if code != cli.EXIT_INTERRUPTED:
            break
    assert code == cli.EXIT_OK
    claims = json.loads((run_dir / "claims.json").read_text())
    assert store.read_json(run_dir / "manifest.json")["status"] == "finished"
    assert claims


def test_time_limit_misuse_is_a_usage_error(tmp_path, capsys):
    spec = _spec_file(tmp_path)
    for extra in (
        ["--time-limit", "-5"],
        ["--time-limit", "5", "--engine", "submitit"],
        ["--time-limit", "5", "--check-robustness"],
    ):
        assert cli.main(["run", spec, "--out", str(tmp_path / "o"), *extra]) == cli.EXIT_USAGE
        assert "--time-limit" in capsys.readouterr().err
