"""The sweep against the spec it sweeps, checked before any cell is planned.

- A sweep key (``model.alpha``) names a value that :func:`runner.plan.set_path` can set: every
  part before the last is written in the spec (a mapping, or a list indexed by number), the last
  is a key written there or a field of the model there (``model.alpha`` when ``alpha`` keeps
  its default). A key that is not is reported at its line in ``sweep.grid`` / ``sweep.zip``,
  with the part that is missing, the closest real path (did you mean) and what is there.
- Every sweep point is applied as :func:`runner.plan.plan` applies it and validated by the same
  model. A point that does not validate is reported at the sweep value that breaks it, in the
  words of every other spec error: ``sweep.grid.model.alpha.1  model.alpha = -2: must be > 0,
  got -2``.
- :func:`selectable_anywhere`: what each ``where`` key takes in the base spec or any profile
  (passed to the spec's validator, which lets ``{in: [...]}`` name points only some profiles
  run).
"""

from __future__ import annotations

import copy
import difflib
import itertools
from collections.abc import Iterator, Mapping
from typing import Any

import pydantic

from runner.load.errors import validation_problems
from runner.load.problems import (
    KeyPath,
    Origin,
    SpecProblem,
    describe,
    dotted,
    origin_of,
)
from runner.load.schema import child_type, is_model, type_for_value
from runner.load.yaml_positions import drop_below
from runner.plan import CELL_FIELDS, set_path
from runner.spec import Spec, _shown

MAX_PROBLEMS = 10  # a broken value repeats in every point it is part of; the first few suffice


