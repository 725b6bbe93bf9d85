"""The spec schema walked along a key path: which type a value at a path is checked against.

Pydantic reports an error at a ``loc`` that mixes the user's keys with union tags and branch
labels; :func:`follow_loc` keeps the user's keys and finds the model the last key belongs to
(for did-you-mean suggestions), resolving discriminated unions by the ``kind`` in the data.
``--set`` overrides walk the same way (:func:`type_for_value`, :func:`child_type`) to know
where a missing section may be created and where a dotted key is one key.
"""

from __future__ import annotations

import re
import types
from collections.abc import Sequence
from typing import Annotated, Any, Literal, NamedTuple, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from runner.load.problems import KeyPath
from runner.spec import Spec


class Tagged(NamedTuple):
    """A discriminated union: tag value -> model class."""

    discriminator: str
    members: dict[Any, type[BaseModel]]


def is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _tagged(tp: Any, discriminator: str) -> Tagged:
    members: dict[Any, type[BaseModel]] = {}
    for cls in get_args(tp) if _is_union(tp) else (tp,):
        for tag in get_args(cls.model_fields[discriminator].annotation):
            members[tag] = cls
    return Tagged(discriminator, members)


def plain_type(tp: Any) -> Any:
    """``Annotated[...]`` -> the plain type, or a :class:`Tagged` for a discriminated union."""
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
    return plain_type(info.annotation)


def _members(tp: Any) -> list[Any]:
    return [plain_type(member) for member in get_args(tp) if member is not type(None)]


def type_for_value(tp: Any, value: Any) -> Any:
    """The type that ``value`` is checked against: a discriminated union resolved by the
    ``kind`` in ``value``, a union by its shape (mapping -> model member); ``Any`` if unknown."""
    tp = plain_type(tp)
    for _ in range(8):
        if isinstance(tp, Tagged):
            tag = value.get(tp.discriminator) if isinstance(value, dict) else None
            return tp.members.get(tag, Any) if isinstance(tag, str) else Any
        if not _is_union(tp):
            return tp
        members = _members(tp)
        structured = [m for m in members if is_model(m) or isinstance(m, Tagged)]
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


def holds_mapping(tp: Any) -> bool:
    """Whether a value of this type is a mapping that a path can go into."""
    tp = plain_type(tp)
    if _is_union(tp):
        return any(holds_mapping(member) for member in _members(tp))
    return is_model(tp) or isinstance(tp, Tagged) or get_origin(tp) is dict or tp is Any


def child_type(tp: Any, key: Any) -> Any:
    """The type one key (or list index) below a resolved (non-union) type."""
    origin = get_origin(tp)
    if is_model(tp):
        return _field_type(tp, key) if key in tp.model_fields else Any
    if origin is dict:
        return plain_type(get_args(tp)[1])
    if origin is list:
        return plain_type(get_args(tp)[0])
    if origin is tuple:
        args = get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return plain_type(args[0])
        return plain_type(args[key]) if isinstance(key, int) and key < len(args) else Any
    return Any


def free_leaf_mapping(tp: Any) -> bool:
    """``dict[str, X]`` whose values are plain (``sweep.grid``, ``where``): its keys are dotted
    paths themselves, so the rest of an override path is one key."""
    if get_origin(tp) is not dict:
        return False
    values = plain_type(get_args(tp)[1])
    members = _members(values) if _is_union(values) else [values]
    return not any(is_model(m) or isinstance(m, Tagged) or get_origin(m) is dict for m in members)


_LABEL_RE = re.compile(r"^[\w-]+\[.*\]$", re.S)


class Located(NamedTuple):
    path: KeyPath  # the user's key path
    model: type[BaseModel] | None  # the model whose fields the last key was looked up in
    tp: Any  # the type at the end of the path
    key_error: bool  # the error is about a mapping key (pydantic's ``[key]``), not its value
    union_at: KeyPath | None  # where a union branch label was stripped
    mismatch: bool  # that branch does not fit the shape of the data (mapping vs scalar)


def follow_loc(loc: Sequence[str | int], data: Any) -> Located:
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
        tp = plain_type(tp)
        if isinstance(tp, Tagged):
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
                mismatch = (is_model(tp) or isinstance(tp, Tagged)) != isinstance(value, dict)
            i += 1
            continue
        if part == "[key]" and get_origin(parent) is dict:
            key_error = True
            tp = plain_type(get_args(parent)[0])
            i += 1
            continue
        if isinstance(part, str) and _LABEL_RE.match(part) and not _has_key(value, part):
            i += 1
            continue
        model = tp if is_model(tp) else None
        parent, tp = tp, child_type(tp, part)
        path.append(part)
        value = _child_value(value, part)
        i += 1
    return Located(tuple(path), model, tp, key_error, union_at, mismatch)


def _union_branch(members: list[Any], label: str | int) -> Any:
    """The member of a smart union that pydantic's branch ``label`` names."""
    for member in members:
        if is_model(member) and member.__name__ == label:
            return member
    text = str(label)
    for member in members:
        if text.startswith("literal[") and get_origin(member) is Literal:
            return member
        if isinstance(member, type) and member.__name__ in text:
            return member
    plain = [m for m in members if not is_model(m)]
    return plain[0] if plain else members[0]


def _has_key(value: Any, key: Any) -> bool:
    return isinstance(value, dict) and key in value


MISSING = object()


def _child_value(value: Any, part: Any) -> Any:
    if isinstance(value, dict):
        return value.get(part, MISSING)
    if isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
        return value[part]
    return MISSING


def value_at(data: Any, path: KeyPath) -> Any:
    for part in path:
        data = _child_value(data, part)
    return data
