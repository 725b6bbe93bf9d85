"""runner.api: load / judge / metrics / display on a copy of the stored smoke run, and run() once
on a tiny smoke profile (one optimizer, a small model, 40 steps)."""

from __future__ import annotations

import ast
import json
import re
import shlex
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

from runner import api, cli, store
from runner.load import SpecError
from runner.results import CellResult
from runner.tidy import TableError, metric_table

FIXTURE = Path(__file__).parent / "data" / "regression_1d_smoke_run"
ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "specs" / "regression_1d.yaml"
FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)  # a Python block
OPTIMIZERS = ["gd", "lm_0.5", "lm_0.1", "gn"]
BASE_COLUMNS = ["cell", "optimizer", "seed", "step", "metric", "group", "value"]


@pytest.fixture
def run_dir(tmp_path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(FIXTURE, target)
    return target


def _arrays(run_dir: Path, cell_id: str) -> dict[str, np.ndarray]:
    with np.load(run_dir / "cells" / cell_id / "metrics.npz") as arrays:
        return {name: arrays[name] for name in arrays.files}


def test_load_reads_the_run_directory(run_dir):
    run = api.load(run_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    stored = json.loads((run_dir / "claims.json").read_text())["claims"]
    assert run.dir == run_dir
    assert run.manifest["run_id"] == manifest["run_id"]
    assert run.spec.name == "regression_1d"
    assert run.spec.train.steps == 120  # the smoke profile, applied
    assert [cell.optimizer for cell in run.cells] == OPTIMIZERS
    assert all(cell.status == "finished" and cell.eval_steps[-1] == 120 for cell in run.cells)
    assert [claim.id for claim in run.claims] == [c["id"] for c in stored]
    assert run.verdicts == {c["id"]: c["verdict"] for c in stored}
    assert run.claim("control_gd_uniform").expected == "fail"
    with pytest.raises(KeyError, match="gn_uniform_rate"):
        run.claim("nope")
    assert repr(run).startswith("<Run regression_1d [smoke] finished: 4 cells, 10 claims")


def test_load_follows_latest_and_names_a_wrong_path(run_dir, tmp_path):
    (tmp_path / "latest").symlink_to(run_dir.name, target_is_directory=True)
    assert api.load(tmp_path / "latest").dir == run_dir
    with pytest.raises(FileNotFoundError, match="nowhere: no such run directory"):
        api.load(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="cells: not a run directory"):
        api.load(run_dir / "cells")


def test_metrics_is_the_stored_arrays_as_a_tidy_table(run_dir):
    run = api.load(run_dir)
    table = run.metrics()
    assert list(table.columns) == BASE_COLUMNS  # the smoke profile sweeps seeds only
    assert list(table.metric.unique()) == ["fft_error", "mse", "ntk_change", "param_distance"]
    expected_rows = 0
    for cell in run.cells:
        arrays = _arrays(run_dir, cell.cell_id)
        steps = arrays["eval/step"]
        fft = table[(table.cell == cell.cell_id) & (table.metric == "fft_error")]
        assert (fft.optimizer == cell.optimizer).all() and (fft.seed == 0).all()
        grid = fft.pivot(index="step", columns="group", values="value")
        assert list(grid.index) == steps.tolist()
        labels = [str(mode) for mode in range(11)]
        np.testing.assert_array_equal(grid[labels].to_numpy(), arrays["eval/fft_error"])
        mse = table[(table.cell == cell.cell_id) & (table.metric == "mse")]
        assert (mse.group == "").all()  # an ungrouped metric
        np.testing.assert_array_equal(mse.step, steps)
        np.testing.assert_array_equal(mse.value, arrays["eval/mse"])
        expected_rows += len(steps) * (11 + 3)
    assert len(table) == expected_rows


def test_metrics_by_name_includes_the_per_step_records(run_dir):
    run = api.load(run_dir)
    assert run.metric_names()[:5] == ["fft_error", "mse", "ntk_change", "param_distance", "loss"]
    assert "train/lm/damping" in run.metric_names()
    loss = run.metrics("loss", where={"optimizer": "lm_0.5"})
    arrays = _arrays(run_dir, "001_lm_0.5_s0_f4297e75")
    np.testing.assert_array_equal(loss.step, np.arange(120))
    np.testing.assert_array_equal(loss.value, arrays["train/loss"])
    damping = run.metrics(["train/lm/damping"])
    assert set(damping.optimizer) == {"lm_0.5", "lm_0.1"}  # only the cells that record it
    with pytest.raises(TableError, match=r"unknown metric\(s\) 'fft'; this run has fft_error"):
        run.metrics("fft")


def test_where_selects_cells_as_a_claim_does(run_dir):
    run = api.load(run_dir)
    assert set(run.metrics("mse", where={"optimizer": "gd"}).optimizer) == {"gd"}
    chosen = run.metrics("mse", where={"optimizer": {"in": ["gd", "gn"]}, "seed": 0})
    assert list(chosen.optimizer.unique()) == ["gd", "gn"]
    assert len(run.metrics("mse", where={"seed": 1})) == 0
    with pytest.raises(TableError, match="unknown key.*'optimiser'.*optimizer, seed"):
        run.metrics(where={"optimiser": "gd"})


def _swept_cells() -> list[CellResult]:
    def cell(alpha: float, seed: int) -> CellResult:
        return CellResult(
            cell_id=f"c{alpha}_{seed}",
            optimizer="lm",
            seed=seed,
            point={"model.alpha": alpha},
            status="finished",
            eval_steps=np.array([0, 10]),
            metrics={"mse": np.array([1.0, alpha])},
        )

    return [cell(2.0, 0), cell(4.0, 0), cell(4.0, 1)]


def test_a_sweep_key_is_a_column_and_selects():
    table = metric_table(_swept_cells(), where={"model.alpha": 4})  # 4 selects 4.0, as claims do
    assert table.columns == ["cell", "optimizer", "model.alpha", *BASE_COLUMNS[2:]]
    assert table.rows == [
        ("c4.0_0", "lm", 4.0, 0, 0, "mse", "", 1.0),
        ("c4.0_0", "lm", 4.0, 0, 10, "mse", "", 4.0),
        ("c4.0_1", "lm", 4.0, 1, 0, "mse", "", 1.0),
        ("c4.0_1", "lm", 4.0, 1, 10, "mse", "", 4.0),
    ]


def test_metrics_without_pandas_are_records(run_dir, monkeypatch):
    run = api.load(run_dir)
    frame = run.metrics(["mse", "fft_error"], where={"optimizer": "gn"})
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    records = run.metrics(["mse", "fft_error"], where={"optimizer": "gn"})
    assert isinstance(records, list) and isinstance(records[0], dict)
    assert list(records[0]) == BASE_COLUMNS
    assert records == frame.to_dict("records")


def test_repr_html_is_the_escaped_claim_table(run_dir):
    run = api.load(run_dir)
    run.claims[0].statement = '<script>alert("x")</script> & co'
    run.claims[1].id = "a<b"
    shown = run._repr_html_()
    assert "<script>" not in shown
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in shown
    assert "<code>a&lt;b</code>" in shown
    assert shown.count("<tr>") == len(run.claims) + 1
    assert "<td><code>control_gd_uniform</code></td><td>FAIL</td><td>yes</td>" in shown
    assert "[negative control] Negative control: GD does NOT decay" in shown
    margin = next(c for c in run.claims if c.id == "gd_spectral_bias").margin
    assert f'<td style="text-align:right">{margin:.4g}' in shown


@pytest.fixture
def reports(monkeypatch) -> list[list[str]]:
    """Each report judging writes, as its claim ids: rendering the 18 figures of the stored run
    would cost 4 s, and test_report.py and test_notebook.py render reports already."""
    written: list[list[str]] = []

    def write_report(run_dir, loaded, manifest, claims, cells, robustness=None):
        written.append([claim.id for claim in claims])

    monkeypatch.setattr("runner.run.write_report", write_report)
    return written


def _edited_spec(run_dir: Path, tmp_path: Path, edit) -> Path:
    spec = yaml.safe_load((run_dir / "spec.yaml").read_text())
    edit(spec)
    path = tmp_path / "edited.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_judge_with_an_edited_claim(run_dir, tmp_path, reports):
    def raise_the_bound(spec):  # "GD keeps more than 1e6 of its error": now false
        (bias,) = [c for c in spec["claims"] if c["id"] == "gd_spectral_bias"]
        bias["value"] = 1.0e6

    edited = _edited_spec(run_dir, tmp_path, raise_the_bound)
    before = api.load(run_dir)
    assert before.verdicts["gd_spectral_bias"] == "PASS"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the cells are unchanged: no warning
        after = api.judge(before, spec=edited)
    assert after.verdicts["gd_spectral_bias"] == "FAIL"
    value = after.claim("gd_spectral_bias").observed["value"]
    assert value == before.claim("gd_spectral_bias").observed["value"]  # the same cells
    assert [c.verdict for c in store.read_claims(run_dir)] == list(after.verdicts.values())
    assert reports == [list(after.verdicts)]
    assert after.spec.claims[2].value == 1.0e6
    assert api.load(run_dir).verdicts == after.verdicts  # judged with spec.judged.yaml


def test_judge_warns_when_the_spec_would_train_other_cells(run_dir, tmp_path, reports):
    def more_steps(spec):
        spec["profiles"]["smoke"]["train"]["steps"] = 200

    edited = _edited_spec(run_dir, tmp_path, more_steps)
    with pytest.warns(UserWarning, match=r"4 cell\(s\) would be different .*000_gd_s0"):
        api.judge(run_dir, spec=edited)
    assert len(reports) == 1


def test_overrides_are_the_set_strings_of_the_command_line():
    values = {
        "train.steps": 50,
        "model.hidden": [16, 16],
        "model.activation": "tanh",
        "train.precision": "float64",
        "optimizers.gd.learning_rate": 1.0e-2,
        "loss.scale": float("inf"),
        "model.bias": None,
        "flag": True,
        "text": "a: b",
        "array": np.array([1, 2]),
    }
    overrides = api.overrides_of(values)
    assert overrides[:4] == [
        "train.steps=50",
        "model.hidden=[16, 16]",
        "model.activation=tanh",
        "train.precision=float64",
    ]
    for (key, value), override in zip(values.items(), overrides, strict=True):
        name, _, text = override.partition("=")
        assert name == key
        plain = value.tolist() if isinstance(value, np.ndarray) else value
        assert yaml.safe_load(text) == plain, override
    with pytest.raises(TypeError, match="expected a mapping"):
        api.overrides_of(["train.steps=5"])  # type: ignore[arg-type]


def test_run_refuses_mistakes_before_running(tmp_path):
    with pytest.raises(SpecError, match="missing.yaml"):
        api.run(tmp_path / "missing.yaml", out=tmp_path)
    with pytest.raises(SpecError, match="train.stepz"):
        api.run(SPEC, profile="smoke", set={"train.stepz": 5}, out=tmp_path)
    with pytest.raises(SpecError, match="nope"):
        api.run(SPEC, profile="nope", out=tmp_path)
    with pytest.raises(ValueError, match="jobs must be"):
        api.run(SPEC, jobs=0, out=tmp_path)
    with pytest.raises(ValueError, match="unknown engine 'gpu'; engines: inline, local"):
        api.run(SPEC, engine="gpu", out=tmp_path)
    with pytest.raises(ValueError, match=r"unknown optimizer\(s\) \['adam'\]"):
        api.run(SPEC, profile="smoke", only=["adam"], out=tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing was written


def test_run_trains_the_spec_as_runner_run_does(tmp_path):
    overrides = {"train.steps": 40, "model.hidden": [16, 16]}
    run = api.run(SPEC, profile="smoke", set=overrides, jobs=1, out=tmp_path, only=["gd"])
    assert run.dir.parent == tmp_path and (run.dir / "report.html").is_file()
    assert run.manifest["overrides"] == ["train.steps=40", "model.hidden=[16, 16]"]
    assert "--set 'model.hidden=[16, 16]'" in run.manifest["command"]
    assert run.manifest["engine"] == "inline"
    (cell,) = run.cells
    assert (cell.optimizer, cell.status, cell.steps_done) == ("gd", "finished", 40)
    assert run.spec.model.hidden == [16, 16]
    assert list(run.verdicts) == [claim.id for claim in run.spec.claims]
    assert run.verdicts["gd_spectral_bias"] in ("PASS", "FAIL")  # judged on the gd cell
    assert run.metrics("mse").step.max() == 40
    assert api.load(tmp_path / "latest").verdicts == run.verdicts


def test_the_documented_api_exists(run_dir):
    """Every Python block of docs/python-api.md and README.md parses, and every ``api.NAME`` and
    ``run.NAME`` it uses exists: the guide cannot drift from the module."""
    run = api.load(run_dir)
    blocks = [
        block
        for path in (ROOT / "docs" / "python-api.md", ROOT / "README.md")
        for block in FENCE.findall(path.read_text(encoding="utf-8"))
    ]
    assert len(blocks) >= 6
    for block in blocks:
        ast.parse(block)
    text = "\n".join(blocks)
    assert set(re.findall(r"\bapi\.(\w+)", text)) <= set(dir(api))
    used = set(re.findall(r"\brun\.(\w+)", text))
    assert {"metrics", "figure", "verdicts", "claims", "cells"} <= used
    assert used <= set(dir(run))
    guide = (ROOT / "docs" / "python-api.md").read_text(encoding="utf-8")
    commands = [
        shlex.split(line, comments=True)[1:]
        for block in re.findall(r"^```bash\n(.*?)^```", guide, re.MULTILINE | re.DOTALL)
        for line in block.splitlines()
        if line.startswith("runner ")
    ]
    assert [args[0] for args in commands] == ["export", "export"]
    for args in commands:
        cli.build_parser().parse_args(args)  # exits 4 (SystemExit) where one does not parse
