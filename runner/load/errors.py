"""Pydantic validation errors as problems, in the user's words and at the user's lines.

Messages: ``unknown key 'stepz'; did you mean 'steps'?``,
``unknown kind 'adamm'; did you mean 'adam'? (expected one of: gd, adam, ...)``,
``field required``, ``expected a number, got 'abc'``. Suggestions come from the model at the
error's position (discriminated unions resolved by the ``kind`` in the data).

A rule between parts of the spec that a model validator checks is reported at its key: the
:class:`~runner.kinds.base.SpecRuleError` it raises carries the key path (from the spec's root
for the spec's own rules, from the model itself when a nested model raises it: a figure's
``("axis",)``); a plain ``ValueError`` is placed by the key or claim its message names
(``_refine``), else at the model's key.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args, get_origin

import pydantic

from runner.kinds.base import SpecRuleError
from runner.load.problems import (
    KeyPath,
    Origin,
    SpecProblem,
    describe,
    dotted,
    origin_of,
    sorted_problems,
    unknown_key,
)
from runner.load.schema import Located, Tagged, follow_loc, plain_type, value_at
from runner.text import number


def _choice(what: str, got: Any, options: Sequence[Any]) -> str:
    """``unknown kind 'adamm'; did you mean 'adam'? (expected one of: gd, adam, ...)``."""
    names = [str(option) for option in options]
    close = difflib.get_close_matches(str(got), names, n=1) if isinstance(got, str) else []
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"unknown {what} {describe(got)}{hint} (expected one of: {', '.join(names)})"


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


def _quoted(text: str) -> list[str]:
    return re.findall(r"'([^']*)'", text)


def _error_message(error: Mapping[str, Any], located: Located) -> tuple[str, KeyPath]:
    """The message for one pydantic error, and a key to append to its path (``kind``)."""
    kind = error["type"]
    given = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        allowed = list(located.model.model_fields) if located.model else []
        return unknown_key(located.path[-1] if located.path else "?", allowed), ()
    if kind == "missing":
        return "field required", ()
    if kind == "union_tag_invalid":
        tag = given.get("kind", ctx.get("tag")) if isinstance(given, dict) else ctx.get("tag")
        return _choice("kind", tag, _quoted(str(ctx.get("expected_tags", "")))), ("kind",)
    if kind == "union_tag_not_found":
        tagged = plain_type(located.tp)
        if isinstance(given, dict):
            tags = list(tagged.members) if isinstance(tagged, Tagged) else []
            return f"field required (one of: {', '.join(map(str, tags))})", ("kind",)
        return f"expected a mapping with a 'kind', got {describe(given)}", ()
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {describe(given)}", ()
    if kind == "literal_error":
        tp = plain_type(located.tp)
        options = list(get_args(tp)) if get_origin(tp) is Literal else _quoted(ctx["expected"])
        if located.key_error:
            what = "profile" if located.path[:-1] == ("profiles",) else "key"
        else:
            what = "kind" if located.path[-1:] == ("kind",) else "value"
        return _choice(what, given, options), ()
    if kind in _BOUNDS:
        name, sign = _BOUNDS[kind]
        return f"must be {sign} {number(ctx.get(name), digits=None)}, got {describe(given)}", ()
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
        return f"{describe(given)} does not match {pattern}{hint}", ()
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"]), ()
    message = str(error.get("msg", kind))
    return message[:1].lower() + message[1:], ()


def _refine(path: KeyPath, message: str, data: Any) -> tuple[KeyPath, str]:
    """A model validator's error carries the location of the model; find the key it is about
    (the one key of the mapping the message names). The spec's own rules say their key
    themselves (:class:`runner.kinds.base.SpecRuleError`)."""
    container = value_at(data, path)
    if isinstance(container, dict):
        quoted = [k for k in container if f"'{k}'" in message]
        words = [
            k for k in container if re.search(rf"(?<![\w.']){re.escape(str(k))}(?![\w'])", message)
        ]
        for candidates in (quoted, words):
            if len(candidates) == 1:
                return path + (candidates[0],), message
    return path, message


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


def validation_problems(
    error: pydantic.ValidationError, data: Any, origins: Mapping[KeyPath, Origin], file: str
) -> list[SpecProblem]:
    """The problems of a failed validation of ``data``, each placed by ``origins`` (where every
    key's value came from) and one per key path (a union's branches joined into one message)."""
    entries = []
    for item in error.errors(include_url=False):
        located = follow_loc(item["loc"], data)
        message, suffix = _error_message(item, located)
        path = located.path + suffix
        if item["type"] in ("value_error", "assertion_error"):
            rule = (item.get("ctx") or {}).get("error")
            if isinstance(rule, SpecRuleError):
                # The validator named the key: from the spec's root when the spec's own rules
                # raised it (located.path is then empty), else from the model that raised it.
                path = located.path + rule.path
            else:
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
        SpecProblem(*origin_of(path, origins, file), dotted(path), _join_alternatives(messages))
        for path, messages in by_path.items()
    ]
    return sorted_problems(problems)
