"""Reading a spec file: safe YAML with positions, profiles, ``--set`` overrides, readable errors.

Every mistake a user can make in a spec or on the command line ends as a :class:`SpecError`
holding :class:`SpecProblem` s, printed one per line as ``file:line:col  key.path  message``
(``runner`` exits 4 on it); nothing here raises a bare exception for a user mistake.

YAML (:func:`parse_yaml`)
    - Plain data only: strings, numbers, booleans, null, lists and mappings. Scalars follow the
      YAML 1.2 core schema, so ``1e-3``, ``1E5`` and ``-2.5e-4`` are floats (PyYAML's YAML 1.1
      reads ``1e-3`` as a string), ``true``/``false`` are the only booleans (``yes``, ``no``,
      ``on``, ``off`` stay strings: a Pydantic ``bool`` field still accepts them), ``0o17`` and
      ``0x1f`` are integers, and ``_`` may group digits (``10_000``). Dates stay strings.
    - Explicit tags: only the core ones (``!!str !!int !!float !!bool !!null !!seq !!map``); any
      other (``!!python/object``, ``!!timestamp``, ``!!set``, ``!foo``) is an error at its line.
    - A key given twice in one mapping is an error naming both lines; keys must be strings
      (``1:`` or ``null:`` must be quoted).
    - Anchors, aliases and ``<<`` merge keys are allowed (explicit keys win over merged ones),
      but a file over ``MAX_FILE_BYTES``, a document that expands to more than ``MAX_NODES``
      values or nests deeper than ``MAX_DEPTH`` levels is refused (alias bombs, recursive
      aliases), and so is a string longer than ``MAX_STRING_CHARS`` or an integer beyond
      ``MAX_INTEGER`` (no spec value needs either; both only ever break something later).
    - A spec whose sweep has more than ``MAX_CELLS`` cells is refused before any is planned.
    - One document per file; an empty file (or comments only) and a top level that is not a
      mapping are errors. The file must be UTF-8.
    - Positions are 1-based ``(line, column)`` of every mapping key and sequence item, keyed by
      the key path (``("claims", 2, "op")``); ``()`` is the top-level node. Under an alias the
      positions are those of the anchored text.

Profiles and overrides (:func:`load_spec`)
    - ``profiles.<name>`` is a partial spec deep-merged over the base: mappings merge key by key,
      any other value (lists included) replaces. ``profile=None`` is the base alone; ``default``
      falls back to the base when the spec does not define it; any other undefined profile is an
      error naming the defined ones. The resolved mapping keeps ``profiles`` so that it validates
      with the same :class:`runner.spec.Spec`.
    - ``--set a.b.c=value`` overrides apply in order after the profile. The value is YAML (flow
      style) read by the same loader: ``500`` is an int, ``[0, 1]`` a list, ``1e-3`` a float, an
      empty value is null. Path parts are split on dots; a list is indexed by number
      (``claims.0.op``); a mapping key that itself contains dots (``optimizers.lm_0.5``,
      ``sweep.grid.model.alpha``) is matched against the existing keys, longest first, and in a
      mapping of plain values (``sweep.grid``, ``where``) the rest of the path is one key.
      A missing intermediate is created only where the schema names a section (``sweep`` in a
      spec without one); any other missing or non-mapping parent is an error. ``profiles``
      cannot be overridden (use ``--profile``).
    - A validation error is reported where its value came from: the override that set it
      (``--set a.b=v  a.b  message``), else the key's line inside ``profiles.<name>``, else its
      line in the base spec (the deepest key of the error's path that exists).

Messages are in the user's words: ``unknown key 'stepz'; did you mean 'steps'?``,
``unknown kind 'adamm'; did you mean 'adam'? (expected one of: gd, adam, ...)``,
``field required``, ``expected a number, got 'abc'``. Suggestions come from the model at the
error's position (discriminated unions resolved by the ``kind`` in the data).
"""

from __future__ import annotations

import copy
import difflib
import math
import re
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple, Union, get_args, get_origin

import pydantic
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from runner.spec import PROFILE_NAMES, Spec

__all__ = [
    "MAX_CELLS",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_INTEGER",
    "MAX_NODES",
    "MAX_STRING_CHARS",
    "LoadedSpec",
    "SpecError",
    "SpecProblem",
    "load_spec",
    "parse_yaml",
    "validate_file",
    "validate_profiles",
]

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_NODES = 100_000
MAX_DEPTH = 100
MAX_STRING_CHARS = 20_000
MAX_INTEGER = 2**53  # the largest integer a float64 (JSON, numpy) holds exactly
MAX_CELLS = 100_000
ROOT = "<root>"

KeyPath = tuple[str | int, ...]
Position = tuple[int, int]
Origin = tuple[str, int | None, int | None]  # (file label, line, column)


# --- problems ----------------------------------------------------------------------------------


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


