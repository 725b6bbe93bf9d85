"""Tests for runner.load: safe YAML with positions, profiles, --set overrides, error messages.

The corpus in ``malformed/`` holds one defect per file; its first line says what the error must
show: ``# expect: KEY.PATH | line N (or: line any, no line) | TEXT ... [| profile=NAME]``.
"""

from __future__ import annotations

import math
import re
import textwrap
from pathlib import Path

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, model_validator

from runner.kinds.base import SpecRuleError
from runner.load import (
    MAX_FILE_BYTES,
    LoadedSpec,
    SpecError,
    SpecProblem,
    load_spec,
    parse_yaml,
    validate_file,
    validate_profiles,
)
from runner.load.errors import validation_problems
from runner.spec import Spec

CORPUS = Path(__file__).parent / "malformed"
CASES = sorted(CORPUS.glob("*.yaml"))

VALID = """\
name: example
task: {kind: regression_1d, points: 100}
model: {kind: mlp, hidden: [80], activation: tanh}
optimizers:
  gd: {kind: gd, learning_rate: 1.0e-2}
  lm: {kind: lm, learning_rate: 1.0e-2, damping: 0.1}
train: {steps: 100, eval_every: 10}
metrics: [{kind: fft_error, modes: 11}, {kind: mse}]
observables:
  rates: {kind: decay_rate, metric: fft_error, window: [10, 90]}
claims:
  - {id: lm_uniform, kind: uniform_across, observable: rates, where: {optimizer: lm}, max: 2.0}
profiles:
  smoke: {train: {steps: 20, eval_every: 5}}
"""
# line numbers in VALID: 5 gd, 6 lm, 7 train, 10 rates, 12 the claim, 13 profiles, 14 smoke


@pytest.fixture
def write(tmp_path):
    def write(text: str, name: str = "spec.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def spec_file(write):
    return write(VALID)


def _error(path, **kwargs) -> SpecError:
    with pytest.raises(SpecError) as caught:
        load_spec(path, **kwargs)
    return caught.value


def _expectation(path: Path) -> tuple[str, str, list[str], dict[str, str]]:
    first = path.read_bytes().split(b"\n", 1)[0].decode("ascii")
    assert first.startswith("# expect: "), f"{path.name}: first line must be '# expect: ...'"
    key_path, line, *rest = [part.strip() for part in first[len("# expect: ") :].split(" | ")]
    options = dict(part.split("=", 1) for part in rest if re.fullmatch(r"\w+=\w+", part))
    texts = [part for part in rest if not re.fullmatch(r"\w+=\w+", part)]
    return key_path, line, texts, options


# --- the malformed corpus ----------------------------------------------------------------------


def test_corpus_is_large_enough():
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[case.stem for case in CASES])
def test_malformed_spec_is_reported_where_it_is(case: Path):
    key_path, line, texts, options = _expectation(case)
    error = _error(case, profile=options.get("profile", "default"))
    out = error.format()
    assert error.problems and all(isinstance(p, SpecProblem) for p in error.problems)
    assert case.name in out
    if line == "no line":
        assert re.search(rf"{re.escape(case.name)}  \S", out), out
    elif line == "line any":
        assert re.search(rf"{re.escape(case.name)}:\d+:\d+  ", out), out
    else:
        number = int(line.removeprefix("line "))
        assert f"{case.name}:{number}:" in out, out
    assert f"  {key_path}  " in out, out
    for text in texts:
        assert text in out, out
    for problem_line in out.splitlines():  # file[:line:col]  path  message
        assert re.fullmatch(r"\S+(:\d+:\d+)?  \S+  \S.*", problem_line), problem_line


@pytest.mark.parametrize("case", CASES, ids=[case.stem for case in CASES])
def test_validate_profiles_finds_the_same_defect(case: Path):
    key_path, _, texts, options = _expectation(case)
    if options.get("profile") == "paper":  # the spec is valid; asking for `paper` is not
        assert validate_profiles(case) == []
        return
    problems = validate_profiles(case)
    assert any(p.path == key_path for p in problems), problems
    joined = "\n".join(p.format() for p in problems)
    for text in texts:
        assert text in joined


