"""A kind's fields in words, for ``runner kinds``, ``runner claims`` and the generated references
(``docs/kinds.md``, ``docs/claims.md``): name, readable type, default and meaning (the field's
``description``), and the markdown pieces the references are written with."""

from __future__ import annotations

import json
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel


def type_text(annotation: Any) -> str:
    """A readable type: ``float | null``, ``"all" | "any"``, ``list[str]``, ``Side``."""
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation is type(None):
        return "null"
    if annotation is Any:
        return "Any"
    if origin is Literal:
        return " | ".join(f'"{a}"' if isinstance(a, str) else str(a) for a in args)
    if origin is Annotated:
        return type_text(args[0])
    if origin in (Union, UnionType):
        return " | ".join(type_text(a) for a in args)
    if origin is not None:
        name = getattr(origin, "__name__", str(origin))
        return f"{name}[{', '.join(type_text(a) for a in args)}]"
    return annotation.__name__ if isinstance(annotation, type) else str(annotation)


def parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """Name, type, required, default and description of each field but ``kind``."""
    return [
        {
            "name": name,
            "type": type_text(info.annotation),
            "required": info.is_required(),
            "default": None if info.is_required() else info.get_default(call_default_factory=True),
            "description": info.description or "",
        }
        for name, info in model.model_fields.items()
        if name != "kind"
    ]


def summary(model: type[BaseModel]) -> str:
    """The class docstring on one line."""
    return " ".join((model.__doc__ or "").split())


def table_cell(text: str) -> str:
    """Text for a markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def code(text: str) -> str:
    return f"`{text}`".replace("|", "\\|")


def default_text(param: dict[str, Any]) -> str:
    """``required``, or the default as JSON in code."""
    if param["required"]:
        return "required"
    return code(json.dumps(param["default"], default=str))


def table(params: list[dict[str, Any]], first: str = "field") -> list[str]:
    """A markdown table of ``params``: name, type, default, meaning."""
    rows = [f"| {first} | type | default | meaning |", "|---|---|---|---|"]
    for p in params:
        meaning = table_cell(p["description"])
        rows.append(f"| `{p['name']}` | {code(p['type'])} | {default_text(p)} | {meaning} |")
    return rows
