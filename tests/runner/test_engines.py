"""Engines give identical cells: the submitit job array (through submitit's local executor, no
cluster needed) writes the same metrics as the inline engine."""

from __future__ import annotations

import numpy as np
import pytest

from runner import engines, store
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
    (inline_dir,) = store.run_dirs(inline_out)
    out = tmp_path / "detached"
    args = ["run", str(spec), "--out", str(out), "--engine", "submitit", "--detach"]
    assert cli.main([*args, "--engine-opt", "cluster=local"]) == cli.EXIT_OK
    assert "submitted 12 job(s)" in capsys.readouterr().out
    (run_dir,) = store.run_dirs(out)
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


# --- the default engine: a worker per core, longest cells first ---------------------------------


def test_resolve_engine(monkeypatch):
    monkeypatch.setattr(engines, "available_cores", lambda: 4)
    assert engines.resolve_engine(None, None) == ("local", 4)
    assert engines.resolve_engine(None, 1) == ("inline", 1)
    assert engines.resolve_engine(None, 3) == ("local", 3)
    assert engines.resolve_engine("local", None) == ("local", 4)
    assert engines.resolve_engine("inline", None) == ("inline", 1)
    monkeypatch.setattr(engines, "available_cores", lambda: 1)
    assert engines.resolve_engine(None, None) == ("inline", 1)


def test_available_cores_follows_the_affinity():
    import os

    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert engines.available_cores() == expected


def _grokking_cells():
    from runner.load import load_spec

    from .test_cli_e2e import ROOT

    loaded = load_spec(ROOT / "specs" / "grokking_mnist.yaml")
    return plan(loaded.spec, loaded.resolved)


def test_longest_first_by_estimate():
    """Without timings, the LM cells go first (second-order steps, and the switch cells that
    continue them wait for them), then the first-order ones in plan order (the switch cells,
    whose own part is 10 000 AdamW steps, after the 15 000-step ones)."""
    cells = _grokking_cells()
    ordered = engines.longest_first(cells)
    assert sorted(c.cell_id for c in ordered) == sorted(c.cell_id for c in cells)
    lm = [c for c in cells if c.optimizer == "lm"]
    assert ordered[: len(lm)] == lm
    switches = [c for c in cells if c.optimizer == "lm_then_adamw"]
    assert ordered[-len(switches) :] == switches
    rest = [c for c in cells if c not in lm and c not in switches]
    assert ordered[len(lm) : -len(switches)] == rest  # stable among equal estimates
    assert engines.estimated_cost(lm[0]) > engines.estimated_cost(rest[0])
    assert engines.estimated_cost(switches[0]) < engines.estimated_cost(rest[0])


def test_longest_first_starts_the_workers_on_different_programs():
    """With 2 workers the first two cells compile different programs (LM, then GN; LM's damping
    is a traced number, so lm_0.5 and lm_0.1 are one program); the rest stays longest first."""
    from runner.load import load_spec

    from .test_cli_e2e import ROOT

    loaded = load_spec(ROOT / "specs" / "regression_1d.yaml")
    cells = plan(loaded.spec, loaded.resolved)
    assert len({engines._program(c) for c in cells}) == 3  # gd, lm (both dampings), gn
    one = engines.longest_first(cells)
    two = engines.longest_first(cells, workers=2)
    assert [c.optimizer for c in one[:2]] == ["lm_0.5", "lm_0.5"]
    assert [c.optimizer for c in two[:2]] == ["lm_0.5", "gn"]
    assert two[2:] == [c for c in one if c not in two[:2]]


def test_longest_first_by_previous_timings():
    """A previous run's seconds decide where known; cells without a time are estimated in
    seconds by the median ratio of the timed ones."""
    cells = _grokking_cells()
    adamw = next(c for c in cells if c.optimizer == "adamw")
    timed = {c.hash: 1.0 for c in cells} | {adamw.hash: 1000.0}
    ordered = engines.longest_first(cells, timed)
    lm = [c for c in cells if c.optimizer == "lm"]  # 1 s, +1 s of the switch that waits
    assert ordered[0] == adamw and ordered[1 : 1 + len(lm)] == lm
    assert ordered[1 + len(lm) :] == [c for c in cells if c != adamw and c not in lm]
    first_order = [c for c in cells if c.optimizer != "lm"]
    partly = {c.hash: 10.0 for c in first_order}  # the LM cells are estimated: scaled, longer
    ordered = engines.longest_first(cells, partly)
    assert ordered[len(cells) - len(first_order) :] == first_order