# --- bad --set overrides -----------------------------------------------------------------------

BAD_OVERRIDES = [
    ("train.stepz=5", "train.stepz", "unknown key 'stepz'; did you mean 'steps'?"),
    ("trian.steps=5", "trian", "unknown key 'trian'; did you mean 'train'?"),
    ("train.steps=0", "train.steps", "must be >= 1, got 0"),
    ("train.steps=abc", "train.steps", "expected an integer, got 'abc'"),
    ("claims.5.op=<", "claims.5", "index 5 is out of range: claims has 1 item(s)"),
    ("claims.first.op=<", "claims", "index it with a number"),
    ("train.steps.max=1", "train.steps", "not a mapping or list"),
    ("train.steps", "train.steps", "expected KEY=VALUE"),
    ("=5", "<root>", "the key path has an empty part"),
    ("train..steps=5", "train..steps", "the key path has an empty part"),
    ("optimizers.lmm.damping=0.1", "optimizers.lmm", "no 'lmm' in optimizers; did you mean 'lm'?"),
    ("train.steps=[1,", "train.steps", "value: invalid YAML"),
    ("name=!!python/object:os.system x", "name", "value: tag '!!python/object:os.system'"),
    ("profiles.smoke.train.steps=5", "profiles.smoke.train.steps", "choose one with --profile"),
    ("optimizers.gd.kind=adamm", "optimizers.gd.kind", "did you mean 'adam'?"),
    ("model.hidden=80", "model.hidden", "expected a list, got 80"),
]


@pytest.mark.parametrize(("override", "path", "message"), BAD_OVERRIDES)
def test_bad_override_is_reported_on_the_override(spec_file, override, path, message):
    out = _error(spec_file, overrides=[override]).format()
    assert out.startswith(f"--set {override}  {path}  "), out
    assert message in out
    assert str(spec_file) not in out


def test_every_bad_override_is_reported(spec_file):
    error = _error(spec_file, overrides=["trian.steps=5", "train.steps", "train.steps=500"])
    assert [p.file for p in error.problems] == ["--set trian.steps=5", "--set train.steps"]


# --- YAML --------------------------------------------------------------------------------------


def test_exponent_numbers_are_floats():
    value, _ = parse_yaml("a: [1e-3, 1E5, -2.5e-4, 1.0e-2, .5, 6., +1e+2]")
    assert value["a"] == [1e-3, 1e5, -2.5e-4, 1e-2, 0.5, 6.0, 100.0]
    assert all(type(x) is float for x in value["a"])


def test_core_schema_scalars():
    value, _ = parse_yaml(
        "ints: [1, -2, 10_000, 0o17, 0x1f]\n"
        "special: [.inf, -.inf, .nan]\n"
        "bools: [true, False, yes, no, on, off]\n"
        "nulls: [~, null, NULL]\n"
        "empty:\n"
        "strings: ['1e-3', 2024-01-01, 1:30, !!str 5]\n"
        "tagged: [!!float 1, !!int '7', !!bool true, !!null null]\n"
    )
    assert value["ints"] == [1, -2, 10_000, 15, 31]
    assert value["special"][:2] == [math.inf, -math.inf] and math.isnan(value["special"][2])
    assert value["bools"] == [True, False, "yes", "no", "on", "off"]
    assert value["nulls"] == [None, None, None] and value["empty"] is None
    assert value["strings"] == ["1e-3", "2024-01-01", "1:30", "5"]
    assert value["tagged"] == [1.0, 7, True, None] and type(value["tagged"][0]) is float


def test_positions_of_keys_and_items_are_one_based():
    _, positions = parse_yaml("a:\n  b: [x, {c: 1}]\nd: 2\n")
    assert positions[()] == (1, 1)
    assert positions[("a",)] == (1, 1)
    assert positions[("a", "b")] == (2, 3)
    assert positions[("a", "b", 0)] == (2, 7)
    assert positions[("a", "b", 1)] == (2, 10)
    assert positions[("a", "b", 1, "c")] == (2, 11)
    assert positions[("d",)] == (3, 1)


