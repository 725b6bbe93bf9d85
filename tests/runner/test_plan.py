"""Planning: sweep points, per-optimizer train overrides, stable hashes."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from runner.load import load_spec
from runner.plan import plan
from runner.spec import Spec

BASE = {
    "name": "p",
    "task": {"kind": "polynomial", "dimension": 4, "train": 10, "test": 10},
    "model": {"kind": "mean_field", "width": 8},
    "loss": {"kind": "mse", "convention": "raw"},
    "optimizers": {
        "gd": {"kind": "gd", "learning_rate": 4.0},
        "lm": {
            "kind": "lm",
            "learning_rate": 0.5,
            "damping": 0.1,
            "train": {"steps": 50, "eval_every": 5},
        },
    },
    "train": {"steps": 1000, "eval_every": 50},
    "metrics": [{"kind": "mse"}],
    "sweep": {
        "seeds": [0, 1],
        "zip": {
            "model.alpha": [0.5, 1.0],
            "loss.scale": [0.5, 1.0],
            "optimizers.lm.damping": [0.2, 0.1],
        },
    },
}


def _cells():
    return plan(Spec.model_validate(BASE), BASE)


def test_optimizer_train_override_applies_to_its_cells_only():
    cells = _cells()
    assert len(cells) == 2 * 2 * 2
    for cell in cells:
        train = cell.params["train"]
        if cell.optimizer == "lm":
            assert (train["steps"], train["eval_every"]) == (50, 5)
        else:
            assert (train["steps"], train["eval_every"]) == (1000, 50)
        assert train["precision"] == "float32"  # the rest of train is kept
        assert "train" not in cell.params["optimizer"]  # travels in params["train"] only


def test_zip_sets_model_loss_and_optimizer_together():
    cells = [c for c in _cells() if c.optimizer == "lm" and c.seed == 0]
    got = [
        (c.params["model"]["alpha"], c.params["loss"]["scale"], c.params["optimizer"]["damping"])
        for c in cells
    ]
    assert got == [(0.5, 0.5, 0.2), (1.0, 1.0, 0.1)]


def test_hashes_are_stable_and_distinct():
    first, second = _cells(), _cells()
    assert [c.hash for c in first] == [c.hash for c in second]
    assert len({c.hash for c in first}) == len(first)


RECORDED = Path(__file__).parent / "data" / "plan_hashes.json"
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("spec_path", sorted(json.loads(RECORDED.read_text())))
def test_cell_ids_and_hashes_unchanged(spec_path):
    """Every shipped spec plans the cells it planned when ``plan_hashes.json`` was recorded (per
    profile; ``<base>`` is no profile): a refactor must not rename a cell or invalidate a stored
    result."""
    recorded = json.loads(RECORDED.read_text())[spec_path]
    planned = {}
    for profile in recorded:
        loaded = load_spec(ROOT / spec_path, profile=None if profile == "<base>" else profile)
        planned[profile] = [[c.cell_id, c.hash] for c in plan(loaded.spec, loaded.resolved)]
    assert planned == recorded


CONTINUING = {
    **BASE,
    "optimizers": {
        "gd": {"kind": "gd", "learning_rate": 4.0, "train": {"steps": 50, "eval_every": 5}},
        "gd_then_lm": {
            "kind": "switch",
            "first": "gd",
            "second": {"kind": "lm", "learning_rate": 0.5, "damping": 0.1},
            "at": 20,
            "train": {"steps": 100, "eval_every": 10},
        },
    },
    "sweep": {"seeds": [0, 1], "grid": {"model.alpha": [0.5, 1.0]}},
}


def test_a_continuing_switch_is_linked_to_its_donor():
    """``first: gd`` puts gd's optimizer, train settings and hash into the switch's params (so a
    change to gd changes the switch's hash), names gd's cell of the same point and seed as the
    one it continues, and has that cell keep its parameters at the switch step."""
    cells = plan(Spec.model_validate(CONTINUING), CONTINUING)
    by = {(c.optimizer, c.seed, c.point["model.alpha"]): c for c in cells}
    for (name, seed, alpha), cell in by.items():
        if name != "gd_then_lm":
            continue
        donor = by[("gd", seed, alpha)]
        assert cell.continues == donor.cell_id and donor.snapshots == (20,)
        assert cell.params["continues"] == {
            "optimizer": "gd",
            "at": 20,
            "train": donor.params["train"],
            "hash": donor.hash,
        }
        first = {k: v for k, v in donor.params["optimizer"].items() if k != "name"}
        assert cell.params["optimizer"]["first"] == first
        assert cell.to_json()["continues"] == donor.cell_id
    changed = copy.deepcopy(CONTINUING)
    changed["optimizers"]["gd"]["learning_rate"] = 2.0
    again = plan(Spec.model_validate(changed), changed)
    for before, after in zip(cells, again, strict=True):
        assert (before.hash == after.hash) == (before.optimizer not in ("gd", "gd_then_lm"))