def _error(file: str, where: tuple[int | None, int | None], path: str, message: str) -> SpecError:
    """A :class:`SpecError` with one problem at ``where`` (``(line, col)``)."""
    return SpecError([SpecProblem(file, *where, path, message)])


def dotted(path: Sequence[str | int]) -> str:
    """``("claims", 2, "op")`` -> ``"claims.2.op"``; ``()`` -> ``"<root>"``."""
    return ".".join(str(part) for part in path) if path else ROOT


def _describe(value: Any) -> str:
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


def _choice(what: str, got: Any, options: Sequence[Any]) -> str:
    """``unknown kind 'adamm'; did you mean 'adam'? (expected one of: gd, adam, ...)``."""
    names = [str(option) for option in options]
    close = difflib.get_close_matches(str(got), names, n=1) if isinstance(got, str) else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {what} {_describe(got)}{hint} (expected one of: {', '.join(names)})"


def _unknown_key(key: Any, allowed: Sequence[str]) -> str:
    """``unknown key 'stepz'; did you mean 'steps'?`` (or the allowed keys when none is close)."""
    close = difflib.get_close_matches(str(key), list(allowed), n=1)
    if close:
        return f"unknown key {_describe(key)}; did you mean {close[0]!r}?"
    if allowed:
        return f"unknown key {_describe(key)} (allowed: {', '.join(allowed)})"
    return f"unknown key {_describe(key)}"


# --- YAML with positions -----------------------------------------------------------------------

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL, _SEQ, _MAP, _MERGE = (
    _TAG + name for name in ("str", "int", "float", "bool", "null", "seq", "map", "merge")
)
_NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT_RE = re.compile(r"^(?:[-+]?[0-9][0-9_]*|0o[0-7][0-7_]*|0x[0-9a-fA-F][0-9a-fA-F_]*)$")
_FLOAT_RE = re.compile(
    r"""^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?
         |[-+]?\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
         |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
         |[-+]?\.(?:inf|Inf|INF)
         |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _SafeLoader(yaml.SafeLoader):
    """PyYAML's safe loader with YAML 1.2 core-schema implicit types (see the module notes)."""

    yaml_implicit_resolvers: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}


for _tag, _regexp, _first in (
    (_NULL, _NULL_RE, ["~", "n", "N", ""]),
    (_BOOL, _BOOL_RE, list("tTfF")),
    (_INT, _INT_RE, list("-+0123456789")),
    (_FLOAT, _FLOAT_RE, list("-+0123456789.")),
    (_MERGE, re.compile(r"^(?:<<)$"), ["<"]),
):
    _SafeLoader.add_implicit_resolver(_tag, _regexp, _first)


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