def selectable_anywhere(data: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The values each ``where`` key (``optimizer``, ``seed``, a sweep key) takes in the spec
    file ``data`` or in any of its profiles; malformed parts are skipped (validation reports
    them)."""
    profiles = data.get("profiles")
    bodies = list(profiles.values()) if isinstance(profiles, dict) else []
    out: dict[str, list[Any]] = {}
    for source in [data, *(body for body in bodies if isinstance(body, dict))]:
        optimizers = source.get("optimizers")
        if isinstance(optimizers, dict):
            out.setdefault("optimizer", []).extend(optimizers)
        sweep = source.get("sweep")
        if not isinstance(sweep, dict):
            continue
        if isinstance(sweep.get("seeds"), list):
            out.setdefault("seed", []).extend(sweep["seeds"])
        for section in ("grid", "zip"):
            axes = sweep.get(section)
            for key, values in axes.items() if isinstance(axes, dict) else ():
                if isinstance(values, list):
                    out.setdefault(str(key), []).extend(values)
    return out


def sweep_problems(
    spec: Spec,
    resolved: dict[str, Any],
    origins: Mapping[KeyPath, Origin],
    file: str,
    context: dict[str, Any] | None = None,
) -> list[SpecProblem]:
    """The problems of ``spec``'s sweep (validated from ``resolved`` with ``context``; see the
    module notes)."""
    axes = [("grid", key) for key in spec.sweep.grid] + [("zip", key) for key in spec.sweep.zip]
    paths: dict[str, KeyPath] = {}
    problems = []
    for section, key in axes:
        found = _key_path(key, resolved)
        if isinstance(found, str):
            where = origin_of(("sweep", section, key), origins, file)
            problems.append(SpecProblem(*where, dotted(("sweep", section, key)), found))
        else:
            paths[key] = found
    if problems or not axes:
        return problems
    seen: dict[tuple[str, str], SpecProblem] = {}
    for point in _points(spec):
        variant = copy.deepcopy(resolved)
        try:
            for key, (_, _, value) in point.items():
                set_path(variant, key, copy.deepcopy(value))
        except (KeyError, IndexError, ValueError, TypeError):  # a key inside another's value
            section, key = axes[-1]
            message = f"sweep key {key!r}: another sweep key replaces the value it is inside"
            where = origin_of(("sweep", section, key), origins, file)
            return [SpecProblem(*where, dotted(("sweep", section, key)), message)]
        try:
            Spec.model_validate(variant, context=context)
        except pydantic.ValidationError as error:
            for problem in _point_problems(error, point, paths, variant, origins, file):
                seen.setdefault((problem.path, problem.message), problem)
            if len(seen) >= MAX_PROBLEMS:
                break
    return list(seen.values())


Point = dict[str, tuple[str, int, Any]]  # sweep key -> (grid or zip, index of the value, value)


def _points(spec: Spec) -> Iterator[Point]:
    """Every sweep point, in the order of :func:`runner.plan.sweep_points`, with where each value
    is written."""
    grid, zipped = spec.sweep.grid, spec.sweep.zip
    rows = len(next(iter(zipped.values()))) if zipped else 1
    for combo in itertools.product(*(range(len(values)) for values in grid.values())):
        for row in range(rows):
            point = {k: ("grid", i, grid[k][i]) for k, i in zip(grid, combo, strict=True)}
            yield point | {k: ("zip", row, values[row]) for k, values in zipped.items()}


def _point_problems(
    error: pydantic.ValidationError,
    point: Point,
    paths: dict[str, KeyPath],
    variant: dict[str, Any],
    origins: Mapping[KeyPath, Origin],
    file: str,
) -> list[SpecProblem]:
    """The problems of one sweep point, each at the sweep value that causes it."""
    moved = dict(origins)  # the swept values' origins: their lines in the sweep
    for key, (section, index, _) in point.items():
        written = ("sweep", section, key, index)
        drop_below(moved, paths[key])
        moved[paths[key]] = origin_of(written, origins, file)  # or the --set that swept it
        for path, origin in origins.items():
            if path[: len(written)] == written:
                moved[paths[key] + path[len(written) :]] = origin
    out = []
    for problem in validation_problems(error, variant, moved, file):
        related = [k for k in point if _related(dotted(paths[k]), problem.path)] or list(point)
        section, index, _ = point[related[0]]
        at = ("sweep", section, related[0], index)
        values = ", ".join(f"{k} = {_shown(point[k][2])}" for k in related)
        inside = "" if problem.path in related else f"{problem.path}: "
        line = problem[1:3] if problem.line is not None else origin_of(at, origins, file)[1:]
        out.append(
            SpecProblem(problem.file, *line, dotted(at), f"{values}: {inside}{problem.message}")
        )
    return out


def _related(key: str, path: str) -> bool:
    return key == path or path.startswith(key + ".") or key.startswith(path + ".")


def _key_path(key: str, resolved: dict[str, Any]) -> KeyPath | str:
    """The key path ``key`` names in ``resolved`` (list indices as numbers), or why it names
    none."""
    node: Any = resolved
    tp: Any = Spec
    path: list[str | int] = []
    parts = key.split(".")
    for n, part in enumerate(parts):
        here = type_for_value(tp, node)
        last = n == len(parts) - 1
        step: str | int = part
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                return _no_path(
                    key,
                    resolved,
                    f"{dotted(path)} is a list of {len(node)}: "
                    f"index it with 0 .. {len(node) - 1}, not {part!r}",
                )
            step = int(part)
        elif not isinstance(node, dict):
            return _no_path(key, resolved, f"{dotted(path)} is {describe(node)}, not a mapping")
        elif part not in node:
            fields = list(here.model_fields) if is_model(here) else []
            if last and part in fields:
                return (*path, part)  # a field that keeps its default
            where = dotted(path) if path else "the spec"
            if part in fields:
                return _no_path(
                    key,
                    resolved,
                    f"{where} does not write {part!r}: write it in the spec to "
                    "sweep a value inside it",
                )
            has = list(dict.fromkeys([*map(str, node), *fields]))
            listed = ", ".join(has[:15]) + (", ..." if len(has) > 15 else "")
            return _no_path(key, resolved, f"{where} has no {part!r}", f" ({where} has: {listed})")
        path.append(step)
        node = node[step]
        tp = child_type(here, step)
    return tuple(path)


def _no_path(key: str, resolved: dict[str, Any], why: str, tail: str = "") -> str:
    close = difflib.get_close_matches(key, _real_paths(resolved), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"sweep key {key!r} is not a path in the spec: {why}{hint}{tail}"


def _real_paths(resolved: dict[str, Any]) -> list[str]:
    """The dotted paths a sweep may set: into the parts a cell is made of (task, model, loss,
    optimizers, train, metrics), written keys and model fields alike."""
    out: list[str] = []

    def walk(node: Any, tp: Any, prefix: tuple[str, ...]) -> None:
        here = type_for_value(tp, node)
        if isinstance(node, dict):
            fields = list(here.model_fields) if is_model(here) else []
            for key in dict.fromkeys([*map(str, node), *fields]):
                out.append(".".join((*prefix, key)))
                if key in node:
                    walk(node[key], child_type(here, key), (*prefix, key))
        elif isinstance(node, list):
            for i, item in enumerate(node):
                out.append(".".join((*prefix, str(i))))
                walk(item, child_type(here, i), (*prefix, str(i)))

    for name in (*CELL_FIELDS, "optimizers"):
        out.append(name)
        if name in resolved:
            walk(resolved[name], child_type(Spec, name), (name,))
    return out
