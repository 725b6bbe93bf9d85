"""What every kind shares: the strict Pydantic base, ``where`` selections, and the rules a kind
states about what it needs from the rest of the spec and what it provides to it.

A spec is a set of parts (task, model, loss, optimizers, metrics), each an instance of one kind.
A kind says what it ``provides`` (a task with class labels provides ``classes``; a residual loss
provides ``residuals``) and what it ``needs`` (accuracy needs ``classes``; LM needs
``residuals``). :func:`check_needs` is the one loop that checks every part's needs against what
the other parts provide; the capabilities and their meanings are listed in :data:`CAPABILITIES`.
"""

from __future__ import annotations

from typing import Any, ClassVar, get_origin

from pydantic import BaseModel, ConfigDict

# A ``where`` maps selector keys (``optimizer``, ``seed``, sweep keys) to a value, or to
# ``{in: [v1, v2, ...]}`` to select any of several values.
Where = dict[str, Any]


class Strict(BaseModel):
    """Unknown keys are errors; a validated value never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SpecRuleError(ValueError):
    """A rule between parts of a spec is broken; ``path`` is the key it is about (a tuple of keys
    and list indices into the spec), so the error is reported at that key's line."""

    def __init__(self, path: tuple[str | int, ...], message: str):
        super().__init__(message)
        self.path = tuple(path)


class Kind(Strict):
    """Something a spec selects with ``kind:``; ``example`` is a minimal instance as in YAML
    (the docs show it and the tests over every kind build it). A class writes its example
    without ``kind``, which its ``kind: Literal[...]`` already says; it is put in here (after
    ``id`` for a claim)."""

    kind: str
    example: ClassVar[dict[str, Any]] = {}

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        own = cls.__dict__.get("example")
        selectable = get_origin(cls.model_fields["kind"].annotation) is not None  # a Literal
        if own is not None and "kind" not in own and selectable:
            head = {key: own[key] for key in ("id",) if key in own}
            cls.example = {**head, "kind": kind_name(cls), **own}


class Part(Kind):
    """A kind that takes part in the needs/provides rules (see the module docstring)."""

    provides: ClassVar[frozenset[str]] = frozenset()
    needs: ClassVar[frozenset[str]] = frozenset()
    hint: ClassVar[str] = ""  # said after a broken need, e.g. "for cross_entropy use ggn"


# What a capability is, in the words of an error message ("lm needs residuals (loss mse or pinn)").
CAPABILITIES: dict[str, str] = {
    "vector_inputs": "vector inputs",
    "tokens": "token sequences",
    "linear_system": "a linear system J theta = y",
    "targets": "targets to fit",
    "real_outputs": "outputs compared entry by entry with real-valued targets",
    "classes": "class targets",
    "one_output": "one output per input",
    "target_formula": "a target formula",
    "pde": "a PDE",
    "residuals": "residuals",
    "logits": "logits",
}


def providers(capability: str, families: dict[str, tuple[type[Part], ...]]) -> str:
    """``loss mse or pinn``: the kinds of each family that provide ``capability``."""
    parts = []
    for family, kinds in families.items():
        names = [kind_name(k) for k in kinds if capability in k.provides]
        if names:
            listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
            parts.append(f"{family} {listed}")
    return "; ".join(parts) or "no kind"


def kind_name(kind: type[Strict]) -> str:
    """The ``kind:`` a class is selected by (its ``Literal`` default)."""
    (name,) = kind.model_fields["kind"].annotation.__args__  # type: ignore[union-attr]
    return str(name)


def check_needs(
    parts: list[tuple[tuple[str | int, ...], Part]],
    families: dict[str, tuple[type[Part], ...]],
) -> None:
    """Raise :class:`SpecRuleError` at the first part whose needs the others do not provide.

    ``parts``: ``(path, part)`` for every part of a spec; ``families``: the registered kinds of
    the families that provide (task, model, loss), to say which kinds would.
    """
    provided = frozenset().union(*(part.provides for _, part in parts))
    chosen = [f"{path[0]} {part.kind}" for path, part in parts if path[0] in families]  # type: ignore[attr-defined]
    for path, part in parts:
        for need in sorted(part.needs - provided):
            hint = f"; {part.hint}" if part.hint else ""
            message = (
                f"{part.kind} needs {CAPABILITIES[need]} "  # type: ignore[attr-defined]
                f"({providers(need, families)}), which {_and(chosen)} do not provide{hint}"
            )
            raise SpecRuleError((*path, "kind"), message)


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