def test_local_engine_interrupt_stops_the_workers(tmp_path):
    """Ctrl-C in the parent of a local pool (here: raised from the progress display after the
    first cell) terminates the workers, keeps the finished cells with their files and leaves no
    temporary file."""
    import multiprocessing

    spec = Spec.model_validate(SPEC)
    cells = plan(spec, SPEC)

    class Stop(engines.Progress):
        def finish(self, cell, summary, reused=False):
            super().finish(cell, summary, reused)
            raise KeyboardInterrupt

    with pytest.raises(engines.Interrupted) as stopped:
        engines.execute(
            cells,
            tmp_path,
            engine="local",
            jobs=2,
            progress=Stop(len(cells), 2, stream=open("/dev/null", "w")),  # noqa: SIM115
        )
    kept = stopped.value.summaries  # the first, and any a worker finished meanwhile
    assert 1 <= len(kept) <= len(cells)
    for cell_id, summary in kept.items():
        assert summary["status"] == "finished"
        assert (tmp_path / "cells" / cell_id / "metrics.npz").exists()
    assert not list(tmp_path.rglob(".*.tmp"))
    assert not multiprocessing.active_children()  # the workers are gone


CONTINUING = {
    **SPEC,
    "optimizers": {
        "gd": {"kind": "gd", "learning_rate": 0.01},
        "gd_then_gn": {
            "kind": "switch",
            "first": "gd",
            "second": {"kind": "gn", "learning_rate": 0.5, "eps": 1e-6},
            "at": 12,
            "train": {"steps": 30, "eval_every": 6},
        },
    },
    "sweep": {"seeds": [0]},
    "claims": [{"id": "finite", "kind": "stable"}],
}


def _quiet(cells):
    return engines.Progress(len(cells), 1, stream=open("/dev/null", "w"))  # noqa: SIM115


def test_a_continuing_switch_takes_over_its_donor_and_equals_training_it_again(tmp_path):
    """The switch continues gd's cell from its step 12 (gd kept its parameters there): its
    metrics up to 12 are gd's (evaluated every 3 steps) on its own grid (0, 6, 12), its records
    of the first 12 steps are gd's, ``switch/phase`` says when it switched. Run without gd (the
    donor absent), it trains those steps itself: every array is identical."""
    cells = plan(Spec.model_validate(CONTINUING), CONTINUING)
    gd, switch = cells
    assert switch.continues == gd.cell_id and gd.snapshots == (12,)
    run = tmp_path / "run"
    engines.execute(cells[::-1], run, engine="inline", progress=_quiet(cells))  # donor first
    assert (run / "cells" / gd.cell_id / store.SNAPSHOTS).exists()
    assert store.read_summary(run / "cells" / switch.cell_id)["continued_from"] == gd.cell_id
    ours, donor = _metrics(run, [switch])[switch.cell_id], _metrics(run, [gd])[gd.cell_id]
    np.testing.assert_array_equal(ours["eval/step"], [0, 6, 12, 18, 24, 30])
    at_donor_steps = np.isin(donor["eval/step"], [0, 6, 12])
    np.testing.assert_array_equal(
        ours["eval/mode_error"][:3], donor["eval/mode_error"][at_donor_steps]
    )
    np.testing.assert_array_equal(ours["train/loss"][:12], donor["train/loss"][:12])
    np.testing.assert_array_equal(ours["train/switch/phase"], [0] * 12 + [1] * 18)

    alone = tmp_path / "alone"
    engines.execute([switch], alone, engine="inline", progress=_quiet([switch]))
    assert "continued_from" not in store.read_summary(alone / "cells" / switch.cell_id)
    again = _metrics(alone, [switch])[switch.cell_id]
    assert sorted(again) == sorted(ours)
    for name in ours:
        np.testing.assert_array_equal(again[name], ours[name], err_msg=name)
