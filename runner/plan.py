"""Plan: expand a validated spec into cells (optimizer x sweep point x seed) with content hashes.

A cell's ``params`` are everything that determines its training run, resolved and in plain JSON
(task, model, loss, the optimizer with its name, train with the optimizer's own ``train``
overrides applied, metrics, seed); its ``hash`` is the
SHA-256 of those parameters and the pgdlab version, so ``--resume`` reuses a stored cell only when
nothing that affects it changed. Claims and observables are not part of a cell: editing them
never invalidates stored results (``runner judge`` re-judges).

Sweep keys are dotted paths into the spec (``model.alpha``, ``optimizers.lm.damping``); every
sweep point is applied to the spec mapping and validated again by the same model.

A switch whose ``first`` names another optimizer (``first: ggn``) *continues* that optimizer's
cell of the same point and seed (the donor): its params get the donor's optimizer as ``first``
and ``continues: {optimizer, at, train, hash}`` (the donor's train settings and hash, so that a
change to the donor changes this cell's hash too). The cell's ``continues`` names the donor's
cell id, and the donor's ``snapshots`` the steps whose parameters it keeps for it.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import json
import re
from dataclasses import dataclass
from typing import Any

from core import __version__
from runner.spec import Spec
from runner.text import number

CELL_FIELDS = ("task", "model", "loss", "train", "metrics")


@dataclass(frozen=True)
class Cell:
    index: int
    optimizer: str
    seed: int
    point: dict[str, Any]
    params: dict[str, Any]
    hash: str
    continues: str | None = None  # the donor's cell id (a switch with ``first: NAME``)
    snapshots: tuple[int, ...] = ()  # steps whose parameters this cell keeps for its continuers

    @property
    def cell_id(self) -> str:
        short = "_".join(
            f"{key.split('.')[-1]}{_short(value)}" for key, value in self.point.items()
        )
        middle = f"_{short[:120]}" if short else ""  # file names stay well under 255 bytes
        name = f"{self.index:03d}_{self.optimizer}{middle}_s{self.seed}_{self.hash[:8]}"
        return re.sub(r"[^A-Za-z0-9_.=-]", "-", name)

    def to_json(self) -> dict[str, Any]:
        return {
            "cell_id": self.cell_id,
            "index": self.index,
            "optimizer": self.optimizer,
            "seed": self.seed,
            "point": self.point,
            "params": self.params,
            "hash": self.hash,
            **({"continues": self.continues} if self.continues else {}),
            **({"snapshots": list(self.snapshots)} if self.snapshots else {}),
        }


def _short(value: Any) -> str:
    """A sweep value in a cell id: a number as :func:`runner.text.number` with 6 digits (as
    ``format(x, "g")``), a swept kind by its name, other mappings and lists by a short hash."""
    if isinstance(value, float):
        return number(value, 6)
    if isinstance(value, dict) and isinstance(value.get("kind"), str):
        return value["kind"]
    if isinstance(value, (dict, list)):
        return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:6]
    return str(value)


def content_hash(params: dict[str, Any]) -> str:
    payload = json.dumps({"params": params, "pgdlab": __version__}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def set_path(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b.c`` in nested mappings (list indices as numbers); parents must exist."""
    parts = dotted.split(".")
    node: Any = data
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def sweep_points(spec: Spec) -> list[dict[str, Any]]:
    """Every sweep point as ``{dotted key: value}``: grid product x zipped rows."""
    grid_keys = list(spec.sweep.grid)
    grid = [
        dict(zip(grid_keys, combo, strict=True))
        for combo in itertools.product(*(spec.sweep.grid[k] for k in grid_keys))
    ]
    zip_keys = list(spec.sweep.zip)
    rows = [
        dict(zip(zip_keys, combo, strict=True))
        for combo in zip(*(spec.sweep.zip[k] for k in zip_keys), strict=True)
    ] or [{}]
    return [{**g, **z} for g in grid for z in rows]


class SweepError(ValueError):
    """A sweep point that does not validate (reported by the CLI as a spec problem)."""

    def __init__(self, point: dict[str, Any], message: str):
        super().__init__(message)
        self.point = point


def plan(spec: Spec, resolved: dict[str, Any]) -> list[Cell]:
    """The cells of ``spec`` (validated from the mapping ``resolved``), in a stable order:
    sweep point, then optimizer (spec order), then seed."""
    cells: list[Cell] = []
    for point in sweep_points(spec):
        variant_data = copy.deepcopy(resolved)
        for key, value in point.items():
            try:
                set_path(variant_data, key, value)
            except (KeyError, IndexError, ValueError, TypeError) as missing:
                raise SweepError(point, f"sweep key {key!r} is not a path in the spec") from missing
        try:
            variant = Spec.model_validate(variant_data)
        except Exception as invalid:  # pydantic.ValidationError, reported with the point
            raise SweepError(point, f"sweep point {point} does not validate: {invalid}") from None
        dumped = variant.model_dump(mode="json")
        shared = {name: dumped[name] for name in CELL_FIELDS}
        point_cells: list[Cell] = []
        for name, optimizer in dumped["optimizers"].items():
            override = {k: v for k, v in (optimizer.pop("train") or {}).items() if v is not None}
            train = {**shared["train"], **override}
            for seed in variant.sweep.seeds:
                params = {
                    **shared,
                    "train": train,
                    "optimizer": {"name": name, **optimizer},
                    "seed": seed,
                }
                index = len(cells) + len(point_cells)
                point_cells.append(Cell(index, name, seed, dict(point), params, ""))
        cells += _with_continuations(point_cells)
    return cells


def _with_continuations(cells: list[Cell]) -> list[Cell]:
    """The cells of one sweep point with their hashes, continuing switches linked to their
    donors (see the module docstring); donors are hashed first."""
    hashed = {
        (c.optimizer, c.seed): dataclasses.replace(c, hash=content_hash(c.params))
        for c in cells
        if not isinstance(c.params["optimizer"].get("first"), str)
    }
    snapshots: dict[tuple[str, int], set[int]] = {}
    out: list[Cell] = []
    for cell in cells:
        donor_name = cell.params["optimizer"].get("first")
        if not isinstance(donor_name, str):
            out.append(hashed[(cell.optimizer, cell.seed)])
            continue
        donor = hashed[(donor_name, cell.seed)]
        at = int(cell.params["optimizer"]["at"])
        first = {k: v for k, v in donor.params["optimizer"].items() if k != "name"}
        params = {
            **cell.params,
            "optimizer": {**cell.params["optimizer"], "first": first},
            "continues": {
                "optimizer": donor_name,
                "at": at,
                "train": donor.params["train"],
                "hash": donor.hash,
            },
        }
        out.append(
            dataclasses.replace(
                cell, params=params, hash=content_hash(params), continues=donor.cell_id
            )
        )
        snapshots.setdefault((donor_name, cell.seed), set()).add(at)
    return [
        dataclasses.replace(c, snapshots=tuple(sorted(snapshots[(c.optimizer, c.seed)])))
        if (c.optimizer, c.seed) in snapshots and not c.continues
        else c
        for c in out
    ]
