"""Reading a spec file: safe YAML with positions, profiles, ``--set`` overrides, readable errors.

Every mistake a user can make in a spec or on the command line ends as a :class:`SpecError`
holding :class:`SpecProblem` s, printed one per line as ``file:line:col  key.path  message``
(``runner`` exits 4 on it); nothing here raises a bare exception for a user mistake.

- :mod:`~runner.load.yaml_positions`: the file as plain values with the line and column of
  every key (:func:`parse_yaml`; the YAML rules and size limits are listed there).
- :mod:`~runner.load.profiles`: ``profiles.<name>`` merged over the base, then ``--set``
  overrides in order (:func:`load_spec`).
- :mod:`~runner.load.errors` (with :mod:`~runner.load.schema`): validation errors in the
  user's words, with did-you-mean suggestions. An error is reported where its value came from:
  the override that set it (``--set a.b=v  a.b  message``), else the key's line inside
  ``profiles.<name>``, else its line in the base spec (the deepest key of the error's path that
  exists).
- :mod:`~runner.load.sweep`: every sweep key a path in the spec, every sweep point valid
  (reported at the sweep's own lines), and what each ``where`` key takes in any profile (the
  context the spec's validator checks ``{in: [...]}`` lists against).
- :mod:`~runner.load.problems`: :class:`SpecProblem` and :class:`SpecError`.
- :func:`check_profiles` (``runner validate``): the problems of the base and every profile,
  and warnings (:func:`spec_warnings`: an observable nothing uses), printed alike but exit 0.

A spec whose sweep has more than ``MAX_CELLS`` cells is refused before any is planned.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pydantic

from runner.load.errors import validation_problems
from runner.load.problems import (
    ROOT,
    KeyPath,
    Origin,
    Position,
    SpecError,
    SpecProblem,
    describe,
    dotted,
    error_at,
    origin_of,
    sorted_problems,
)
from runner.load.profiles import apply_override, apply_profile
from runner.load.sweep import selectable_anywhere, sweep_problems
from runner.load.yaml_positions import (
    EMPTY,
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_INTEGER,
    MAX_NODES,
    MAX_STRING_CHARS,
    parse_text,
    parse_yaml,
    read_text,
)
from runner.spec import Spec

__all__ = [
    "MAX_CELLS",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_INTEGER",
    "MAX_NODES",
    "MAX_STRING_CHARS",
    "LoadedSpec",
    "ProfileCheck",
    "SpecError",
    "SpecProblem",
    "cell_count",
    "check_profiles",
    "dotted",
    "load_spec",
    "parse_yaml",
    "validate_file",
    "validate_profiles",
]

MAX_CELLS = 100_000


def _read_spec(path: str | Path) -> tuple[str, str, dict[str, Any], dict[KeyPath, Position]]:
    file, text = read_text(path)
    value, positions = parse_text(text, file)
    if value is EMPTY:
        raise error_at(file, (None, None), ROOT, "the file is empty; a spec is a mapping")
    if not isinstance(value, dict):
        message = (
            "the top level must be a mapping of spec keys (name:, task:, model:, ...), "
            f"got {describe(value)}"
        )
        raise error_at(file, positions[()], ROOT, message)
    return file, text, value, positions


@dataclass(frozen=True)
class LoadedSpec:
    """A spec file read, resolved and validated.

    ``data`` is the file's mapping as loaded (profiles included); ``resolved`` is ``data`` with
    the profile merged and the overrides set (``profiles`` kept); ``spec`` validates
    ``resolved``. ``profile`` is the profile asked for and ``profile_applied`` whether the spec
    defines it (``default`` may be absent: the base is used). ``origins`` maps key paths to where
    their values came from (file and line, or ``--set ...``); :meth:`problem` uses it."""

    path: Path
    text: str = field(repr=False)
    data: dict[str, Any] = field(repr=False)
    resolved: dict[str, Any] = field(repr=False)
    spec: Spec = field(repr=False)
    profile: str | None
    overrides: tuple[str, ...]
    profile_applied: bool = False
    origins: Mapping[KeyPath, Origin] = field(default_factory=dict, repr=False, compare=False)

    def problem(self, path: Sequence[str | int], message: str) -> SpecProblem:
        """A problem about the value at ``path`` of the resolved spec, placed where it was set
        (for checks after validation, e.g. a sweep key that names no field)."""
        key = tuple(path)
        return SpecProblem(*origin_of(key, self.origins, str(self.path)), dotted(key), message)


def _resolve(
    file: str,
    data: dict[str, Any],
    positions: Mapping[KeyPath, Position],
    profile: str | None,
    overrides: Sequence[str],
) -> tuple[dict[str, Any], dict[KeyPath, Origin], bool, Spec | list[SpecProblem]]:
    resolved = copy.deepcopy(data)
    origins: dict[KeyPath, Origin] = {p: (file, line, col) for p, (line, col) in positions.items()}
    applied = apply_profile(data, positions, file, profile, resolved, origins)
    problems = [p for text in overrides for p in apply_override(text, resolved, origins)]
    if problems:
        raise SpecError(problems)
    context = {"selectable": selectable_anywhere(data)}
    try:
        spec = Spec.model_validate(resolved, context=context)
    except pydantic.ValidationError as error:
        return resolved, origins, applied, validation_problems(error, resolved, origins, file)
    cells = cell_count(spec)
    if cells > MAX_CELLS:
        line, col = positions.get(("sweep",), (1, 1))
        message = (
            f"the sweep has {cells:,} cells (optimizers x points x seeds), more than "
            f"{MAX_CELLS:,}; split it into several specs"
        )
        return resolved, origins, applied, [SpecProblem(file, line, col, "sweep", message)]
    problems = sweep_problems(spec, resolved, origins, file, context)
    return resolved, origins, applied, problems or spec


def cell_count(spec: Spec) -> int:
    """Optimizers x sweep points x seeds, without expanding the sweep."""
    points = math.prod(len(values) for values in spec.sweep.grid.values())
    if spec.sweep.zip:
        points *= len(next(iter(spec.sweep.zip.values())))
    return len(spec.optimizers) * points * len(spec.sweep.seeds)


def load_spec(
    path: str | Path, *, profile: str | None = "default", overrides: Sequence[str] = ()
) -> LoadedSpec:
    """Reads, resolves (profile, then overrides in order) and validates a spec file.

    Raises :class:`SpecError` for every user mistake: unreadable or non-UTF-8 file, bad YAML,
    unknown profile, bad override, invalid spec."""
    if isinstance(overrides, str):
        overrides = [overrides]
    file, text, data, positions = _read_spec(path)
    resolved, origins, applied, outcome = _resolve(file, data, positions, profile, overrides)
    if not isinstance(outcome, Spec):
        raise SpecError(outcome)
    return LoadedSpec(
        path=Path(path),
        text=text,
        data=data,
        resolved=resolved,
        spec=outcome,
        profile=profile,
        overrides=tuple(overrides),
        profile_applied=applied,
        origins=origins,
    )


def validate_file(
    path: str | Path, profile: str | None = "default", overrides: Sequence[str] = ()
) -> LoadedSpec:
    """:func:`load_spec` under the name ``runner validate`` uses."""
    return load_spec(path, profile=profile, overrides=overrides)


def validate_profiles(path: str | Path) -> list[SpecProblem]:
    """Every problem of the base spec and of each profile it defines (empty: all valid).

    A problem that the base already has is reported once; one that only a profile has says so
    (``... [profile 'smoke']``)."""
    return check_profiles(path).problems


UNUSED = "warning: not used by any claim or figure"


def spec_warnings(spec: Spec, origins: Mapping[KeyPath, Origin], file: str) -> list[SpecProblem]:
    """What is valid but likely a mistake: an observable that no claim, figure or other
    observable uses (``observables.x  warning: not used by any claim or figure``)."""
    return [
        SpecProblem(*origin_of(("observables", name), origins, file), f"observables.{name}", UNUSED)
        for name in spec.unused_observables()
    ]


class ProfileCheck(NamedTuple):
    """What :func:`check_profiles` finds: ``problems`` (none: every profile validates),
    ``warnings`` and the ``base`` spec (validated without a profile; None if it is not valid)."""

    problems: list[SpecProblem]
    warnings: list[SpecProblem]
    base: Spec | None


def check_profiles(path: str | Path) -> ProfileCheck:
    """The problems and warnings of the base spec and of each profile it defines, as
    :func:`validate_profiles` reports them (a profile's own ones say so); warnings
    (:func:`spec_warnings`) only of the parts that validate."""
    try:
        file, _, data, positions = _read_spec(path)
    except SpecError as error:
        return ProfileCheck(error.problems, [], None)
    base: list[Spec] = []

    def check(profile: str | None) -> tuple[list[SpecProblem], list[SpecProblem]]:
        try:
            _, origins, _, outcome = _resolve(file, data, positions, profile, ())
        except SpecError as error:
            return error.problems, []
        if isinstance(outcome, Spec):
            base.extend([outcome] if profile is None else [])
            return [], spec_warnings(outcome, origins, file)
        return outcome, []

    problems, warnings = check(None)
    seen = set(problems) | set(warnings)
    profiles = data.get("profiles")
    for name in profiles if isinstance(profiles, dict) else ():
        found, cautions = check(name)
        for problem, into in [(p, problems) for p in found] + [(w, warnings) for w in cautions]:
            if problem not in seen:
                seen.add(problem)
                into.append(problem._replace(message=f"{problem.message} [profile {name!r}]"))
    return ProfileCheck(sorted_problems(problems), sorted_problems(warnings), (base or [None])[0])
