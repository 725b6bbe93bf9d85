"""Fuzzing ``runner validate``: random YAML documents and random structural mutations of the real
specs end in exit 0 (valid) or 4 (a spec problem, printed as one), never a traceback, an internal
error or a hang.

The number of examples follows the Hypothesis profile (``ci``: 30 per test unless
``PGDLAB_FUZZ_EXAMPLES`` says more; ``HYPOTHESIS_PROFILE=thorough`` or a larger
``PGDLAB_FUZZ_EXAMPLES`` for a longer run on demand).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runner import cli

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
EXAMPLES = int(os.environ.get("PGDLAB_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Words a spec uses, so that random documents reach deep into the schema, not only its first key.
WORDS = [
    "name", "task", "model", "loss", "optimizers", "train", "metrics", "sweep", "observables",
    "claims", "figures", "profiles", "kind", "steps", "eval_every", "learning_rate", "damping",
    "regression_1d", "modular_addition", "polynomial", "mlp", "mean_field", "gd", "lm", "gn",
    "adam", "switch", "mse", "accuracy", "final", "crossing", "delay", "compare", "monotonic",
    "where", "optimizer", "seeds", "grid", "zip", "model.alpha", "hidden", "id", "op", "value",
    "in", "for_each", "smoke", "default", "paper", "<", "metric", "observable", "axis",
]  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(WORDS)
    | st.text(max_size=12)
)
VALUES = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=6), children, max_size=5)
    ),
    max_leaves=25,
)


def _validate(path: Path, capsys) -> tuple[int, str]:
    code = cli.main(["validate", str(path)])
    out = capsys.readouterr()
    return code, out.out + out.err


def _check(code: int, output: str) -> None:
    assert code in (cli.EXIT_OK, cli.EXIT_USAGE), output
    assert "Traceback" not in output and "internal error" not in output, output


@FUZZ
@given(document=st.dictionaries(st.sampled_from(WORDS), VALUES, max_size=8))
def test_random_documents_are_valid_or_spec_errors(tmp_path_factory, capsys, document):
    path = tmp_path_factory.mktemp("doc") / "spec.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    _check(*_validate(path, capsys))


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path to a value inside ``node`` (mapping keys and list indices)."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, prefix + (index,))
    return found


def _mutate(data: dict, path: tuple, how: str, value: Any) -> dict:
    data = copy.deepcopy(data)
    if not path:
        return {"name": value} if how == "replace" else data
    parent: Any = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if how == "delete":
        del parent[last]
    elif how == "replace":
        parent[last] = value
    elif how == "wrap":
        parent[last] = [parent[last]]
    elif how == "insert" and isinstance(parent[last], dict):
        parent[last][str(value)[:12] or "x"] = value
    elif how == "duplicate" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))
    return data


@FUZZ
@given(
    spec=st.sampled_from(SPECS),
    data=st.data(),
    mutations=st.integers(1, 3),
)
def test_mutated_real_specs_are_valid_or_spec_errors(
    tmp_path_factory, capsys, spec, data, mutations
):
    document = yaml.safe_load(spec.read_text(encoding="utf-8"))
    for _ in range(mutations):
        path = data.draw(st.sampled_from(_paths(document)), label="path")
        how = data.draw(st.sampled_from(["delete", "replace", "wrap", "insert", "duplicate"]))
        value = data.draw(VALUES, label="value")
        document = _mutate(document, path, how, value)
    target = tmp_path_factory.mktemp("mut") / spec.name
    target.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    _check(*_validate(target, capsys))


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_the_real_specs_validate(spec, capsys):
    """The fuzzers' starting points are valid, so a mutation is what makes an error."""
    code, output = _validate(spec, capsys)
    assert code == cli.EXIT_OK, output