@pytest.mark.parametrize(
    "text",
    ["a: 1\na: 2\n", "x: {a: 1, a: 2}\n", "x:\n  - {a: 1}\n  - {b: 1, b: 2}\n"],
)
def test_duplicate_keys_are_rejected(text):
    with pytest.raises(SpecError, match="duplicate key"):
        parse_yaml(text)


def test_duplicate_keys_name_both_lines():
    with pytest.raises(SpecError) as caught:
        parse_yaml("x:\n  a: 1\n  b: 2\n  a: 3\n", "f.yaml")
    assert caught.value.format() == (
        "f.yaml:4:3  x.a  duplicate key 'a' (first at line 2, again at line 4)"
    )


def test_every_tag_problem_is_collected():
    with pytest.raises(SpecError) as caught:
        parse_yaml("a: !!binary aGk=\nb: !local x\nc: !!omap [{x: 1}]\n")
    assert [p.line for p in caught.value.problems] == [1, 2, 3]


def test_merge_keys_and_aliases_are_expanded():
    value, positions = parse_yaml("base: &b {x: 1, y: 2}\nc: {<<: *b, y: 3}\nd: *b\n")
    assert value["c"] == {"x": 1, "y": 3}
    assert value["d"] == {"x": 1, "y": 2}
    assert positions[("c", "y")] == (2, 13)  # the explicit key wins
    assert positions[("c", "x")] == (1, 11)  # a merged key points at its anchor


def test_oversized_file_is_refused(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("name: x\n" + "# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    out = _error(path).format()
    assert out.startswith(f"{path}  <root>  the file is larger than")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.yaml", "no such file"),
        (lambda d: d, "is a directory, not a spec file"),
    ],
)
def test_unreadable_path_is_a_spec_error(tmp_path, make, message):
    path = make(tmp_path)
    assert _error(path).format() == f"{path}  <root>  {message}"


