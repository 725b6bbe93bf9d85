"""``runner new`` (starter specs, the schema modeline, refusals with exit 4), the templates, and the
example specs of ``specs/examples/``: they validate, carry a comment on every tolerance, and
their smoke profiles run end to end, as a newcomer following docs/writing-specs.md would."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from runner import cli
from runner.load import load_spec
from runner.new import MODELINE, find_schema, modeline, schema_text, templates
from tests.runner.test_cli_e2e import _latest, _run_cli, _smoke, _verdicts

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "specs" / "examples").glob("*.yaml"))
TEMPLATES = templates()
TOLERANCE_KEYS = (
    "value",
    "max",
    "min",
    "rtol",
    "atol",
    "factor",
    "max_factor",
    "expected_rate",
    "before",
    "max_violations",
)


def _modeline_target(path: Path) -> Path:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(MODELINE), first
    return (path.parent / first.removeprefix(MODELINE)).resolve()


# --- runner new --------------------------------------------------------------------------------


def test_new_from_the_default_template_outside_a_repository(tmp_path, capsys, monkeypatch):
    """No spec.schema.json above: one is written next to the spec and the modeline points there."""
    monkeypatch.chdir(tmp_path)
    code, out, err = _run_cli(["new", "my_hypothesis"], capsys)
    assert code == cli.EXIT_OK, err
    path = tmp_path / "specs" / "my_hypothesis.yaml"
    assert f"wrote {Path('specs') / 'my_hypothesis.yaml'}" in out and "validates" in out
    assert _modeline_target(path) == (tmp_path / "specs" / "spec.schema.json").resolve()
    assert (tmp_path / "specs" / "spec.schema.json").read_text() == schema_text()
    text = path.read_text()
    assert "\nname: my_hypothesis\n" in text and "the 'regression' template" in text
    assert "specs/my_hypothesis.yaml --profile smoke" in text  # the placeholder is filled in
    loaded = load_spec(path, profile="smoke")
    assert loaded.spec.name == "my_hypothesis" and loaded.spec.claims
    assert set(loaded.spec.profiles) >= {"smoke", "default"}


def test_new_points_at_the_nearest_schema(tmp_path, capsys):
    (tmp_path / "spec.schema.json").write_text(schema_text())
    code, _, err = _run_cli(["new", "idea", "--dir", str(tmp_path / "specs" / "mine")], capsys)
    assert code == cli.EXIT_OK, err
    path = tmp_path / "specs" / "mine" / "idea.yaml"
    assert path.read_text().splitlines()[0] == MODELINE + "../../spec.schema.json"
    assert not (path.parent / "spec.schema.json").exists()
    assert "warning" not in err


def test_in_this_repository_the_modeline_points_at_the_committed_schema():
    """The path logic only: a test never writes into the repository."""
    assert find_schema(ROOT / "specs" / "examples") == ROOT / "spec.schema.json"
    line = modeline(ROOT / "specs" / "examples" / "x.yaml", ROOT / "spec.schema.json")
    assert line == MODELINE + "../../spec.schema.json"
    for spec in EXAMPLES:  # the examples use the same modeline
        assert _modeline_target(spec) == (ROOT / "spec.schema.json").resolve()


def test_a_stale_schema_is_reported_and_schema_flag_writes_one(tmp_path, capsys):
    (tmp_path / "spec.schema.json").write_text("{}\n")
    code, _, err = _run_cli(["new", "a", "--dir", str(tmp_path / "specs")], capsys)
    assert code == cli.EXIT_OK and "runner schema >" in err
    code, _, err = _run_cli(["new", "b", "--dir", str(tmp_path / "specs"), "--schema"], capsys)
    assert code == cli.EXIT_OK, err
    path = tmp_path / "specs" / "b.yaml"
    assert path.read_text().splitlines()[0] == MODELINE + "spec.schema.json"
    assert json.loads((tmp_path / "specs" / "spec.schema.json").read_text()) == json.loads(
        schema_text()
    )


def test_new_from_an_existing_spec_keeps_its_comments(tmp_path, capsys):
    source = ROOT / "specs" / "regression_1d.yaml"
    target = tmp_path / "copy.yaml"
    code, out, err = _run_cli(["new", str(target), "--from", str(source)], capsys)
    assert code == cli.EXIT_OK, err
    text, original = target.read_text(), source.read_text()
    assert text.splitlines()[0].startswith(MODELINE) and text.count(MODELINE) == 1
    assert f"Started from {source}" in text
    assert "\nname: copy\n" in text and "name: regression_1d" not in text
    assert "# open: Table 1 says" in text  # comments survive
    assert load_spec(target).spec.model_dump(exclude={"name"}) == load_spec(source).spec.model_dump(
        exclude={"name"}
    )
    assert len(text.splitlines()) == len(original.splitlines()) + 1  # modeline swapped, one note


@pytest.mark.parametrize(
    "args,message",
    [
        (["new", "x", "--template", "classification"], "no template 'classification'; templates: "),
        (["new", "bad name"], "is not a spec name"),
        (["new", "x", "--from", "specs/regression_1d.yaml", "--template", "linear"], "not allowed"),
        (["new", "x", "--from", "specs/does_not_exist.yaml"], "no such file"),
    ],
)
def test_new_mistakes_exit_4_and_write_nothing(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    args = [*args, "--dir", str(tmp_path)]
    code, out, err = _run_cli(args, capsys)
    assert code == cli.EXIT_USAGE, (out, err)
    assert message in err and "Traceback" not in err + out
    assert not list(tmp_path.iterdir())


def test_new_refuses_to_overwrite(tmp_path, capsys):
    path = tmp_path / "mine.yaml"
    path.write_text("my notes\n")
    code, _, err = _run_cli(["new", str(path)], capsys)
    assert code == cli.EXIT_USAGE and "exists" in err
    assert path.read_text() == "my notes\n"


def test_new_refuses_an_invalid_source(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ntask: {kind: regression_1d}\ntrain: {stepz: 3}\n")
    code, _, err = _run_cli(["new", str(tmp_path / "new.yaml"), "--from", str(bad)], capsys)
    assert code == cli.EXIT_USAGE
    assert re.search(r"bad\.yaml:3:\d+\s+train\.stepz\s+unknown key", err), err
    assert not (tmp_path / "new.yaml").exists()


def test_help_lists_every_template():
    help_text = cli.build_parser()._subparsers._group_actions[0].choices["new"].format_help()
    assert TEMPLATES and all(name in help_text for name in TEMPLATES)


# --- templates and examples: honest tolerances -------------------------------------------------


def _uncommented_tolerances(path: Path) -> list[str]:
    """Lines of ``claims:`` that set a tolerance with no comment on the line or just above."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("claims:"))
    bad = []
    for i in range(start, len(lines)):
        if re.match(r"^\S", lines[i]) and i > start:
            break
        key = re.match(r"^\s+(\w+):", lines[i])
        if key and key.group(1) in TOLERANCE_KEYS:
            if "#" not in lines[i] and not lines[i - 1].strip().startswith("#"):
                bad.append(f"{path.name}:{i + 1}: {lines[i].strip()}")
    return bad


