"""What every registered claim kind must offer (in the manner of optax's common optimizer tests):
a valid example, a sentence, a judgement on synthetic cells, a documented entry with every
parameter described, its own module, and the hooks the spec validator calls."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
import yaml
from pydantic import TypeAdapter

from runner import spec as spec_module
from runner.kinds.base import SpecRuleError
from runner.kinds.claims import CLAIM_KINDS, Claim, ClaimBase, describe_kinds
from runner.kinds.claims.event import EventClaim
from runner.kinds.claims.reference import synthetic_judgement
from runner.kinds.observables import Observable

ROOT = Path(__file__).resolve().parents[3]
DOCS = (ROOT / "docs" / "claims.md").read_text(encoding="utf-8")
KINDS = pytest.mark.parametrize("cls", CLAIM_KINDS, ids=lambda cls: cls.kind_name())


def _section(kind: str) -> str:
    """The text of ``### kind`` in docs/claims.md."""
    start = DOCS.index(f"\n### {kind}\n")
    end = DOCS.find("\n### ", start + 1)
    return DOCS[start : end if end >= 0 else len(DOCS)]


def _rows(text: str) -> dict[str, list[str]]:
    """``{parameter: cells}`` of the parameter tables in ``text``."""
    rows = {}
    for line in text.splitlines():
        match = re.match(r"^\| `(\w+)` \|(.*)\|$", line)
        if match:
            rows[match.group(1)] = [c.strip() for c in re.split(r"(?<!\\)\|", match.group(2))]
    return rows


def _at(data: dict, path: tuple) -> object:
    for key in path:
        data = data[key] if isinstance(key, int) else data.get(key, {})
    return data


# --- the registry ------------------------------------------------------------------------------


def test_the_registry_is_the_spec_union():
    names = [cls.kind_name() for cls in CLAIM_KINDS]
    assert len(set(names)) == len(names)
    assert get_args(get_args(Claim)[0]) == CLAIM_KINDS  # Claim is built from the registry
    assert spec_module.Spec.model_fields["claims"].annotation == list[Claim]


def test_describe_kinds_examples_validate_and_render():
    described = describe_kinds()
    assert [d["kind"] for d in described] == [cls.kind_name() for cls in CLAIM_KINDS]
    for d in described:
        assert yaml.safe_load(d["example"]) == [d["example_data"]]
        TypeAdapter(Claim).validate_python(d["example_data"])
        assert d["sentence"].endswith(".")
        names = [p["name"] for p in d["parameters"]]
        assert "id" in names and "kind" not in names
    threshold = next(d for d in described if d["kind"] == "threshold")
    params = {p["name"]: p for p in threshold["parameters"]}
    assert params["op"]["type"] == '"<" | "<=" | ">" | ">="' and params["op"]["required"]
    assert params["reduce"]["default"] == "all" and params["groups"]["type"] == "list[str] | null"
    assert params["where"]["default"] == {}


def test_the_claims_package_does_not_import_jax():
    code = "import sys, runner.kinds.claims, runner.spec; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr


# --- every kind --------------------------------------------------------------------------------


@KINDS
def test_lives_in_its_own_module(cls):
    assert Path(inspect.getfile(cls)) == ROOT / "runner" / "kinds" / "claims" / (
        f"{cls.kind_name()}.py"
    )
    assert issubclass(cls, ClaimBase) and (cls.__doc__ or "").strip()


@KINDS
def test_example_validates_through_the_union(cls):
    claim = TypeAdapter(Claim).validate_python(cls.example)
    assert type(claim) is cls and claim.kind == cls.kind_name()


@KINDS
def test_every_parameter_is_described(cls):
    for name, info in cls.model_fields.items():
        assert name == "kind" or (info.description or "").strip(), f"{name} has no description"


@KINDS
def test_expected_sentence_renders(cls):
    claim = cls.model_validate(cls.example)
    sentence = claim.expected_sentence()
    assert sentence.endswith(".") and "{" not in sentence.replace("={", "")
    assert claim.expected_sentence(None, None) == sentence


@KINDS
def test_synthetic_judgement_passes_or_fails(cls):
    result, observable = synthetic_judgement(dict(cls.example))
    assert result is not None, "no synthetic observable fits the example"
    assert result.verdict in ("PASS", "FAIL"), result.reason
    assert result.kind == cls.kind_name() and result.observed_sentence.endswith(".")
    assert result.expected_sentence.endswith(".")  # with the spec: observables in words