def _position(node: Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _to_int(text: str) -> int:
    digits = text.replace("_", "")
    if digits.startswith("0o"):
        return int(digits[2:], 8)
    if digits.startswith("0x"):
        return int(digits[2:], 16)
    return int(digits)


def _to_float(text: str) -> float:
    digits = text.replace("_", "").lower()
    if digits.endswith(".inf"):
        return -math.inf if digits.startswith("-") else math.inf
    if digits.endswith(".nan"):
        return math.nan
    return float(digits)


def _drop_below(table: dict[KeyPath, Any], path: KeyPath) -> None:
    """Removes ``path`` and every path under it from ``table``."""
    n = len(path)
    for key in [key for key in table if key[:n] == path]:
        del table[key]


class _Builder:
    """Plain Python values from a composed node tree, with the position of every key and item.

    Problems that leave the rest readable (a bad tag, a duplicate key) are collected; size and
    depth limits stop at once."""

    def __init__(self, file: str):
        self.file = file
        self.positions: dict[KeyPath, Position] = {}
        self.problems: list[SpecProblem] = []
        self.count = 0

    def problem(self, node: Node, path: KeyPath, message: str) -> None:
        line, col = _position(node)
        self.problems.append(SpecProblem(self.file, line, col, dotted(path), message))

    def build(self, node: Node, path: KeyPath, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            message = (
                f"the document expands to more than {MAX_NODES} values once aliases are "
                "expanded (an alias bomb?); a spec is a small file"
            )
            raise _error(self.file, _position(node), ROOT, message)
        if depth > MAX_DEPTH:
            message = f"nested deeper than {MAX_DEPTH} levels (a recursive alias?)"
            raise _error(self.file, _position(node), ROOT, message)
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ:
                self.problem(node, path, self._tag_message(node.tag))
                return None
            items = []
            for index, child in enumerate(node.value):
                self.positions[path + (index,)] = _position(child)
                items.append(self.build(child, path + (index,), depth + 1))
            return items
        if isinstance(node, MappingNode):
            return self.mapping(node, path, depth)
        raise TypeError(f"unexpected YAML node {node!r}")  # pragma: no cover - composer invariant

    def mapping(self, node: MappingNode, path: KeyPath, depth: int) -> dict[str, Any]:
        if node.tag != _MAP:
            self.problem(node, path, self._tag_message(node.tag))
            return {}
        merges = [value for key, value in node.value if key.tag == _MERGE]
        merged: dict[str, Any] = {}
        for value_node in merges:
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in reversed(sources):  # the first source wins, like PyYAML
                if not isinstance(source, MappingNode):
                    self.problem(source, path, "'<<' merges a mapping or a list of mappings")
                    continue
                merged.update(self.build(source, path, depth + 1))
        explicit: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self.key(key_node, path)
            if key is None:
                continue
            line = key_node.start_mark.line + 1
            if key in first_line:
                self.problem(
                    key_node,
                    path + (key,),
                    f"duplicate key {key!r} (first at line {first_line[key]}, "
                    f"again at line {line})",
                )
                continue
            first_line[key] = line
            if key in merged:
                _drop_below(self.positions, path + (key,))
            self.positions[path + (key,)] = _position(key_node)
            explicit[key] = self.build(value_node, path + (key,), depth + 1)
        return {**merged, **explicit}

    def key(self, node: Node, path: KeyPath) -> str | None:
        if not isinstance(node, ScalarNode):
            self.problem(node, path, "a mapping key must be a plain string, not a list or mapping")
            return None
        value = self.scalar(node, path)
        if isinstance(value, str):
            return value
        if node.tag in (_INT, _FLOAT, _BOOL, _NULL):
            self.problem(
                node,
                path,
                f"key {node.value!r} is read as {_describe(value)}, not a string; quote it",
            )
        return None

    def scalar(self, node: ScalarNode, path: KeyPath) -> Any:
        tag, text = node.tag, node.value
        if len(text) > MAX_STRING_CHARS:
            self.problem(
                node, path, f"a value of {len(text)} characters; at most {MAX_STRING_CHARS}"
            )
            return None
        if tag in (_STR, _MERGE):
            return text
        checks = {
            _NULL: (_NULL_RE, lambda _: None, "null"),
            _BOOL: (_BOOL_RE, lambda t: t.lower() == "true", "true or false"),
            _INT: (_INT_RE, _to_int, "an integer"),
            _FLOAT: (_FLOAT_RE, _to_float, "a number"),
        }
        if tag not in checks:
            self.problem(node, path, self._tag_message(tag))
            return None
        pattern, convert, expected = checks[tag]
        if tag in (_INT, _FLOAT) and _INT_RE.match(text):
            digits = text.replace("_", "").lstrip("+-")
            # Python refuses int() of > 4 300 digits; anything past 2^53 is a mistake anyway
            if len(digits) > 20 or abs(_to_int(text)) > MAX_INTEGER:
                self.problem(
                    node,
                    path,
                    f"integer {text[:20]}{'...' if len(text) > 20 else ''} is larger than 2^53",
                )
                return None
        if pattern.match(text):
            return convert(text)
        if tag == _FLOAT and _INT_RE.match(text):
            return float(_to_int(text))
        self.problem(node, path, f"{_short_tag(tag)} {text!r} is not {expected}")
        return None

    @staticmethod
    def _tag_message(tag: str) -> str:
        return (
            f"tag {_short_tag(tag)!r} is not allowed: a spec holds plain strings, numbers, "
            "booleans, null, lists and mappings"
        )


_EMPTY = object()


def _parse(text: str, file: str) -> tuple[Any, dict[KeyPath, Position]]:
    """(value, positions); value is ``_EMPTY`` when the text holds no document."""
    try:
        loader = _SafeLoader(text)
    except yaml.YAMLError as error:
        raise SpecError([_yaml_problem(error, text, file)]) from None
    try:
        try:
            if not loader.check_node():
                return _EMPTY, {}
            node = loader.get_node()
            if loader.check_node():
                mark = loader.peek_event().start_mark
                message = "a second YAML document starts here; a spec is one document"
                raise _error(file, (mark.line + 1, mark.column + 1), ROOT, message)
        except yaml.YAMLError as error:
            raise SpecError([_yaml_problem(error, text, file)]) from None
        except RecursionError:
            raise _error(file, (None, None), ROOT, "YAML nested too deeply to read") from None
    finally:
        loader.dispose()
    builder = _Builder(file)
    builder.positions[()] = _position(node)
    value = builder.build(node, ())
    if builder.problems:
        raise SpecError(builder.problems)
    return value, builder.positions


def _yaml_problem(error: yaml.YAMLError, text: str, file: str) -> SpecProblem:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        message = f"invalid YAML: {error.problem}"
        if error.context:
            where = f" at line {error.context_mark.line + 1}" if error.context_mark else ""
            message += f" ({error.context}{where})"
        if "'\\t'" in str(error.problem):
            message += "; indent with spaces, not tabs"
        return SpecProblem(file, mark.line + 1, mark.column + 1, ROOT, message)
    if isinstance(error, yaml.reader.ReaderError):
        before = text[: error.position]
        line = before.count("\n") + 1
        col = len(before) - (before.rfind("\n") + 1) + 1
        character = chr(error.character) if isinstance(error.character, int) else error.character
        message = f"invalid YAML: character {character!r} is not allowed ({error.reason})"
        return SpecProblem(file, line, col, ROOT, message)
    return SpecProblem(file, None, None, ROOT, f"invalid YAML: {error}")


def parse_yaml(text: str, file: str = "<string>") -> tuple[Any, dict[KeyPath, Position]]:
    """The value of a one-document YAML text and the 1-based ``(line, col)`` of every mapping
    key and sequence item by key path; rules in the module notes. Raises :class:`SpecError`
    (an empty text included)."""
    value, positions = _parse(text, file)
    if value is _EMPTY:
        raise _error(file, (None, None), ROOT, "the file holds no YAML document")
    return value, positions


# --- the schema, walked along a key path -------------------------------------------------------


class _Tagged(NamedTuple):
    """A discriminated union: tag value -> model class."""

    discriminator: str
    members: dict[Any, type[BaseModel]]


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _tagged(tp: Any, discriminator: str) -> _Tagged:
    members: dict[Any, type[BaseModel]] = {}
    for cls in get_args(tp) if _is_union(tp) else (tp,):
        for tag in get_args(cls.model_fields[discriminator].annotation):
            members[tag] = cls
    return _Tagged(discriminator, members)


def _strip(tp: Any) -> Any:
    """``Annotated[...]`` -> the plain type, or a :class:`_Tagged` for a discriminated union."""
    while get_origin(tp) is Annotated:
        base, *metadata = get_args(tp)
        for item in metadata:
            if isinstance(item, FieldInfo) and isinstance(item.discriminator, str):
                return _tagged(base, item.discriminator)
        tp = base
    return tp


def _field_type(model: type[BaseModel], name: str) -> Any:
    info = model.model_fields[name]
    if isinstance(info.discriminator, str):
        return _tagged(info.annotation, info.discriminator)
    return _strip(info.annotation)


def _members(tp: Any) -> list[Any]:
    return [_strip(member) for member in get_args(tp) if member is not type(None)]


def _for_value(tp: Any, value: Any) -> Any:
    """The type that ``value`` is checked against: a discriminated union resolved by the
    ``kind`` in ``value``, a union by its shape (mapping -> model member); ``Any`` if unknown."""
    tp = _strip(tp)
    for _ in range(8):
        if isinstance(tp, _Tagged):
            tag = value.get(tp.discriminator) if isinstance(value, dict) else None
            return tp.members.get(tag, Any) if isinstance(tag, str) else Any
        if not _is_union(tp):
            return tp
        members = _members(tp)
        structured = [m for m in members if _is_model(m) or isinstance(m, _Tagged)]
        plain = [m for m in members if m not in structured]
        if isinstance(value, dict) and structured:
            tp = structured[0]
        elif len(plain) == 1:
            tp = plain[0]
        elif len(members) == 1:
            tp = members[0]
        else:
            return Any
    return Any  # pragma: no cover - no schema nests unions this deep


def _holds_mapping(tp: Any) -> bool:
    """Whether a value of this type is a mapping that a path can go into."""
    tp = _strip(tp)
    if _is_union(tp):
        return any(_holds_mapping(member) for member in _members(tp))
    return _is_model(tp) or isinstance(tp, _Tagged) or get_origin(tp) is dict or tp is Any


def _child_type(tp: Any, key: Any) -> Any:
    """The type one key (or list index) below a resolved (non-union) type."""
    origin = get_origin(tp)
    if _is_model(tp):
        return _field_type(tp, key) if key in tp.model_fields else Any
    if origin is dict:
        return _strip(get_args(tp)[1])
    if origin is list:
        return _strip(get_args(tp)[0])
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return _strip(args[0])
        return _strip(args[key]) if isinstance(key, int) and key < len(args) else Any
    return Any


def _free_leaf_mapping(tp: Any) -> bool:
    """``dict[str, X]`` whose values are plain (``sweep.grid``, ``where``): its keys are dotted
    paths themselves, so the rest of an override path is one key."""
    if get_origin(tp) is not dict:
        return False
    values = _strip(get_args(tp)[1])
    members = _members(values) if _is_union(values) else [values]
    return not any(_is_model(m) or isinstance(m, _Tagged) or get_origin(m) is dict for m in members)


_LABEL_RE = re.compile(r"^[\w-]+\[.*\]$", re.S)


class _Located(NamedTuple):
    path: KeyPath  # the user's key path
    model: type[BaseModel] | None  # the model whose fields the last key was looked up in
    tp: Any  # the type at the end of the path
    key_error: bool  # the error is about a mapping key (pydantic's ``[key]``), not its value
    union_at: KeyPath | None  # where a union branch label was stripped
    mismatch: bool  # that branch does not fit the shape of the data (mapping vs scalar)


def _follow_loc(loc: Sequence[str | int], data: Any) -> _Located:
    """Walks a pydantic error ``loc`` through the spec model and the data: keeps the user's keys
    and list indices, drops the union tags and labels pydantic inserts (``lm``,
    ``constrained-float``, ``function-after[...]``, ``[key]``)."""
    tp: Any = Spec
    value = data
    path: list[str | int] = []
    model: type[BaseModel] | None = None
    key_error = False
    union_at: KeyPath | None = None
    mismatch = False
    parent: Any = None  # the type of the mapping the last key was found in
    parts = list(loc)
    i = 0
    while i < len(parts):
        part = parts[i]
        tp = _strip(tp)
        if isinstance(tp, _Tagged):
            if isinstance(part, str) and part in tp.members:
                tp = tp.members[part]
                i += 1
                continue
            tp = Any
        if _is_union(tp):
            members = _members(tp)
            if len(members) == 1:
                tp = members[0]
                continue
            tp = _union_branch(members, part)
            if union_at is None:
                union_at = tuple(path)
                mismatch = (_is_model(tp) or isinstance(tp, _Tagged)) != isinstance(value, dict)
            i += 1
            continue
        if part == "[key]" and get_origin(parent) is dict:
            key_error = True
            tp = _strip(get_args(parent)[0])
            i += 1
            continue
        if isinstance(part, str) and _LABEL_RE.match(part) and not _has_key(value, part):
            i += 1
            continue
        model = tp if _is_model(tp) else None
        parent, tp = tp, _child_type(tp, part)
        path.append(part)
        value = _child_value(value, part)
        i += 1
    return _Located(tuple(path), model, tp, key_error, union_at, mismatch)


def _union_branch(members: list[Any], label: str | int) -> Any:
    """The member of a smart union that pydantic's branch ``label`` names."""
    for member in members:
        if _is_model(member) and member.__name__ == label:
            return member
    text = str(label)
    for member in members:
        if text.startswith("literal[") and get_origin(member) is Literal:
            return member
        if isinstance(member, type) and member.__name__ in text:
            return member
    plain = [m for m in members if not _is_model(m)]
    return plain[0] if plain else members[0]


def _has_key(value: Any, key: Any) -> bool:
    return isinstance(value, dict) and key in value


_MISSING = object()


def _child_value(value: Any, part: Any) -> Any:
    if isinstance(value, dict):
        return value.get(part, _MISSING)
    if isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
        return value[part]
    return _MISSING


def _value_at(data: Any, path: KeyPath) -> Any:
    for part in path:
        data = _child_value(data, part)
    return data


# --- pydantic errors -> problems ---------------------------------------------------------------

_EXPECTED = {
    "int_parsing": "an integer",
    "int_type": "an integer",
    "int_from_float": "an integer",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "a list",
    "tuple_type": "a list",
    "set_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}
_BOUNDS = {
    "greater_than": ("gt", ">"),
    "greater_than_equal": ("ge", ">="),
    "less_than": ("lt", "<"),
    "less_than_equal": ("le", "<="),
}


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _quoted(text: str) -> list[str]:
    return re.findall(r"'([^']*)'", text)


def _error_message(error: Mapping[str, Any], located: _Located) -> tuple[str, KeyPath]:
    """The message for one pydantic error, and a key to append to its path (``kind``)."""
    kind = error["type"]
    given = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        allowed = list(located.model.model_fields) if located.model else []
        return _unknown_key(located.path[-1] if located.path else "?", allowed), ()
    if kind == "missing":
        return "field required", ()
    if kind == "union_tag_invalid":
        tag = given.get("kind", ctx.get("tag")) if isinstance(given, dict) else ctx.get("tag")
        return _choice("kind", tag, _quoted(str(ctx.get("expected_tags", "")))), ("kind",)
    if kind == "union_tag_not_found":
        tagged = _strip(located.tp)
        if isinstance(given, dict):
            tags = list(tagged.members) if isinstance(tagged, _Tagged) else []
            return f"field required (one of: {', '.join(map(str, tags))})", ("kind",)
        return f"expected a mapping with a 'kind', got {_describe(given)}", ()
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {_describe(given)}", ()
    if kind == "literal_error":
        tp = _strip(located.tp)
        options = list(get_args(tp)) if get_origin(tp) is Literal else _quoted(ctx["expected"])
        if located.key_error:
            what = "profile" if located.path[:-1] == ("profiles",) else "key"
        else:
            what = "kind" if located.path[-1:] == ("kind",) else "value"
        return _choice(what, given, options), ()
    if kind in _BOUNDS:
        name, sign = _BOUNDS[kind]
        return f"must be {sign} {_number(ctx.get(name))}, got {_describe(given)}", ()
    if kind == "too_short":
        return (
            f"needs at least {ctx.get('min_length')} item(s), got {ctx.get('actual_length')}",
            (),
        )
    if kind == "too_long":
        return f"takes at most {ctx.get('max_length')} item(s), got {ctx.get('actual_length')}", ()
    if kind == "string_pattern_mismatch":
        pattern = ctx.get("pattern", "")
        hint = " (use letters, digits, '_', '.', '-')" if pattern == r"^[A-Za-z0-9_.-]+$" else ""
        return f"{_describe(given)} does not match {pattern}{hint}", ()
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"]), ()
    message = str(error.get("msg", kind))
    return message[:1].lower() + message[1:], ()


def _refine(path: KeyPath, message: str, data: Any) -> tuple[KeyPath, str]:
    """A model validator's error carries the location of the model; find the key it is about
    (the claim named in the message, the one key of the mapping the message names)."""
    if path == ():
        return _refine_root(message, data)
    container = _value_at(data, path)
    if isinstance(container, dict):
        quoted = [k for k in container if f"'{k}'" in message]
        words = [
            k for k in container if re.search(rf"(?<![\w.']){re.escape(str(k))}(?![\w'])", message)
        ]
        for candidates in (quoted, words):
            if len(candidates) == 1:
                return path + (candidates[0],), message
    return path, message


def _claim_index(data: Any, claim_id: str, nth: int = 0) -> int | None:
    claims = data.get("claims") if isinstance(data, dict) else None
    if not isinstance(claims, list):
        return None
    found = [i for i, c in enumerate(claims) if isinstance(c, dict) and c.get("id") == claim_id]
    return found[nth] if len(found) > nth else None


def _refine_root(message: str, data: Any) -> tuple[KeyPath, str]:
    """Locates the messages of :meth:`runner.spec.Spec._references` (they name claims by id and
    observables by dotted path); unknown messages stay at the root."""
    match = re.match(r"duplicate claim ids: \[(.*)\]", message)
    if match and _quoted(match.group(1)):
        index = _claim_index(data, _quoted(match.group(1))[0], nth=1)
        if index is not None:
            return ("claims", index, "id"), message
    match = re.match(r"claim '(.*?)': unknown (observable|optimizer) (.*)$", message)
    if match:
        claim_id, what, ref = match.groups()
        index = _claim_index(data, claim_id)
        if index is None:
            return (), message
        claim = data["claims"][index]
        base: KeyPath = ("claims", index)
        if what == "observable":
            candidates: list[KeyPath] = [("observable",), ("left", "observable")]
            candidates.append(("right", "observable"))
        else:
            wheres: list[KeyPath] = [("where",), ("left", "where"), ("right", "where")]
            sequence = claim.get("sequence")
            if isinstance(sequence, list):
                wheres += [("sequence", j) for j in range(len(sequence))]
            candidates = [where + ("optimizer",) for where in wheres]
        names = data.get(what + "s")
        if isinstance(names, dict) and ref.startswith("'"):
            close = difflib.get_close_matches(ref.strip("'"), [str(n) for n in names], n=1)
            if close:
                message += f"; did you mean {close[0]!r}?"
        for candidate in candidates:
            value = _value_at(claim, candidate)
            if value is not _MISSING and repr(value) == ref:
                return base + candidate, message
        return base, message
    match = re.match(r"observables\.(.+?)(\.metric)?: (.*)$", message)
    if match:
        name, metric, rest = match.groups()
        observables = data.get("observables")
        if isinstance(observables, dict) and name in observables:
            path: KeyPath = ("observables", name)
            if metric:
                return path + ("metric",), rest
            return _refine(path, rest, data)
    return (), message


def _origin_of(path: KeyPath, origins: Mapping[KeyPath, Origin], file: str) -> Origin:
    """The origin of the deepest key along ``path`` that exists."""
    for n in range(len(path), -1, -1):
        if path[:n] in origins:
            return origins[path[:n]]
    return (file, None, None)


def _join_alternatives(messages: list[str]) -> str:
    """Messages of a union's branches at one key: ``expected one of 'a', 'b' or a number, got
    'x'`` where they share the ``, got ...`` ending."""
    if len(messages) == 1:
        return messages[0]
    endings = {m[m.rfind(", got ") :] for m in messages if ", got " in m}
    if len(endings) == 1 and all(m.startswith("expected ") and ", got " in m for m in messages):
        ending = endings.pop()
        bodies = [m[len("expected ") : m.rfind(", got ")] for m in messages]
        return "expected " + " or ".join(bodies) + ending
    return "; or ".join(messages)


def _validation_problems(
    error: pydantic.ValidationError, data: Any, origins: Mapping[KeyPath, Origin], file: str
) -> list[SpecProblem]:
    entries = []
    for item in error.errors(include_url=False):
        located = _follow_loc(item["loc"], data)
        message, suffix = _error_message(item, located)
        path = located.path + suffix
        if item["type"] in ("value_error", "assertion_error"):
            path, message = _refine(path, message, data)
        entries.append((path, message, located.union_at, located.mismatch))
    fitting = {union for _, _, union, mismatch in entries if union is not None and not mismatch}
    by_path: dict[KeyPath, list[str]] = {}
    for path, message, union, mismatch in entries:
        if mismatch and union in fitting:
            continue  # the branch of a union that does not fit the data's shape
        messages = by_path.setdefault(path, [])
        if message not in messages:
            messages.append(message)
    problems = [
        SpecProblem(*_origin_of(path, origins, file), dotted(path), _join_alternatives(messages))
        for path, messages in by_path.items()
    ]
    return _sorted(problems)


def _sorted(problems: Iterable[SpecProblem]) -> list[SpecProblem]:
    unique = list(dict.fromkeys(problems))
    return sorted(unique, key=lambda p: (p.line is None, p.file, p.line or 0, p.col or 0, p.path))


# --- files, profiles and overrides -------------------------------------------------------------


def _read(path: str | Path) -> tuple[str, str]:
    """(file label, text) of a spec file; :class:`SpecError` when it cannot be read as text."""
    file = str(path)

    def fail(message: str, line: int | None = None, col: int | None = None) -> SpecError:
        return SpecError([SpecProblem(file, line, col, ROOT, message)])

    target = Path(path)
    if target.is_dir():
        raise fail("is a directory, not a spec file")
    try:
        with target.open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise fail("no such file") from None
    except OSError as error:
        raise fail(f"cannot read the file: {error.strerror or error}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise fail(
            f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; a spec is small"
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        before = raw[: error.start]
        line = before.count(b"\n") + 1
        col = len(before) - (before.rfind(b"\n") + 1) + 1
        byte = raw[error.start]
        raise fail(
            f"not UTF-8 text (byte 0x{byte:02x}); save the file as UTF-8", line, col
        ) from None
    return file, text


def _read_spec(path: str | Path) -> tuple[str, str, dict[str, Any], dict[KeyPath, Position]]:
    file, text = _read(path)
    value, positions = _parse(text, file)
    if value is _EMPTY:
        raise _error(file, (None, None), ROOT, "the file is empty; a spec is a mapping")
    if not isinstance(value, dict):
        message = (
            "the top level must be a mapping of spec keys (name:, task:, model:, ...), "
            f"got {_describe(value)}"
        )
        raise _error(file, positions[()], ROOT, message)
    return file, text, value, positions


def _merge(
    target: dict[str, Any],
    overlay: Mapping[str, Any],
    path: KeyPath,
    source: KeyPath,
    positions: Mapping[KeyPath, Position],
    origins: dict[KeyPath, Origin],
    file: str,
) -> None:
    """Deep-merges ``overlay`` (found at ``source`` in the file) into ``target`` (at ``path``):
    mappings key by key, anything else replaces; origins follow the values."""
    for key, value in overlay.items():
        here, there = path + (key,), source + (key,)
        if isinstance(target.get(key), dict) and isinstance(value, dict):
            _merge(target[key], value, here, there, positions, origins, file)
            continue
        target[key] = copy.deepcopy(value)
        _drop_below(origins, here)
        n = len(there)
        for where, (line, col) in positions.items():
            if where[:n] == there:
                origins[here + where[n:]] = (file, line, col)


def _apply_profile(
    data: dict[str, Any],
    positions: Mapping[KeyPath, Position],
    file: str,
    profile: str | None,
    resolved: dict[str, Any],
    origins: dict[KeyPath, Origin],
) -> bool:
    """Merges ``profiles.<profile>`` into ``resolved``; whether a profile was applied."""
    if profile is None:
        return False
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict):
        return False  # validation reports the malformed ``profiles``
    if profile not in profiles:
        if profile == "default":
            return False
        line, col = positions.get(("profiles",), (None, None))
        defined = ", ".join(map(str, profiles)) or "none"
        close = difflib.get_close_matches(profile, [str(p) for p in profiles], n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        message = f"profile {profile!r} is not defined{hint} (this spec defines: {defined})"
        if profile not in PROFILE_NAMES:
            message += f"; profile names are {', '.join(PROFILE_NAMES)}"
        raise _error(file, (line, col), "profiles", message)
    body = profiles[profile]
    where = ("profiles", profile)
    line, col = positions.get(where, (None, None))
    if body is None:
        return True  # ``default:`` with nothing under it
    if not isinstance(body, dict):
        message = f"a profile is a mapping of spec keys, got {_describe(body)}"
        raise _error(file, (line, col), dotted(where), message)
    if "profiles" in body:
        line, col = positions.get(where + ("profiles",), (line, col))
        message = "a profile cannot define profiles"
        raise _error(file, (line, col), dotted(where + ("profiles",)), message)
    _merge(resolved, body, (), where, positions, origins, file)
    return True


def _split_key(parts: list[str], container: dict[str, Any], tp: Any) -> tuple[str, int]:
    """The key that the next override path parts name in a mapping, and how many parts it used:
    the longest dotted join that is an existing key, else the rest in a mapping of plain values,
    else one part."""
    for n in range(len(parts), 1, -1):
        joined = ".".join(parts[:n])
        if joined in container:
            return joined, n
    if _free_leaf_mapping(tp):
        return ".".join(parts), len(parts)
    return parts[0], 1


def _apply_override(
    text: str, resolved: dict[str, Any], origins: dict[KeyPath, Origin]
) -> list[SpecProblem]:
    """Sets one ``a.b.c=value`` in ``resolved``; the problems it has (none when applied)."""
    label = f"--set {text}"
    key_text, sep, raw = text.partition("=")
    key_text = key_text.strip()

    def fail(path: KeyPath | str, message: str) -> list[SpecProblem]:
        shown = path if isinstance(path, str) else dotted(path)
        return [SpecProblem(label, None, None, shown, message)]

    if not sep:
        return fail(key_text or ROOT, "expected KEY=VALUE, e.g. train.steps=500")
    parts = key_text.split(".")
    if not key_text or any(not part.strip() for part in parts):
        return fail(key_text or ROOT, "the key path has an empty part (KEY=VALUE, e.g. a.b=1)")
    parts = [part.strip() for part in parts]
    if parts[0] == "profiles":
        return fail(key_text, "profiles cannot be set with --set; choose one with --profile")
    try:
        value, _ = _parse(raw, label) if raw.strip() else (None, {})
    except SpecError as error:
        return [
            SpecProblem(label, None, None, key_text, f"value: {p.message}") for p in error.problems
        ]
    if value is _EMPTY:
        value = None
    container: Any = resolved
    tp: Any = Spec
    path: KeyPath = ()
    created: list[KeyPath] = []
    while True:
        here = _for_value(tp, container)
        key: str | int
        if isinstance(container, list):
            part = parts[0]
            if not part.isdigit():
                return fail(path, f"{dotted(path)} is a list: index it with a number, not {part!r}")
            key, used = int(part), 1
            if key >= len(container):
                return fail(
                    path + (key,),
                    f"index {key} is out of range: {dotted(path)} has {len(container)} item(s)",
                )
        elif isinstance(container, dict):
            key, used = _split_key(parts, container, here)
        else:
            return fail(
                path,
                f"{dotted(path)} is {_describe(container)}, not a mapping or list; "
                f"cannot set {parts[0]!r} inside it",
            )
        parts = parts[used:]
        child_tp = _child_type(here, key)
        if not parts:
            container[key] = value
            break
        if isinstance(container, dict) and key not in container:
            if _is_model(here) and key not in here.model_fields:
                return fail(path + (key,), _unknown_key(key, list(here.model_fields)))
            if _is_model(here) and _holds_mapping(child_tp):
                container[key] = {}
                created.append(path + (key,))
            else:
                existing = ", ".join(map(str, container)) or "nothing"
                close = difflib.get_close_matches(str(key), [str(k) for k in container], n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                return fail(
                    path + (key,), f"no {key!r} in {dotted(path)}{hint} (it has: {existing})"
                )
        path += (key,)
        container = container[key]
        tp = child_tp
    full = path + (key,)
    _drop_below(origins, full)
    for where in created + [full]:
        origins[where] = (label, None, None)
    return []


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
        return SpecProblem(*_origin_of(key, self.origins, str(self.path)), dotted(key), message)


def _resolve(
    file: str,
    data: dict[str, Any],
    positions: Mapping[KeyPath, Position],
    profile: str | None,
    overrides: Sequence[str],
) -> tuple[dict[str, Any], dict[KeyPath, Origin], bool, Spec | list[SpecProblem]]:
    resolved = copy.deepcopy(data)
    origins: dict[KeyPath, Origin] = {p: (file, line, col) for p, (line, col) in positions.items()}
    applied = _apply_profile(data, positions, file, profile, resolved, origins)
    problems = [p for text in overrides for p in _apply_override(text, resolved, origins)]
    if problems:
        raise SpecError(problems)
    try:
        spec = Spec.model_validate(resolved)
    except pydantic.ValidationError as error:
        return resolved, origins, applied, _validation_problems(error, resolved, origins, file)
    cells = cell_count(spec)
    if cells > MAX_CELLS:
        line, col = positions.get(("sweep",), (1, 1))
        message = (
            f"the sweep has {cells:,} cells (optimizers x points x seeds), more than "
            f"{MAX_CELLS:,}; split it into several specs"
        )
        return resolved, origins, applied, [SpecProblem(file, line, col, "sweep", message)]
    return resolved, origins, applied, spec


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
    try:
        file, _, data, positions = _read_spec(path)
    except SpecError as error:
        return error.problems

    def check(profile: str | None) -> list[SpecProblem]:
        try:
            outcome = _resolve(file, data, positions, profile, ())[-1]
        except SpecError as error:
            return error.problems
        return [] if isinstance(outcome, Spec) else outcome

    problems = check(None)
    seen = set(problems)
    profiles = data.get("profiles")
    for name in profiles if isinstance(profiles, dict) else ():
        for problem in check(name):
            if problem not in seen:
                seen.add(problem)
                problems.append(problem._replace(message=f"{problem.message} [profile {name!r}]"))
    return _sorted(problems)