@pytest.mark.parametrize(
    "path", [*TEMPLATES.values(), *EXAMPLES], ids=lambda p: f"{p.parent.name}/{p.stem}"
)
def test_every_tolerance_says_where_it_comes_from(path):
    assert not _uncommented_tolerances(path)
    data = yaml.safe_load(path.read_text())
    assert any(c.get("expected") == "fail" for c in data["claims"]), "no negative control"
    assert {"smoke", "default"} <= set(data["profiles"])


def test_examples_validate(capsys):
    assert len(EXAMPLES) >= 2
    code, out, err = _run_cli(["validate", *map(str, EXAMPLES)], capsys)
    assert code == cli.EXIT_OK, err
    assert out.count("ok  ") == len(EXAMPLES)


# --- end to end: smoke profiles, and the guide's path from `runner new` to a re-judged report ---


@pytest.mark.parametrize("spec", EXAMPLES, ids=lambda p: p.stem)
def test_example_smoke_run(spec, tmp_path, capsys):
    """The smoke profile's verdicts are informational: exit 0 whatever they are, and said so."""
    code, out, err = _run_cli(_smoke(spec, tmp_path), capsys)
    assert code == cli.EXIT_OK, err
    assert "smoke: not evidence" in out
    run_dir = _latest(tmp_path)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "finished"
    assert all(c["status"] == "finished" for c in manifest["cells"])
    claims = json.loads((run_dir / "claims.json").read_text())["claims"]
    expected = [c.id for c in load_spec(spec, profile="smoke").spec.claims]
    assert sorted(c["id"] for c in claims) == sorted(expected)
    assert all(c["verdict"] in ("PASS", "FAIL", "INCONCLUSIVE") for c in claims)
    assert "smoke: not evidence" in (run_dir / "report.html").read_text()


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_from_runner_new_to_a_rejudged_report(template, tmp_path, capsys, monkeypatch):
    """docs/writing-specs.md sections 1 and 7: new, validate, run (smoke), edit a claim, judge."""
    monkeypatch.chdir(tmp_path)
    assert _run_cli(["new", "mine", "--template", template], capsys)[0] == cli.EXIT_OK
    spec = Path("specs") / "mine.yaml"
    assert _run_cli(["validate", str(spec)], capsys)[0] == cli.EXIT_OK
    assert load_spec(spec, profile="smoke").spec.verdicts == "informational"
    assert load_spec(spec, profile="default").spec.verdicts == "evidence"
    code, out, err = _run_cli(_smoke(spec, Path("reports")), capsys)
    assert code == cli.EXIT_OK, err
    assert "smoke: not evidence" in out
    run_dir = _latest(Path("reports"))
    before = _verdicts(run_dir)
    assert before and all(v in ("PASS", "FAIL", "INCONCLUSIVE") for v, _ in before.values())

    # Flip the negative control to a positive claim: the stored run is judged again, no training.
    data = yaml.safe_load(spec.read_text())
    control = next(c for c in data["claims"] if c.get("expected") == "fail")
    text = re.sub(r"^    expected: fail\b.*\n", "", spec.read_text(), count=1, flags=re.M)
    assert text != spec.read_text()
    spec.write_text(text)
    code, out, err = _run_cli(
        ["judge", str(Path("reports") / "latest"), "--spec", str(spec)], capsys
    )
    assert code == cli.EXIT_OK, err
    after = _verdicts(run_dir)
    assert after.keys() == before.keys() and after[control["id"]] == before[control["id"]]
    judged = json.loads((run_dir / "claims.json").read_text())["claims"]
    flipped = next(c for c in judged if c["id"] == control["id"])
    assert flipped["expected"] == "pass"
    assert (run_dir / "spec.judged.yaml").read_text() == text
    assert _run_cli(["report", str(run_dir)], capsys)[0] == cli.EXIT_OK
