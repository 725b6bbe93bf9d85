"""The command line as people expect it: several specs or a folder per command (one summary line,
the worst exit code, every spec checked before any trains), any profile name a spec defines, and
``runner claims KIND``. Nothing here trains: ``run`` is tested with ``run_spec`` replaced."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from runner import cli
from runner.kinds.claims import describe_kinds
from runner.many import spec_paths, worst_exit_code
from runner.results import ClaimResult
from runner.run import RunOutcome

SPEC = Path(__file__).parent / "data" / "regression_1d_smoke_run" / "spec.yaml"


def _spec(folder: Path, file_name: str, name: str, text: str | None = None) -> Path:
    """A copy of the stored run's spec (regression_1d: profiles smoke, default, paper) named
    ``name``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name
    source = text if text is not None else SPEC.read_text()
    path.write_text(source.replace("name: regression_1d", f"name: {name}", 1))
    return path


@pytest.fixture
def specs(tmp_path: Path) -> Path:
    """A folder with b.yaml and a.yaml (listed in name order) and a file that is not a spec."""
    folder = tmp_path / "specs"
    _spec(folder, "b.yaml", "second")
    _spec(folder, "a.yaml", "first")
    (folder / "notes.txt").write_text("not a spec")
    return folder


def test_worst_exit_code_order():
    assert worst_exit_code([]) == 0
    assert worst_exit_code([0, 5, 0]) == 5
    assert worst_exit_code([5, 1, 0]) == 1
    assert worst_exit_code([1, 2, 0]) == 2
    assert worst_exit_code([2, 3, 1]) == 3


def test_spec_paths_expand_folders_in_name_order_once(specs):
    assert spec_paths([specs]) == [specs / "a.yaml", specs / "b.yaml"]
    assert spec_paths([specs / "b.yaml", specs]) == [specs / "b.yaml", specs / "a.yaml"]


def test_validate_a_folder(specs, capsys):
    assert cli.main(["validate", str(specs)]) == cli.EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines] == [str(specs / "a.yaml"), str(specs / "b.yaml")]
    assert all("profiles: smoke, default, paper" in line for line in lines)
    # a bad spec among good ones: reported at its line, the others still checked, exit 4
    (specs / "c.yaml").write_text(SPEC.read_text().replace("train:", "trian:", 1))
    assert cli.main(["validate", str(specs)]) == cli.EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out.count("ok  ") == 2
    assert re.search(rf"{re.escape(str(specs / 'c.yaml'))}:\d+:1  trian  unknown key", captured.err)


def test_a_folder_stands_for_its_yml_specs_too(specs, capsys):
    (specs / "b.yaml").rename(specs / "b.yml")
    (specs / "notes.txt").write_text("not a spec")
    assert cli.main(["validate", str(specs)]) == cli.EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines] == [str(specs / "a.yaml"), str(specs / "b.yml")]


@pytest.mark.parametrize("command", ["validate", "plan", "run", "data"])
def test_a_folder_without_specs_is_a_usage_error(tmp_path, capsys, command):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main([command, str(empty)]) == cli.EXIT_USAGE
    assert (
        f"runner: error: {empty}: a folder with no .yaml or .yml spec in it"
        in capsys.readouterr().err
    )


def test_plan_several_specs(specs, capsys):
    assert cli.main(["plan", str(specs), "--profile", "smoke"]) == cli.EXIT_OK
    headers = [line for line in capsys.readouterr().out.splitlines() if not line.startswith(" ")]
    assert headers == ["first: 4 cells (profile smoke)", "second: 4 cells (profile smoke)"]


# --- runner run with several specs (run_spec replaced: nothing trains) ---------------------------


def _claim(claim_id: str, verdict: str) -> ClaimResult:
    return ClaimResult(
        id=claim_id,
        kind="threshold",
        verdict=verdict,
        expected="pass",
        expected_sentence="e",
        observed_sentence=f"observed {claim_id}",
    )


@pytest.fixture
def fake_runs(monkeypatch, tmp_path):
    """``run_spec`` replaced: each spec name gets the verdicts (or the interrupt) listed here;
    the names of the specs run, in order, are recorded."""
    outcomes = {
        "first": {"claims": [_claim("fine", "PASS")]},
        "second": {"claims": [_claim("broken", "FAIL"), _claim("fine", "PASS")]},
    }
    ran: list[str] = []

    def run_spec(loaded, **options):
        name = loaded.spec.name
        ran.append(name)
        return RunOutcome(
            run_dir=tmp_path / "reports" / name,
            cell_statuses={"000_gd_s0": "finished"},
            **outcomes[name],
        )

    monkeypatch.setattr("runner.run.run_spec", run_spec)
    return outcomes, ran


def test_run_several_specs_one_summary_and_the_worst_exit_code(specs, fake_runs, capsys):
    _, ran = fake_runs
    assert cli.main(["run", str(specs), "--jobs", "1"]) == cli.EXIT_CLAIM_FAILED
    assert ran == ["first", "second"]
    lines = capsys.readouterr().out.splitlines()
    # each spec prints what it prints alone, then one line over both
    assert lines[0] == "first [default]: cells {'finished': 1}"
    assert re.fullmatch(r"1 passed in \S+ s", lines[4])
    assert lines[6] == "second [default]: cells {'finished': 1}"
    assert re.fullmatch(r"2 specs: 1 failed, 2 passed in \S+ s; exit 1 \(b\.yaml\)", lines[-1])


