"""Values as text: the one formatter for claim sentences, reports, plans and error messages.

* :func:`number`: an integer-valued number below a million as an integer (``2``, ``4600``),
  any other finite number with ``digits`` significant digits (``0.0123``, ``1.48e+06``), or its
  shortest round-trip form with ``digits=None`` (error messages quote bounds exactly);
  non-finite numbers as ``nan``, ``inf``, ``-inf``; ``None`` as ``n/a``.
* :func:`value`: any spec or result value: numbers as :func:`number`, a ``where`` choice
  ``{in: [a, b]}`` as ``{a, b}``, a swept sub-mapping with a ``kind`` (a whole task or model) as
  ``kind(...)``, anything else as ``str``.

With ``digits=6`` a float reads as Python's ``format(x, "g")`` (but ``-0.0`` reads ``0``); cell
ids use that form, so the same formatter names cells and fills sentences.
"""

from __future__ import annotations

import math
from typing import Any

MILLION = 1e6


def number(x: Any, digits: int | None = 3) -> str:
    """A number for people to read (see the module docstring)."""
    if x is None:
        return "n/a"
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if x.is_integer() and abs(x) < MILLION:
        return str(int(x))
    return repr(x) if digits is None else f"{x:.{digits}g}"


def value(v: Any, digits: int | None = 3) -> str:
    """A spec or result value for people to read (see the module docstring)."""
    if isinstance(v, float):
        return number(v, digits)
    choices = one_of(v)
    if choices is not None:
        return "{" + ", ".join(value(c, digits) for c in choices) + "}"
    if isinstance(v, dict) and isinstance(v.get("kind"), str):
        return f"{v['kind']}(...)"
    return str(v)


def one_of(want: Any) -> list[Any] | None:
    """The values of a ``where`` entry ``{in: [a, b, ...]}``; None for a plain value."""
    if isinstance(want, dict) and set(want) == {"in"} and isinstance(want["in"], list):
        return want["in"]
    return None


def count(n: int, noun: str) -> str:
    """``1 seed``, ``3 seeds``."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


__all__ = ["count", "number", "one_of", "value"]
