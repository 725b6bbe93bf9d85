"""What the page, the junit file and the figures share: values as text, claim counts.

Numbers go through :mod:`runner.text` (the formatter of claim sentences and cell ids), with 4
significant digits here; :func:`fmt` adds what a table cell needs on top: ``—`` for a missing
value, lists and mappings shortened, long text truncated.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from runner.results import ClaimResult, RunView, jsonable
from runner.text import number

DIGITS = 4  # significant digits of a float in the report
MAX_ITEMS = 12  # items of a list shown before "… (n in all)"


def fmt(value: Any, limit: int | None = 300) -> str:
    """A compact, readable string for a table cell (never raises): ``—`` for None, a float as
    :func:`runner.text.number` with ``DIGITS`` digits, an integer exactly, a list (its first
    ``MAX_ITEMS`` items) or a mapping on one line, text cut at ``limit`` characters."""
    value = jsonable(value)
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)  # exact: a step or a count is never rounded
    if isinstance(value, float):
        return number(value, DIGITS)
    if isinstance(value, str):
        return value if limit is None else truncate(value, limit)
    if isinstance(value, dict):
        text = ", ".join(f"{k}: {fmt(v, limit)}" for k, v in value.items())
    elif isinstance(value, list):
        shown = [fmt(v, limit) for v in value[:MAX_ITEMS]]
        more = f", … ({len(value)} in all)" if len(value) > MAX_ITEMS else ""
        text = "[" + ", ".join(shown) + more + "]"
    else:
        text = str(value)
    return text if limit is None else truncate(text, limit)


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in ``…`` when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def as_float(value: Any) -> float:
    """A float from a number, a JSON-safe string ("nan", "inf", "-inf") or None (NaN)."""
    if value is None:
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def mpl_text(text: str) -> str:
    """User text for matplotlib: ``$`` would start mathtext (and can fail to parse)."""
    return text.replace("$", r"\$")


def distinct_strings(lists: Iterable[Iterable[Any]]) -> list[str]:
    """Every item of ``lists`` as a string, once, in the order first seen (table columns,
    figure groups)."""
    seen: dict[str, None] = {}
    for items in lists:
        for item in items:
            seen.setdefault(str(item), None)
    return list(seen)


def spec_name(view: RunView) -> str:
    """The spec's ``name`` (from the manifest when the spec is not at hand)."""
    return str(getattr(view.spec, "name", None) or view.manifest.get("spec_name") or "spec")


def claim_counts(claims: Sequence[ClaimResult]) -> dict[str, int]:
    """How many claims hold, failed, were inconclusive or errored, how many are negative
    controls and how many verdicts are fragile (margin inside its noise)."""
    return {
        "holds": sum(1 for c in claims if c.holds),
        "failed": sum(1 for c in claims if not c.holds and c.verdict in ("PASS", "FAIL")),
        "inconclusive": sum(1 for c in claims if c.verdict == "INCONCLUSIVE"),
        "errored": sum(1 for c in claims if c.verdict == "ERROR"),
        "controls": sum(1 for c in claims if c.expected == "fail"),
        "fragile": sum(1 for c in claims if getattr(c, "fragile", False)),
    }


def margin_text(claim: ClaimResult) -> str:
    """``0.25 ± 0.012``; ``0.25 (noise unknown (1 seed))`` when the noise is not known; ``—``
    without a margin."""
    if claim.margin is None:
        return fmt(None)
    noise = getattr(claim, "noise", None)
    if noise is not None:
        return f"{fmt(claim.margin)} ± {fmt(noise)}"
    why = (claim.observed or {}).get("noise_unknown")
    return f"{fmt(claim.margin)} (noise unknown{f' ({why})' if why else ''})"


def holds_text(claim: ClaimResult) -> str:
    """Whether the claim holds, in a word: ``yes``, ``no``, ``inconclusive`` (not judged; it does
    not fail the run) or ``errored``."""
    if claim.verdict == "INCONCLUSIVE":
        return "inconclusive"
    if claim.verdict == "ERROR":
        return "errored"
    return "yes" if claim.holds else "no"


def control_note(claim: ClaimResult) -> str:
    """What a negative control's verdict means (empty for any other claim)."""
    if claim.expected != "fail":
        return ""
    outcome = {
        "FAIL": "it failed, so it holds",
        "PASS": "it passed, so it does not hold",
        "INCONCLUSIVE": "it was inconclusive (not judged either way)",
        "ERROR": "it errored, so it does not hold",
    }[claim.verdict]
    return f"negative control: expected to fail; {outcome}"