def test_non_utf8_file_written_as_bytes(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: example\npaper: \xa7 4.1\n")
    assert _error(path).format() == (
        f"{path}:2:8  <root>  not UTF-8 text (byte 0xa7); save the file as UTF-8"
    )


def test_deeply_nested_flow_yaml_is_a_spec_error(write):
    path = write("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested" in _error(path).format()


# --- profiles ----------------------------------------------------------------------------------


def test_load_spec_returns_the_validated_base(spec_file):
    loaded = load_spec(spec_file)
    assert isinstance(loaded, LoadedSpec) and isinstance(loaded.spec, Spec)
    assert loaded.text == VALID
    assert loaded.spec.train.steps == 100  # no `default` profile: the base
    assert loaded.profile == "default" and not loaded.profile_applied
    assert loaded.resolved["profiles"] == {"smoke": {"train": {"steps": 20, "eval_every": 5}}}
    assert validate_file(spec_file).spec == loaded.spec


def test_profile_merges_mappings_and_replaces_lists(write):
    path = write(
        VALID.replace(
            "  smoke: {train: {steps: 20, eval_every: 5}}",
            "  smoke:\n    train: {steps: 20}\n    metrics: [{kind: fft_error, modes: 3}]\n"
            "    model: {hidden: [8, 8]}",
        )
    )
    loaded = load_spec(path, profile="smoke")
    assert loaded.profile_applied
    assert loaded.spec.train.steps == 20 and loaded.spec.train.eval_every == 10
    assert [m.kind for m in loaded.spec.metrics] == ["fft_error"]
    assert loaded.spec.model.hidden == [8, 8] and loaded.spec.model.activation == "tanh"
    assert loaded.data["train"] == {"steps": 100, "eval_every": 10}  # the base is untouched
    assert load_spec(path, profile=None).spec.train.steps == 100


def test_a_defined_default_profile_is_applied(write):
    path = write(VALID + "  default: {train: {steps: 50}}\n")
    assert load_spec(path).spec.train.steps == 50
    assert load_spec(path, profile=None).spec.train.steps == 100


def test_missing_profile_names_the_defined_ones(spec_file):
    out = _error(spec_file, profile="paper").format()
    assert out == (
        f"{spec_file}:13:1  profiles  profile 'paper' is not defined (this spec defines: smoke)"
    )


def test_error_inside_a_profile_points_at_the_profile_line(write):
    path = write(VALID.replace("steps: 20, eval_every: 5", "steps: 0, eval_every: 5"))
    out = _error(path, profile="smoke").format()
    assert out == f"{path}:14:19  train.steps  must be >= 1, got 0"
    assert load_spec(path).spec.train.steps == 100  # the base alone is fine


def test_base_error_points_at_the_base_line_under_a_profile(write):
    path = write(VALID.replace("window: [10, 90]", "window: [90, 10]"))
    problem = _error(path, profile="smoke").problems[0]
    assert (problem.line, problem.path) == (10, "observables.rates.window")


def test_validate_profiles_checks_every_profile_once(write):
    path = write(
        VALID.replace("max: 2.0}", "max: 2.0, bogus: 1}").replace(
            "  smoke: {train: {steps: 20, eval_every: 5}}",
            "  smoke: {train: {steps: 0}}\n  paper: {train: {stepz: 5}}",
        )
    )
    problems = validate_profiles(path)
    assert [(p.line, p.path) for p in problems] == [
        (12, "claims.0.bogus"),
        (14, "train.steps"),
        (15, "train.stepz"),
    ]
    assert problems[0].message.startswith("unknown key 'bogus' (allowed: kind, id, statement, ")
    assert problems[1].message.endswith("[profile 'smoke']")
    assert problems[2].message == "unknown key 'stepz'; did you mean 'steps'? [profile 'paper']"


def test_validate_profiles_of_a_valid_spec_is_empty(spec_file):
    assert validate_profiles(spec_file) == []


# --- overrides ---------------------------------------------------------------------------------


def test_overrides_apply_after_the_profile_and_are_typed(spec_file):
    overrides = [
        "train.steps=500",
        "sweep.seeds=[0,1]",
        "optimizers.lm.damping=1e-3",
        "claims.0.max=3",
        "model.hidden=[40, 40]",
        "name=renamed",
        "train.batch_size=",
    ]
    loaded = load_spec(spec_file, profile="smoke", overrides=overrides)
    assert loaded.overrides == tuple(overrides)
    assert loaded.resolved["train"] == {"steps": 500, "eval_every": 5, "batch_size": None}
    assert type(loaded.resolved["train"]["steps"]) is int
    assert loaded.resolved["sweep"] == {"seeds": [0, 1]}  # a missing section is created
    assert loaded.resolved["optimizers"]["lm"]["damping"] == pytest.approx(1e-3)
    assert type(loaded.resolved["optimizers"]["lm"]["damping"]) is float
    assert loaded.spec.claims[0].max == 3.0
    assert loaded.spec.model.hidden == [40, 40]
    assert loaded.spec.name == "renamed"
    assert "sweep" not in loaded.data and loaded.data["train"]["steps"] == 100


def test_override_keys_may_contain_dots(write):
    path = write(VALID.replace("  lm: {", "  lm_0.5: {").replace("optimizer: lm}", "optimizer: x}"))
    path.write_text(path.read_text().replace("optimizer: x}", "optimizer: lm_0.5}"))
    loaded = load_spec(
        path,
        overrides=[
            "optimizers.lm_0.5.damping=0.2",
            "sweep.grid.model.alpha=[0.5, 1.0]",
            "claims.0.where.model.alpha=1",
        ],
    )
    assert loaded.spec.optimizers["lm_0.5"].damping == 0.2
    assert loaded.spec.sweep.grid == {"model.alpha": [0.5, 1.0]}
    assert loaded.spec.claims[0].where == {"optimizer": "lm_0.5", "model.alpha": 1}


def test_error_from_an_override_points_at_the_override_not_the_profile(spec_file):
    out = _error(spec_file, profile="smoke", overrides=["train.steps=-3"]).format()
    assert out == "--set train.steps=-3  train.steps  must be >= 1, got -3"


def test_error_below_an_override_points_at_the_override(spec_file):
    out = _error(spec_file, overrides=["train={eval_every: 2}"]).format()
    assert out == "--set train={eval_every: 2}  train.steps  field required"


def test_later_override_wins(spec_file):
    loaded = load_spec(spec_file, overrides=["train.steps=0", "train.steps=7"])
    assert loaded.spec.train.steps == 7


def test_problem_at_places_later_checks(spec_file):
    loaded = load_spec(spec_file, profile="smoke", overrides=["sweep.grid.model.alpha=[1, 2]"])
    assert loaded.problem(("train", "steps"), "x") == SpecProblem(
        str(spec_file), 14, 19, "train.steps", "x"
    )
    assert loaded.problem(("sweep", "grid", "model.alpha"), "a later check").format() == (
        "--set sweep.grid.model.alpha=[1, 2]  sweep.grid.model.alpha  a later check"
    )


# --- the error type ----------------------------------------------------------------------------


def test_problem_format():
    assert SpecProblem("s.yaml", 3, 5, "train.steps", "m").format() == "s.yaml:3:5  train.steps  m"
    assert SpecProblem("s.yaml", None, None, "<root>", "m").format() == "s.yaml  <root>  m"
    error = SpecError([SpecProblem("a", 1, 1, "x", "m"), SpecProblem("b", None, None, "y", "n")])
    assert error.format() == "a:1:1  x  m\nb  y  n" == str(error)
    assert error.exit_code == 4


def test_union_errors_show_the_branch_that_fits(spec_file):
    bad = "claims.0={id: c, kind: compare, left: {observable: rates}, right: {observable: rates}, "
    out = _error(spec_file, overrides=[bad + "op: <, reduce: bogus}"]).format()
    assert out.endswith(
        "claims.0.reduce  unknown value 'bogus' (expected one of: all, any); "
        "or expected a number, got 'bogus'"
    )
    schedule = "optimizers.lm.damping={kind: log_linear, start: 1, end: 0.1, stepz: 5}"
    problems = _error(spec_file, overrides=[schedule]).problems
    assert [(p.path, p.message) for p in problems] == [
        ("optimizers.lm.damping.steps", "field required"),
        ("optimizers.lm.damping.stepz", "unknown key 'stepz'; did you mean 'steps'?"),
    ]


def test_a_list_where_a_name_belongs_is_a_spec_error(spec_file):
    out = _error(spec_file, overrides=["claims.0.where.optimizer=[gd, lm]"]).format()
    assert out == (
        "--set claims.0.where.optimizer=[gd, lm]  claims.0.where.optimizer  "
        "claim 'lm_uniform': unknown optimizer ['gd', 'lm']; a list selects no cell: write "
        "{in: [...]} for any of several (optimizers: gd, lm)"
    )


# --- rule errors carry their key path ---------------------------------------------------------

RULES_YAML = """\
claims:
  - id: first
    axis: model.alpha
  - id: second
    kind: monotonic
    axis: model.alfa
"""


class _Rules(BaseModel):
    """Stands in for a spec whose model validator checks a rule between parts."""

    model_config = ConfigDict(extra="allow")
    path: tuple[str | int, ...]

    @model_validator(mode="after")
    def _check(self) -> _Rules:
        raise SpecRuleError(self.path, "axis 'model.alfa' is not a sweep key")


def _rule_problems(path: tuple[str | int, ...]) -> list[SpecProblem]:
    data, positions = parse_yaml(RULES_YAML, "rules.yaml")
    with pytest.raises(pydantic.ValidationError) as error:
        _Rules.model_validate({**data, "path": path})
    origins = {key: ("rules.yaml", line, col) for key, (line, col) in positions.items()}
    return validation_problems(error.value, data, origins, "rules.yaml")


def test_a_rule_error_is_reported_at_the_key_it_names():
    (problem,) = _rule_problems(("claims", 1, "axis"))
    assert problem.format() == "rules.yaml:6:5  claims.1.axis  axis 'model.alfa' is not a sweep key"


def test_a_rule_error_under_a_missing_key_is_reported_at_its_deepest_existing_parent():
    (problem,) = _rule_problems(("claims", 1, "where", "optimizer"))
    assert (problem.line, problem.col, problem.path) == (4, 5, "claims.1.where.optimizer")


# --- robustness --------------------------------------------------------------------------------

_PIECES = st.sampled_from(
    ["\n", "\t", ":", "{", "}", "[", "]", ",", "- ", "&a ", "*a", "<<: ", "!!set ", "kind: ", "0"]
)


@given(
    edits=st.lists(
        st.tuples(st.integers(0, len(VALID)), st.integers(0, 6), st.text(max_size=4) | _PIECES),
        min_size=1,
        max_size=4,
    ),
    profile=st.sampled_from([None, "default", "smoke", "paper"]),
    override=st.sampled_from(["", "train.steps=5", "claims.0.where.optimizer=[gd]"]),
)
def test_any_edit_of_a_spec_is_loaded_or_a_spec_error(tmp_path_factory, edits, profile, override):
    text = VALID
    for at, cut, insert in edits:
        text = text[:at] + insert + text[at + cut :]
    path = tmp_path_factory.mktemp("fuzz") / "spec.yaml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_spec(path, profile=profile, overrides=[override] if override else [])
    except SpecError as error:
        assert error.problems and error.format()
    assert all(isinstance(p, SpecProblem) for p in validate_profiles(path))


# --- hostile input: every limit is a spec problem, found at once ---------------------------------


@pytest.mark.parametrize(
    ("replace", "message"),
    [
        (("points: 100", "points: " + "9" * 5000), "task.points  integer 99999999999999999999..."),
        (("steps: 100,", "steps: 100000000000000000000,"), "train.steps  integer 1000000000"),
        (("name: example", "name: " + "a" * 30_000), "name  a value of 30000 characters"),
        (
            (
                "profiles:",
                f"sweep:\n  grid:\n    model.alpha: {list(range(1, 401))}\n"
                f"    train.eval_every: {list(range(1, 401))}\nprofiles:",
            ),
            "sweep  the sweep has 320,000 cells",
        ),
    ],
    ids=["huge-integer", "steps-beyond-2^53", "long-string", "too-many-cells"],
)
def test_hostile_values_are_refused_at_once(write, replace, message):
    import time

    text = VALID.replace(*replace)
    assert text != VALID
    path = write(text)
    start = time.perf_counter()
    problems = validate_profiles(path)
    elapsed = time.perf_counter() - start
    assert any(message in p.format() for p in problems), [p.format() for p in problems]
    assert elapsed < 5.0  # a hang guard, not a benchmark: these take ~0.1 s


# --- checks against the run: where, groups, unused observables, the sweep ----------------------

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted(
    [*ROOT.glob("specs/*.yaml"), *ROOT.glob("specs/examples/*.yaml")]
    + list(ROOT.glob("runner/templates/starter_*.yaml"))
)


@pytest.mark.parametrize(
    "shape",
    [(4, 4), (5, 5), (7, 7), (8, 8), (16, 16), (40, 40), (64, 64), (6, 9), (12, 10), (3, 8)],
    ids=str,
)
def test_numpy_fft_labels_match_the_jax_ones(shape):
    """``runner validate`` labels FFT modes with numpy; a cell labels them through JAX. (On
    40 x 40 JAX's float32 frequencies order the tie |k|^2 = 169 = 0^2 + 13^2 = 5^2 + 12^2 the
    other way from rank 259 on: the numpy labels are exact there, so only the first 200.)"""
    from runner.kinds.metrics import FFTErrorMetric, fft_labels

    n = shape[0] * shape[1]
    for modes in (1, 5, 11, min(n, 200), n // 2 + 1, n) if shape != (40, 40) else (1, 11, 200):
        metric = FFTErrorMetric(kind="fft_error", modes=modes)
        assert fft_labels(shape, modes) == metric.groups(shape, 0), modes
    assert fft_labels((32,), 11) == FFTErrorMetric(kind="fft_error").groups((32,), 0)
    assert fft_labels((), 3) == ["0", "1", "2"]


def test_numpy_fft_labels_are_exact_where_floats_tie():
    """Bins of equal |k| in integer arithmetic: smaller kx first, each bin once."""
    from runner.kinds.metrics import fft_labels

    labels = fft_labels((20, 21), 20 * 21)
    assert labels[13:15] == ["0,3", "3,0"] and len(set(labels)) == 20 * 21
    assert fft_labels((34, 34), 12)[5:7] == ["0,2", "2,0"]


@pytest.mark.parametrize(
    "task",
    [
        {"kind": "regression_1d", "points": 16},
        {"kind": "regression_2d", "points_per_side": 6},
        {"kind": "random_jacobian", "residuals": 8, "parameters": 20},
        {"kind": "polynomial", "dimension": 4, "train": 12, "test": 5},
        {"kind": "poisson", "interior": 20, "boundary_per_edge": 3, "grid_points_per_side": 6},
    ],
    ids=lambda task: task["kind"],
)
def test_grid_and_residual_counts_read_from_fields_match_the_built_task(task):
    """The groups check reads a task's grid and residual count from its fields (no JAX); they
    are what the task builds."""
    import jax

    from runner.spec import Task, _grid_shape, _residual_count

    built = pydantic.TypeAdapter(Task).validate_python(task)
    problem = built.build(jax.random.PRNGKey(0))
    loss = {"kind": "pinn" if task["kind"] == "poisson" else "mse"}
    loss_kind = pydantic.TypeAdapter(Spec.model_fields["loss"].annotation).validate_python(loss)
    assert _grid_shape(built) == tuple(problem.grid_shape)
    inputs, targets = problem.train_data
    expected = inputs.shape[0] if loss["kind"] == "pinn" else targets.size
    assert _residual_count(built, loss_kind) == expected


SWEPT_TASK = """\
name: swept_task
task: {kind: random_jacobian, residuals: 8, parameters: 20}
model: {kind: linear}
optimizers:
  gd: {kind: gd, learning_rate: 1.0e-3}
train: {steps: 10, eval_every: 1}
metrics: [{kind: mode_error}]
sweep:
  zip:
    task:
      - {kind: random_jacobian, residuals: 8, parameters: 20}
      - {kind: random_jacobian, residuals: 12, parameters: 20}
observables:
  measured: {kind: final, metric: mode_error}
claims:
  - {id: small, kind: threshold, observable: measured, op: "<", value: 1, groups: ["GROUP"],
     where: {task: {kind: random_jacobian, residuals: 8, parameters: 20}}}
"""


def test_groups_follow_a_swept_task(write):
    """A claim's groups are checked in the cells its where selects: mode 10 exists only where
    the Jacobian has 12 residuals."""
    assert validate_profiles(write(SWEPT_TASK.replace("GROUP", "7"))) == []
    (problem,) = validate_profiles(write(SWEPT_TASK.replace("GROUP", "10")))
    assert problem.path == "claims.0.groups.0" and '8 groups, "0" .. "7"' in problem.message
    where = ",\n     where: {task: {kind: random_jacobian, residuals: 8, parameters: 20}}"
    assert where in SWEPT_TASK
    every_cell = SWEPT_TASK.replace(where, "").replace("GROUP", "10")
    assert validate_profiles(write(every_cell)) == []  # some cells have 12 modes


WHERE_PROFILE = VALID.replace("where: {optimizer: lm}", "where: {optimizer: lm, seed: 2}").replace(
    "  smoke: {train: {steps: 20, eval_every: 5}}", "  smoke: {sweep: {seeds: [0]}}"
)
WHERE_PROFILE = WHERE_PROFILE.replace("claims:\n", "sweep: {seeds: [0, 1, 2]}\nclaims:\n")


def test_a_where_valid_in_the_base_but_not_in_a_profile_names_the_profile(write):
    (problem,) = validate_profiles(write(WHERE_PROFILE))
    assert problem.format().endswith(
        "claims.0.where.seed  claim 'lm_uniform': seed 2 is not run (sweep.seeds: 0) "
        "[profile 'smoke']"
    )


def test_an_informational_profile_may_leave_a_claim_without_cells(write):
    """A smoke run that tests the plumbing (verdicts: informational) need not run every point a
    claim names; a value no profile runs is still a mistake."""
    informational = WHERE_PROFILE.replace(
        "{sweep: {seeds: [0]}}", "{verdicts: informational, sweep: {seeds: [0]}}"
    )
    assert validate_profiles(write(informational)) == []
    base, smoke = validate_profiles(write(informational.replace("seed: 2}", "seed: 5}")))
    assert base.message == "claim 'lm_uniform': seed 5 is not run (sweep.seeds: 0, 1, 2)"
    assert smoke.path == "claims.0.where.seed" and smoke.message.endswith("[profile 'smoke']")


def test_an_in_list_may_name_points_of_other_profiles(write):
    """``{in: [...]}`` selects the values the profile runs; each must be run by some profile."""
    text = VALID.replace("claims:\n", "sweep: {grid: {model.alpha: [1, 2]}}\nclaims:\n").replace(
        "where: {optimizer: lm}", "where: {optimizer: lm, model.alpha: {in: [2, 4]}}"
    )
    paper = "  paper: {sweep: {grid: {model.alpha: [2, 4]}}}\n"
    assert validate_profiles(write(text + paper)) == []
    (problem,) = validate_profiles(write(text))
    assert problem.path == "claims.0.where.model.alpha.in.1"
    assert problem.message.endswith(
        "model.alpha = 4 is not a value of the sweep (model.alpha takes 1, 2)"
    )
    only_paper = text.replace("{in: [2, 4]}", "{in: [4]}") + paper.replace("[2, 4]", "[4]")
    (problem,) = validate_profiles(write(only_paper))
    assert problem.path == "claims.0.where.model.alpha"
    assert problem.message.endswith("{in: [4]} selects no cell (model.alpha takes 1, 2)")


def test_an_unused_observable_is_a_warning(write, capsys):
    from runner.cli import main
    from runner.load import check_profiles

    path = write(
        VALID.replace("observables:\n", "observables:\n  spare: {kind: final, metric: mse}\n")
    )
    problems, warnings, base = check_profiles(path)
    assert (
        problems == [] and validate_profiles(path) == [] and base.unused_observables() == ["spare"]
    )
    assert [w.format() for w in warnings] == [
        f"{path}:10:3  observables.spare  warning: not used by any claim or figure"
    ]
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr()
    assert out.err == f"{path}:10:3  observables.spare  warning: not used by any claim or figure\n"
    assert out.out.startswith(f"ok  {path}  (2 cells")


def test_validate_reports_a_bad_sweep_of_every_spec_with_its_file(write, capsys):
    from runner.cli import main

    bad = write(
        VALID.replace("claims:\n", "sweep: {grid: {model.alfa: [1, 2]}}\nclaims:\n"), "bad.yaml"
    )
    good = write(VALID, "good.yaml")
    assert main(["validate", str(bad), str(good)]) == 4
    out = capsys.readouterr()
    assert out.err.startswith(
        f"{bad}:11:16  sweep.grid.model.alfa  sweep key 'model.alfa' is not a path in the spec: "
        "model has no 'alfa'; did you mean 'model.alpha'? (model has: kind, hidden, "
    )
    assert "pydantic" not in out.err and "spec  sweep" not in out.err
    assert f"ok  {good}" in out.out
    assert main(["run", str(bad)]) == 4  # the same problem, before anything runs
    assert capsys.readouterr().err.startswith(f"{bad}:11:16  sweep.grid.model.alfa  ")


def test_a_sweep_point_that_does_not_validate_names_its_key_and_value(write):
    text = VALID.replace("claims:\n", "sweep:\n  grid:\n    model.hidden: [[8], 3]\nclaims:\n")
    (problem,) = validate_profiles(write(text))
    assert problem.format().endswith(
        ":13:25  sweep.grid.model.hidden.1  model.hidden = 3: expected a list, got 3"
    )


def test_validate_imports_no_jax_and_is_fast():
    import subprocess
    import sys

    code = (
        "import sys, time; from runner.cli import main; t = time.perf_counter(); "
        f"code = main(['validate', *{[str(p) for p in SPECS]!r}]); "
        "print(code, 'jax' in sys.modules, (time.perf_counter() - t) / "
        f"{len(SPECS)})"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    code, jax_loaded, per_spec = out.stdout.split()[-3:]
    assert (code, jax_loaded) == ("0", "False"), out.stderr
    assert float(per_spec) < 0.5  # well under a second per spec (~0.05 s here)
