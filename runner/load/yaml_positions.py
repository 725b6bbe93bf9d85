"""Safe YAML with positions: a spec file read into plain values and the line and column of
every key (:func:`parse_yaml`).

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
- One document per file; an empty file (or comments only) and a top level that is not a
  mapping are errors. The file must be UTF-8.
- Positions are 1-based ``(line, column)`` of every mapping key and sequence item, keyed by
  the key path (``("claims", 2, "op")``); ``()`` is the top-level node. Under an alias the
  positions are those of the anchored text.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from runner.load.problems import (
    ROOT,
    KeyPath,
    Position,
    SpecError,
    SpecProblem,
    describe,
    dotted,
    error_at,
)

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_NODES = 100_000
MAX_DEPTH = 100
MAX_STRING_CHARS = 20_000
MAX_INTEGER = 2**53  # the largest integer a float64 (JSON, numpy) holds exactly

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


def drop_below(table: dict[KeyPath, Any], path: KeyPath) -> None:
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
            raise error_at(self.file, _position(node), ROOT, message)
        if depth > MAX_DEPTH:
            message = f"nested deeper than {MAX_DEPTH} levels (a recursive alias?)"
            raise error_at(self.file, _position(node), ROOT, message)
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
                drop_below(self.positions, path + (key,))
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
                f"key {node.value!r} is read as {describe(value)}, not a string; quote it",
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


EMPTY = object()


def parse_text(text: str, file: str) -> tuple[Any, dict[KeyPath, Position]]:
    """(value, positions); value is ``EMPTY`` when the text holds no document."""
    try:
        loader = _SafeLoader(text)
    except yaml.YAMLError as error:
        raise SpecError([_yaml_problem(error, text, file)]) from None
    try:
        try:
            if not loader.check_node():
                return EMPTY, {}
            node = loader.get_node()
            if loader.check_node():
                mark = loader.peek_event().start_mark
                message = "a second YAML document starts here; a spec is one document"
                raise error_at(file, (mark.line + 1, mark.column + 1), ROOT, message)
        except yaml.YAMLError as error:
            raise SpecError([_yaml_problem(error, text, file)]) from None
        except RecursionError:
            raise error_at(file, (None, None), ROOT, "YAML nested too deeply to read") from None
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
    value, positions = parse_text(text, file)
    if value is EMPTY:
        raise error_at(file, (None, None), ROOT, "the file holds no YAML document")
    return value, positions


def read_text(path: str | Path) -> tuple[str, str]:
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
