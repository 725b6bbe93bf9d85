"""``runner export RUN_DIR --csv [PATH]``: the tidy table of ``runner.api.Run.metrics`` as CSV,
on a copy of the stored smoke run."""

from __future__ import annotations

import csv
import io
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from runner import api, cli
from runner.results import CellResult
from runner.tidy import csv_text, metric_table

FIXTURE = Path(__file__).parent / "data" / "regression_1d_smoke_run"


@pytest.fixture
def run_dir(tmp_path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(FIXTURE, target)
    return target


def _read(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _same(rows: list[dict[str, str]], records: list[dict]) -> None:
    """The CSV rows are the records, every float to the last bit."""
    assert len(rows) == len(records)
    for row, record in zip(rows, records, strict=True):
        assert list(row) == list(record)
        assert row["cell"] == record["cell"] and row["optimizer"] == record["optimizer"]
        assert (int(row["seed"]), int(row["step"])) == (record["seed"], record["step"])
        assert (row["metric"], row["group"]) == (record["metric"], record["group"])
        value = float(row["value"])
        assert value == record["value"] or (math.isnan(value) and math.isnan(record["value"]))


def test_export_to_stdout_is_the_metrics_table(run_dir, capsys):
    assert cli.main(["export", str(run_dir), "--csv"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert out.splitlines()[0] == "cell,optimizer,seed,step,metric,group,value"
    _same(_read(out), api.load(run_dir).metrics().to_dict("records"))


def test_export_to_a_file_with_chosen_metrics(run_dir, tmp_path, capsys):
    target = tmp_path / "out" / "metrics.csv"
    code = cli.main(["export", str(run_dir), "--csv", str(target), "--metric", "mse", "--metric"])
    assert code == cli.EXIT_USAGE  # --metric needs a name
    capsys.readouterr()
    args = ["export", str(run_dir), "--csv", str(target), "--metric", "mse", "--metric", "loss"]
    assert cli.main(args) == cli.EXIT_OK
    rows = _read(target.read_text())
    assert capsys.readouterr().out.strip() == f"wrote {len(rows)} rows to {target}"
    assert {row["metric"] for row in rows} == {"mse", "loss"}
    _same(rows, api.load(run_dir).metrics(["mse", "loss"]).to_dict("records"))
    assert [row["group"] for row in rows] == [""] * len(rows)


def test_export_names_what_is_wrong(run_dir, tmp_path, capsys):
    assert cli.main(["export", str(run_dir), "--csv", "--metric", "fft"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "unknown metric(s) 'fft'; this run has fft_error, mse" in err
    assert cli.main(["export", str(tmp_path), "--csv"]) == cli.EXIT_USAGE
    assert "not a run directory (no manifest.json)" in capsys.readouterr().err
    assert cli.main(["export", str(run_dir)]) == cli.EXIT_USAGE
    assert "--csv" in capsys.readouterr().err
    assert cli.main(["export", str(run_dir), "--csv", str(tmp_path)]) == cli.EXIT_USAGE
    assert "a directory" in capsys.readouterr().err


def test_export_of_a_run_without_results_selects_nothing(run_dir, capsys):
    manifest = json.loads((run_dir / "manifest.json").read_text())
    for entry in manifest["cells"]:
        (run_dir / "cells" / entry["cell_id"] / "metrics.npz").unlink()
    assert cli.main(["export", str(run_dir), "--csv"]) == cli.EXIT_NOTHING_SELECTED
    captured = capsys.readouterr()
    assert captured.out == "" and "nothing to export" in captured.err


def test_csv_writes_sweep_values_and_non_finite_numbers():
    cell = CellResult(
        cell_id="c0",
        optimizer="lm",
        seed=0,
        point={"model.alpha": 0.1, "task": {"kind": "regression_1d", "points": 20}},
        status="diverged",
        eval_steps=np.array([0, 10]),
        metrics={"mse": np.array([1.0, np.nan]), "err": np.array([[np.inf, 2.5]])[[0, 0]]},
        groups={"err": ["a", "b"]},
    )
    text = csv_text(metric_table([cell]))
    assert text.splitlines() == [
        "cell,optimizer,model.alpha,task,seed,step,metric,group,value",
        'c0,lm,0.1,"{""kind"": ""regression_1d"", ""points"": 20}",0,0,mse,,1.0',
        'c0,lm,0.1,"{""kind"": ""regression_1d"", ""points"": 20}",0,10,mse,,nan',
        'c0,lm,0.1,"{""kind"": ""regression_1d"", ""points"": 20}",0,0,err,a,inf',
        'c0,lm,0.1,"{""kind"": ""regression_1d"", ""points"": 20}",0,0,err,b,2.5',
        'c0,lm,0.1,"{""kind"": ""regression_1d"", ""points"": 20}",0,10,err,a,inf',
        'c0,lm,0.1,"{""kind"": ""regression_1d"", ""points"": 20}",0,10,err,b,2.5',
    ]