@KINDS
def test_documented_with_every_parameter(cls):
    kind = cls.kind_name()
    own, common = _rows(_section(kind)), _rows(DOCS.split("\n## Kinds\n")[0])
    for name in cls.model_fields:
        if name == "kind":
            continue
        row = own.get(name) or common.get(name)
        assert row is not None, f"docs/claims.md: {kind} lacks {name}"
        assert row[-1], f"docs/claims.md: {kind}.{name} has no meaning"
    assert f"id: {cls.example['id']}" in _section(kind)


@KINDS
def test_spec_hooks_point_into_the_example(cls):
    """``observable_refs``, ``wheres`` and ``sweep_refs`` name paths that lead to their values in
    the claim as written."""
    claim = cls.model_validate(cls.example)
    data = claim.model_dump()
    for path, name in claim.observable_refs():
        assert _at(data, path) == name
    for path, where in claim.wheres():
        assert _at(data, path) == where
    for path, key in claim.sweep_refs():
        assert _at(data, path) == key
    if "observable" in data:
        assert (("observable",), data["observable"]) in claim.observable_refs()


# --- the spec hooks ----------------------------------------------------------------------------


def test_spec_hooks_of_several_selections():
    compare = TypeAdapter(Claim).validate_python(
        {
            "id": "c",
            "kind": "compare",
            "left": {"observable": "a", "where": {"optimizer": "gd"}},
            "right": {"observable": "b"},
            "op": "<",
            "for_each": "model.alpha",
        }
    )
    assert compare.observable_refs() == [
        (("left", "observable"), "a"),
        (("right", "observable"), "b"),
    ]
    assert compare.wheres() == [(("left", "where"), {"optimizer": "gd"}), (("right", "where"), {})]
    assert compare.sweep_refs() == [(("for_each",), "model.alpha")]
    ordering = TypeAdapter(Claim).validate_python(
        {
            "id": "o",
            "kind": "ordering",
            "observable": "a",
            "sequence": [{"optimizer": "gd"}, {"optimizer": "lm"}, {"optimizer": "gn"}],
            "direction": "increasing",
        }
    )
    assert [path for path, _ in ordering.wheres()] == [
        ("sequence", 0),
        ("sequence", 1),
        ("sequence", 2),
    ]
    monotonic = TypeAdapter(Claim).validate_python(
        {
            "id": "m",
            "kind": "monotonic",
            "observable": "a",
            "axis": "model.alpha",
            "direction": "increasing",
        }
    )
    assert monotonic.sweep_refs() == [(("axis",), "model.alpha")]
    assert monotonic.wheres() == [(("where",), {})]


def test_an_event_needs_a_crossing():
    observables = TypeAdapter(dict[str, Observable]).validate_python(
        {
            "final_loss": {"kind": "final", "metric": "loss"},
            "reach": {"kind": "crossing", "metric": "loss", "below": 0.1},
        }
    )
    EventClaim(id="e", kind="event", observable="reach").check(observables)
    with pytest.raises(SpecRuleError) as error:
        EventClaim(id="e", kind="event", observable="final_loss").check(observables)
    assert error.value.path == ("observable",)
    assert str(error.value) == "claim 'e': observable 'final_loss' is not a crossing"
    for cls in CLAIM_KINDS:  # the other kinds have no rule of their own here
        if cls is not EventClaim:
            cls.model_validate(cls.example).check(observables)


SHARED_MODULES = {
    "__init__",
    "axis",
    "base",
    "figures",
    "margins",
    "reference",
    "seeds",
    "selection",
    "sentences",
}


def test_every_claim_module_is_a_registered_kind():
    """A file in runner/kinds/claims/ is a shared piece or a kind, and every kind is registered:
    a kind's file without its line in KIND_MODULES would silently not exist for specs."""
    from runner.kinds.claims import KIND_MODULES

    package = Path(CLAIM_KINDS[0].__module__.replace(".", "/")).parent
    root = Path(__file__).resolve().parents[3]
    modules = {p.stem for p in (root / package).glob("*.py")}
    assert modules - SHARED_MODULES == set(KIND_MODULES)