def test_run_checks_every_spec_before_any_trains(specs, fake_runs, capsys):
    _, ran = fake_runs
    (specs / "c.yaml").write_text(SPEC.read_text().replace("steps:", "stepz:", 1))
    assert cli.main(["run", str(specs), "--jobs", "1"]) == cli.EXIT_USAGE
    assert ran == []
    assert "c.yaml" in capsys.readouterr().err


def test_an_interrupt_stops_the_remaining_specs(specs, fake_runs, capsys):
    outcomes, ran = fake_runs
    outcomes["first"]["interrupted"] = True
    assert cli.main(["run", str(specs), "--jobs", "1"]) == cli.EXIT_INTERRUPTED
    assert ran == ["first"]
    assert re.search(r"^1 spec \(1 not run\): 1 passed in \S+ s; exit 2 \(a\.yaml\)$",
                     capsys.readouterr().out, re.M)  # fmt: skip


def test_an_unexpected_error_in_one_spec_does_not_stop_the_others(specs, fake_runs, capsys):
    outcomes, ran = fake_runs
    outcomes["first"] = {"cell_statuses": "not a dict"}  # RunOutcome() raises TypeError
    assert cli.main(["run", str(specs), "--jobs", "1"]) == cli.EXIT_INTERNAL_ERROR
    assert ran == ["first", "second"]
    captured = capsys.readouterr()
    assert f"runner: internal error in {specs / 'a.yaml'}" in captured.err
    assert re.search(r"^2 specs: .*; exit 3 \(a\.yaml\)$", captured.out, re.M)


def test_one_spec_prints_no_batch_line(specs, fake_runs, capsys):
    assert cli.main(["run", str(specs / "a.yaml"), "--jobs", "1"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "spec" not in out.splitlines()[-1] and out.splitlines()[-1].startswith("1 passed in")


@pytest.mark.parametrize("option", [["--resume", "x"], ["--only", "gd"]])
def test_options_for_one_spec_refuse_several(specs, fake_runs, capsys, option):
    assert cli.main(["run", str(specs), *option]) == cli.EXIT_USAGE
    assert f"{option[0]} is for one spec; 2 specs were given" in capsys.readouterr().err
    assert fake_runs[1] == []


# --- any profile name ---------------------------------------------------------------------------


def test_a_profile_may_have_any_name(tmp_path, capsys):
    path = _spec(
        tmp_path, "big.yaml", "big", SPEC.read_text().replace("\n  paper:", "\n  cpu_big:")
    )
    assert cli.main(["validate", str(path)]) == cli.EXIT_OK
    assert "profiles: smoke, default, cpu_big" in capsys.readouterr().out
    assert cli.main(["plan", str(path), "--profile", "cpu_big"]) == cli.EXIT_OK
    data = yaml.safe_load(path.read_text())
    cells = len(data["optimizers"]) * len(data["profiles"]["cpu_big"]["sweep"]["seeds"])
    assert capsys.readouterr().out.startswith(f"big: {cells} cells (profile cpu_big)\n")
    assert cli.main(["plan", str(path), "--profile", "cpu_bgi"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "profile 'cpu_bgi' is not defined; did you mean 'cpu_big'?" in err
    assert "(this spec defines: smoke, default, cpu_big)" in err


def test_a_bad_profile_name_is_reported_at_its_line(tmp_path, capsys):
    text = SPEC.read_text().replace("\n  paper:", "\n  big!:")
    path = _spec(tmp_path, "bad.yaml", "bad", text)
    line = text.splitlines().index("  big!:") + 1
    assert cli.main(["validate", str(path)]) == cli.EXIT_USAGE
    assert (
        f"{path}:{line}:3  profiles.big!  profile name 'big!': use 1 to 64 letters, digits, '_' "
        "or '-'" in capsys.readouterr().err
    )


# --- runner claims KIND -------------------------------------------------------------------------


def test_claims_kind_describes_one_kind(capsys):
    assert cli.main(["claims", "threshold"]) == cli.EXIT_OK
    out = capsys.readouterr().out
    kind = next(k for k in describe_kinds() if k["kind"] == "threshold")
    assert out.startswith(f"threshold: {kind['summary']}")
    for param in kind["parameters"]:  # every parameter with its meaning
        assert f"  {param['name']}: {param['type']}" in out
        assert param["description"] in out
    assert f"expects: {kind['sentence']}" in out
    assert "  - id: " in out and "    kind: threshold" in out  # the example
    assert "\ncompare\n" not in out  # no other kind


def test_an_unknown_claim_kind_names_the_kinds(capsys):
    assert cli.main(["claims", "treshold"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "unknown claim kind 'treshold'; did you mean 'threshold'?" in err
    assert all(k["kind"] in err for k in describe_kinds())
    assert cli.main(["claims", "threshold", "--markdown"]) == cli.EXIT_USAGE
