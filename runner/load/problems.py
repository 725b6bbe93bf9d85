"""Problems: every mistake a user can make in a spec or on the command line, as one line.

A :class:`SpecError` holds :class:`SpecProblem` s, printed one per line as
``file:line:col  key.path  message`` (``runner`` exits 4 on it). Also here: the key-path and
position types shared by the loader, and the wording helpers (``unknown key 'stepz'; did you
mean 'steps'?``) that every part of it uses.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

ROOT = "<root>"

KeyPath = tuple[str | int, ...]
Position = tuple[int, int]
Origin = tuple[str, int | None, int | None]  # (file label, line, column)


class SpecProblem(NamedTuple):
    """One mistake: where (``file``, 1-based ``line`` and ``col`` when known), the dotted key
    ``path`` (``claims.2.op``; ``<root>`` for the top level) and a ``message``. ``file`` is the
    spec file, or ``--set a.b=v`` for a problem an override caused."""

    file: str
    line: int | None
    col: int | None
    path: str
    message: str

    def format(self) -> str:
        """``file:line:col  path  message`` (``file  path  message`` when the line is unknown)."""
        where = self.file
        if self.line is not None:
            where += f":{self.line}" + (f":{self.col}" if self.col is not None else "")
        return f"{where}  {self.path}  {self.message}"


class SpecError(Exception):
    """A spec (or its profile, or an override) is wrong; ``runner`` exits 4 (``EXIT_USAGE``)."""

    exit_code = 4

    def __init__(self, problems: Iterable[SpecProblem]):
        self.problems = list(problems)
        super().__init__(self.format())

    def format(self) -> str:
        """One line per problem, as :meth:`SpecProblem.format`."""
        return "\n".join(problem.format() for problem in self.problems)


def error_at(file: str, where: tuple[int | None, int | None], path: str, message: str) -> SpecError:
    """A :class:`SpecError` with one problem at ``where`` (``(line, col)``)."""
    return SpecError([SpecProblem(file, *where, path, message)])


def dotted(path: Sequence[str | int]) -> str:
    """``("claims", 2, "op")`` -> ``"claims.2.op"``; ``()`` -> ``"<root>"``."""
    return ".".join(str(part) for part in path) if path else ROOT


def describe(value: Any) -> str:
    """A value as a message shows it: ``'abc'``, ``5``, ``null``, ``a list``, ``a mapping``."""
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def unknown_key(key: Any, allowed: Sequence[str]) -> str:
    """``unknown key 'stepz'; did you mean 'steps'?`` (or the allowed keys when none is close)."""
    close = difflib.get_close_matches(str(key), list(allowed), n=1)
    if close:
        return f"unknown key {describe(key)}; did you mean {close[0]!r}?"
    if allowed:
        return f"unknown key {describe(key)} (allowed: {', '.join(allowed)})"
    return f"unknown key {describe(key)}"


def origin_of(path: KeyPath, origins: Mapping[KeyPath, Origin], file: str) -> Origin:
    """The origin of the deepest key along ``path`` that exists."""
    for n in range(len(path), -1, -1):
        if path[:n] in origins:
            return origins[path[:n]]
    return (file, None, None)


def sorted_problems(problems: Iterable[SpecProblem]) -> list[SpecProblem]:
    """Without duplicates, by file position (problems without a line last)."""
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.line is None, p.file, p.line or 0, p.col or 0, p.path))
