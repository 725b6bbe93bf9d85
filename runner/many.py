"""Several specs per command: ``runner run specs/a.yaml specs/b.yaml``, ``runner validate specs/``.

- :func:`spec_paths`: the command line's spec arguments as files. A folder stands for its
  ``*.yaml`` and ``*.yml`` files (not its subfolders), sorted by name; a folder without any
  is a usage error naming it. A file named twice (``specs/ specs/a.yaml``) is taken once,
  where it first appears.
- :func:`worst_exit_code`: one exit code for several runs, the worst of theirs. From worst to
  best: 3 (a cell or a claim errored) > 2 (interrupted) > 1 (a claim failed) > 5 (nothing
  selected) > 0. Exit 4 (a bad spec or usage) is decided before anything runs: every spec is
  read and checked first, so a mistake in the last spec fails before the first trains.
- :func:`batch_summary`: the one line ``runner run`` prints at the end across specs.

Nothing here imports JAX or numpy (``runner validate`` uses it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPEC_SUFFIXES = (".yaml", ".yml")  # what a spec file's name ends with (also pytest's plugin)

# Worst first: what a run of several specs exits with (see the module docstring).
EXIT_SEVERITY = (3, 2, 1, 5, 0)


class SpecPathError(Exception):
    """A spec argument that names no spec (a folder without ``*.yaml`` or ``*.yml`` files):
    exit 4."""


def spec_paths(arguments: Iterable[Path]) -> list[Path]:
    """The spec files the arguments name, folders expanded (see the module docstring). A path
    that does not exist is kept: reading it reports it like any other unreadable spec."""
    paths: list[Path] = []
    seen: set[Path] = set()
    for argument in arguments:
        if argument.is_dir():
            found = sorted(
                p for p in argument.iterdir() if p.suffix in SPEC_SUFFIXES and p.is_file()
            )
            if not found:
                raise SpecPathError(f"{argument}: a folder with no .yaml or .yml spec in it")
        else:
            found = [argument]
        for path in found:
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                paths.append(path)
    return paths


def worst_exit_code(codes: Iterable[int]) -> int:
    """The worst of several runs' exit codes (0 for none; see :data:`EXIT_SEVERITY`)."""
    rank = {code: position for position, code in enumerate(EXIT_SEVERITY)}
    return min(codes, key=lambda code: rank.get(code, -1), default=0)


@dataclass
class SpecOutcome:
    """What one spec of several ended with: its exit code and its claims (for the summary)."""

    path: Path
    code: int
    claims: Sequence[Any] = field(default_factory=list)


def batch_summary(outcomes: Sequence[SpecOutcome], seconds: float, not_run: int = 0) -> str:
    """The last line of ``runner run`` over several specs: how many ran, the verdicts of all
    their claims in :func:`runner.cli.summary_line`'s words, the seconds, and the exit code
    with the specs that decided it, e.g. ``3 specs: 2 failed, 25 passed in 84 s; exit 1
    (regression_1d.yaml)``."""
    from runner.cli import summary_line

    claims = [claim for outcome in outcomes for claim in outcome.claims]
    code = worst_exit_code(outcome.code for outcome in outcomes)
    head = f"{len(outcomes)} spec{'s' if len(outcomes) != 1 else ''}"
    if not_run:
        head += f" ({not_run} not run)"
    line = f"{head}: {summary_line(claims, seconds)}; exit {code}"
    if code:
        deciding = [outcome.path.name for outcome in outcomes if outcome.code == code]
        line += f" ({', '.join(deciding)})"
    return line
