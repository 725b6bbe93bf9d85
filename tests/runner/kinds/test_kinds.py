"""Every registered task, model, loss, optimizer, metric and observable kind, in the manner of
optax's common optimizer tests: its example validates and survives the plan's JSON round trip,
it is documented (docstring, a meaning for every field, an entry in docs/kinds.md), its needs
are known capabilities, and it builds and trains inside the smallest spec that satisfies its
needs. What is specific to one kind stays in that kind's own tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import TypeAdapter

from runner.cell import run_cell
from runner.kinds.base import CAPABILITIES, Kind, Part, kind_name
from runner.kinds.losses import LOSS_KINDS
from runner.kinds.metrics import METRIC_KINDS
from runner.kinds.models import MODEL_KINDS
from runner.kinds.observables import OBSERVABLE_KINDS, describe, observe
from runner.kinds.optimizers import OPTIMIZER_KINDS
from runner.kinds.reference import FAMILIES, anchor, parameters
from runner.kinds.tasks import TASK_KINDS
from runner.results import CellResult
from runner.spec import Loss, Metric, Model, Observable, Optimizer, Task

DOCS = Path(__file__).resolve().parents[3] / "docs" / "kinds.md"
UNIONS = {"task": Task, "model": Model, "loss": Loss, "optimizer": Optimizer, "metric": Metric}
REGISTRIES: dict[str, tuple[type[Kind], ...]] = {
    "task": TASK_KINDS,
    "model": MODEL_KINDS,
    "loss": LOSS_KINDS,
    "optimizer": OPTIMIZER_KINDS,
    "metric": METRIC_KINDS,
    "observable": OBSERVABLE_KINDS,
}
ALL = [(family, kind) for family, kinds in REGISTRIES.items() for kind in kinds]
IDS = [f"{family}:{kind_name(kind)}" for family, kind in ALL]
RUNNABLE = [(f, k) for f, k in ALL if f != "observable"]


@pytest.mark.parametrize(("family", "kind"), ALL, ids=IDS)
def test_example_validates_and_survives_the_plan_round_trip(family, kind):
    adapter = TypeAdapter({**UNIONS, "observable": Observable}[family])
    value = adapter.validate_python(kind.example)
    assert type(value) is kind
    assert adapter.validate_python(json.loads(json.dumps(value.model_dump(mode="json")))) == value


@pytest.mark.parametrize(("family", "kind"), ALL, ids=IDS)
def test_documented(family, kind):
    assert (kind.__doc__ or "").strip(), "a docstring: the summary runner kinds prints"
    undescribed = [p["name"] for p in parameters(kind) if not p["description"]]
    assert not undescribed, f"fields without a description: {undescribed}"
    title = next(title for title, _, kinds in FAMILIES if kind in kinds)
    assert f'<a id="{anchor(title, kind)}"></a>' in DOCS.read_text(encoding="utf-8")


@pytest.mark.parametrize(("family", "kind"), ALL, ids=IDS)
def test_needs_and_provides_are_known_capabilities(family, kind):
    needs, provides = getattr(kind, "needs", frozenset()), getattr(kind, "provides", frozenset())
    assert needs <= set(CAPABILITIES) and provides <= set(CAPABILITIES)
    assert not getattr(kind, "hint", "") or needs, "a hint explains a need"


# --- the smallest spec around one kind ------------------------------------------------------------


def _fits(parts: dict[str, Part]) -> bool:
    provided = frozenset().union(*(p.provides for p in parts.values()))
    return all(p.needs <= provided for p in parts.values())


def _cell_around(family: str, kind: type[Kind]) -> dict[str, Any]:
    """A cell config holding ``kind``: the first task, model and loss (in registry order) under
    which every part's needs are met, optimizer gd unless the kind is one, and every metric
    those parts support."""
    fixed = {family: kind} if family in ("task", "model", "loss") else {}
    optimizer = kind if family == "optimizer" else OPTIMIZER_KINDS[0]
    for task in [fixed["task"]] if "task" in fixed else TASK_KINDS:
        for model in [fixed["model"]] if "model" in fixed else MODEL_KINDS:
            for loss in [fixed["loss"]] if "loss" in fixed else LOSS_KINDS:
                built = {
                    n: k.model_validate(k.example)
                    for n, k in (("task", task), ("model", model), ("loss", loss))
                }
                inner = optimizer.model_validate(optimizer.example)
                parts = {**built, **{f"o{i}": p for i, (_, p) in enumerate(inner.parts(()))}}
                if family == "metric":
                    parts["metric"] = kind.model_validate(kind.example)
                if _fits(parts):
                    metrics = [
                        m.example
                        for m in METRIC_KINDS
                        if _fits({**parts, "metric": m.model_validate(m.example)})
                    ]
                    return {
                        "task": built["task"].model_dump(mode="json"),
                        "model": built["model"].model_dump(mode="json"),
                        "loss": built["loss"].model_dump(mode="json"),
                        "optimizer": {"name": "o", **inner.model_dump(mode="json")},
                        "train": {
                            "steps": 2,
                            "eval_every": 1,
                            "batch_size": None,
                            "precision": "float32",
                        },
                        "metrics": [
                            TypeAdapter(Metric).validate_python(m).model_dump(mode="json")
                            for m in metrics
                        ],
                        "seed": 0,
                    }
    raise AssertionError(f"no task, model and loss meet the needs of {kind_name(kind)}")


_OUTCOMES: dict[str, Any] = {}

# (metric, model) pairs whose values are undefined by design, and why.
UNDEFINED = {
    ("lemma_rate", "mlp"): "NaN where the lemmas do not apply (adaptive methods, switches)",
    ("lemma_rate", "linear"): "the same",
    ("lemma_rate", "mean_field"): "the same",
    ("param_distance", "linear"): "the linear model starts at theta_0 = 0",
}


def _run(config: dict[str, Any]) -> Any:
    key = json.dumps(config, sort_keys=True)
    if key not in _OUTCOMES:  # kinds that share their smallest spec share its run
        _OUTCOMES[key] = run_cell(config)
    return _OUTCOMES[key]


@pytest.mark.parametrize(
    ("family", "kind"), RUNNABLE, ids=[i for i in IDS if "observable" not in i]
)
def test_builds_and_trains_in_the_smallest_spec_around_it(family, kind):
    config = _cell_around(family, kind)
    outcome = _run(config)
    assert outcome.steps_done == 2 and outcome.diverged_at is None
    assert np.all(np.isfinite(outcome.records["loss"]))
    for metric in config["metrics"]:
        key = metric["name"] or metric["kind"]
        values = outcome.metrics[key]
        assert values.shape[0] == 3, key  # steps 0, 1, 2
        labels = outcome.groups.get(key)
        assert (values.ndim == 1) == (labels is None), key
        if labels is not None:
            assert values.shape[1] == len(labels), key
        if (metric["kind"], config["model"]["kind"]) not in UNDEFINED:
            assert np.all(np.isfinite(values)), key
    if family == "metric":
        assert kind.model_validate(kind.example).key in outcome.metrics


# --- observables on a synthetic cell --------------------------------------------------------


def _synthetic_cell() -> CellResult:
    steps = np.arange(0, 1001, 50)
    rates = np.array([0.01, 0.005, 0.002])
    return CellResult(
        cell_id="c0",
        optimizer="gd",
        seed=0,
        point={},
        status="finished",
        eval_steps=steps,
        metrics={"fft_error": np.exp(-np.outer(steps, rates))},
        groups={"fft_error": ["0", "1", "2"]},
        records={"loss": np.exp(-0.01 * np.arange(1001))},
        steps_done=1000,
    )


@pytest.mark.parametrize("kind", OBSERVABLE_KINDS, ids=kind_name)
def test_observable_measures_a_cell_and_reads_as_a_phrase(kind):
    observables = {
        "x": kind.model_validate(kind.example),
        "loss_halved": {"kind": "crossing", "metric": "loss", "below": 0.5},
        "loss_tenth": {"kind": "crossing", "metric": "loss", "below": 0.1},
        "rates": {"kind": "decay_rate", "metric": "fft_error", "window": [0, 1000]},
    }
    observables = {n: TypeAdapter(Observable).validate_python(o) for n, o in observables.items()}
    observed = observe("x", observables, _synthetic_cell())
    assert observed.labels and set(observed.values) == set(observed.labels), observed.missing
    assert all(np.isfinite(v) for v in observed.values.values())
    phrase = describe("x", observables)
    assert phrase.endswith("(x)") and len(phrase) > len("(x)") + 5
