"""Phrases the claim kinds build their sentences from: selections, scopes, lists, seed counts.

Numbers are written by :func:`runner.text.number` and values by :func:`runner.text.value`, so a
sentence quotes a number as the report and the error messages do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from runner.kinds.base import Where
from runner.kinds.metrics import group_word
from runner.kinds.observables import metric_of
from runner.text import count, number, value

if TYPE_CHECKING:
    from runner.kinds.claims.seeds import GroupCheck

MAX_LISTED = 6  # reasons and sentences list at most this many items, then "and N more"


def apart(x: float, bound: float, digits: int = 3) -> str:
    """``x`` as :func:`runner.text.number` writes it, with more significant digits (up to 6)
    where ``digits`` would write it as the bound it is compared with (``1.0002`` against 1,
    not ``1``)."""
    text = number(x, digits)
    for more in range(digits, 7):
        text = number(x, more)
        if x == bound or text != number(bound, more):
            break
    return text


def where_text(where: Where) -> str:
    """``optimizer=gn, model.alpha=2``; ``all cells`` for an empty ``where``."""
    return ", ".join(f"{k}={value(v)}" for k, v in where.items()) or "all cells"


def where_repr(where: Where) -> str:
    """``{optimizer: gn, model.alpha: 2}`` (as written in YAML)."""
    return "{" + ", ".join(f"{k}: {value(v)}" for k, v in where.items()) + "}"


def in_cells(where: Where) -> str:
    return f"In cells with {where_text(where)}" if where else "In all cells"


def list_text(items: Sequence[Any]) -> str:
    """``1..10`` for consecutive integers, else a comma list."""
    items = [str(i) for i in items]
    if len(items) > 2 and all(i.lstrip("-").isdigit() for i in items):
        ints = [int(i) for i in items]
        if ints == list(range(ints[0], ints[0] + len(ints))):
            return f"{ints[0]}..{ints[-1]}"
    return ", ".join(items)


def clip(items: Sequence[str], sep: str = "; ") -> str:
    """The first :data:`MAX_LISTED` items, then ``and N more``."""
    more = f"{sep}and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
    return sep.join(items[:MAX_LISTED]) + more


def group_name(word: str, group: str) -> str:
    """``mode 3``; ``value`` for the single group of a scalar observable."""
    return f"{word} {group}" if group else "value"


def scope(groups: Sequence[str] | None, word: str, every: str = "every") -> str:
    """``every mode`` / ``its modes`` / ``mode 3`` / ``modes 1..10``."""
    word = word or "group"
    if groups is None:
        return f"every {word}" if every == "every" else f"{every} {word}s"
    return f"{word} {groups[0]}" if len(groups) == 1 else f"{word}s {list_text(groups)}"


def in_scope(
    groups: Sequence[str] | None, word: str, lead: str = "in", every: str = "every"
) -> str:
    """`` in every mode`` and the like; nothing for a scalar observable (``word`` empty)."""
    return "" if not word and groups is None else f" {lead} {scope(groups, word, every)}"


def seeds_text(how: str, n: int, ci: list[float] | None = None) -> str:
    """``median over 3 seeds, 95% CI [a, b]``."""
    ci_text = f", 95% CI [{number(ci[0])}, {number(ci[1])}]" if ci else ""
    return f"{how} over {count(n, 'seed')}{ci_text}"


def word(
    name: str, observables: Mapping[str, Any] | None, metrics: Mapping[str, Any] | None
) -> str:
    """What a group of the observable ``name`` is, for the expected sentence: ``mode``,
    ``group``, or ``""`` for a scalar metric (see :func:`runner.kinds.metrics.group_word`);
    ``group`` when the observable is not known (no spec); ``""`` for an observable that is one
    number per cell whatever its metric (``group_spread``)."""
    if not observables or name not in observables:
        return "group"
    if getattr(observables[name], "scalar", False):
        return ""
    return group_word(metric_of(name, observables), metrics or {})


def capital(text: str) -> str:
    """Capitalise a leading "the" (an observable's bare name is left as written)."""
    return "The" + text[3:] if text.startswith("the ") else text


def row_label(seed: int, group: str, word: str) -> str:
    """The label of a per-seed evidence row: ``s0 mode 3``, ``s0``."""
    return f"s{seed}" + (f" {word} {group}" if group else "")


def unique_labels(labels: list[str]) -> list[str]:
    """Repeated labels numbered: ``a #1``, ``a #2``."""
    return [lab if labels.count(lab) == 1 else f"{lab} #{i + 1}" for i, lab in enumerate(labels)]


def listing(groups: Sequence[str], show: Callable[[str], str]) -> str:
    return clip([f"{g} ({show(g)})" for g in groups], ", ")


def group_sentence(
    check: GroupCheck, word: str, how: str, what: str, show: Callable[[str], str]
) -> str:
    """``Observed (median over seeds): 9 of 11 modes <what>; not: mode 4 (0.87), ...``."""
    failing = check.failing()
    text = (
        f"Observed ({how} over seeds): {len(check.groups) - len(failing)} of "
        f"{count(len(check.groups), word)} {what}"
    )
    if failing:
        return f"{text}; not: {word} {listing(failing, show)}."
    worst = min(check.groups, key=lambda g: check.summary[g]["margin"])
    return f"{text}; closest: {word} {worst} ({show(worst)})."


__all__ = [
    "MAX_LISTED",
    "apart",
    "capital",
    "clip",
    "group_name",
    "group_sentence",
    "in_cells",
    "in_scope",
    "list_text",
    "listing",
    "row_label",
    "scope",
    "seeds_text",
    "unique_labels",
    "where_repr",
    "where_text",
    "word",
]
