"""Claim kinds: assertions over observables, judged PASS / FAIL / INCONCLUSIVE / ERROR.

One file per kind (``threshold.py``, ``compare.py``, ...), each holding one class that is both
the Pydantic model of the claim's parameters (a spec's ``claims:`` entry) and its judge: a
``example`` (a minimal claim as in YAML), ``expected_sentence`` (prescriptive: what the claim
expects), ``judge`` (which writes the diagnostic sentence: what was observed) and the panels of
its figure. :data:`CLAIM_KINDS` lists them in order; :data:`Claim`, the spec's union, is built
from it; :func:`judge` judges every claim of a spec; :func:`describe_kinds` documents the kinds
for ``runner claims`` and ``docs/claims.md``. Shared pieces: :mod:`.base` (:class:`ClaimBase`,
the common parameters, :class:`Stop`), :mod:`.selection` (cells, tables, groups, the early
checks), :mod:`.seeds` (aggregates, bootstrap interval, per-group checks), :mod:`.sentences`,
:mod:`.figures`, :mod:`.axis` (the kinds over a sweep axis).

Adding a kind: a file here with its class (a ``ClaimBase`` subclass with ``kind:
Literal["..."]``, its fields each with a ``description``, a docstring, ``example``,
``expected_sentence`` and ``judge``), and its module name in :data:`KIND_MODULES`. The spec,
the CLI, the docs generator and the common tests pick it up from the registry.

Shared rules (the helpers of the shared modules)
------------------------------------------------
* Selection: a ``where`` selects the cells with :meth:`CellResult.matches`, at most one per seed
  (several: ERROR, the ``where`` is ambiguous; the reason names the sweep keys to add). No cell:
  INCONCLUSIVE, "no cell matches where=..." with the values that exist (a typo in a value, or a
  point this profile does not run). ``stable`` counts cells, not seeds. ``groups: null`` takes
  every group of the observable in the metric's order; with several selections (compare,
  ordering, matches, the axis kinds) the groups common to all (the others are listed in
  ``observed["groups_dropped"]``).
* Seeds: per-seed numbers first (a value per group, or the per-seed reduction over groups for
  ``threshold`` with max/min/median/mean, ``uniform_across`` and the axis kinds with a numeric
  ``group_reduce``), then the claim's ``aggregate`` over seeds. Each selection is aggregated over
  its own seeds; ``matches`` pairs cells by seed and uses the seeds both sides have. With 3 or
  more seeds, ``observed`` holds a bootstrap 95% interval of the aggregate
  (:data:`~.seeds.BOOTSTRAP_RESAMPLES` resamples of the seeds, numpy generator seeded with
  :data:`~.seeds.BOOTSTRAP_SEED` on every call: re-judging gives the same interval).
* Order of checks: no matching cell (INCONCLUSIVE); fewer seeds than ``min_seeds`` in a selection
  (INCONCLUSIVE); a missing observable value in a needed group (``on_missing``: INCONCLUSIVE or
  FAIL; the reason names cell, group and why); then the kind's own test. ``expected: fail`` never
  changes the verdict (:attr:`ClaimResult.holds` reads it).
* ``margin`` is one unit for every kind (:mod:`.margins`): the signed relative distance of the
  claim's decisive number ``x`` to its bound ``b``, ``(x - b) / s`` when ``x`` must stay above
  ``b``, ``(b - x) / s`` when below, ``s = |b|`` (``|x|`` when ``b = 0``, 1 when both are 0):
  positive when the condition is met, 0.25 clearing the bound by a quarter of it. A two-sided
  condition takes the smaller margin; a claim over groups the margin of the group that decides
  it (the worst one for ``all``, the best for ``any``, the k-th for a fraction). The decisive
  number per kind (its ``margin_text``, in ``docs/claims.md``): threshold, the seed-aggregated
  value (or the reduction over groups) against ``value``; compare, ``left`` against ``factor x
  right``; rate, the fitted rate against the nearer edge of its band; uniform_across, the
  statistic against ``max``/``min``; monotonic, the smallest step in ``direction`` against 0,
  divided by the largest |value| of the sequence; independent_of, the max/min ratio against
  ``max_factor``; ordering, the smallest step in ``direction`` over the group's largest
  |value|, in the (``max_violations`` + 1)-th worst group (None when every group may fail);
  event, the crossing step against ``before`` (the earliest one for ``happens: false``; None
  without ``before``); matches, ``|left - right|`` against ``atol + rtol |right|``;
  seed_spread, the widest spread against ``max``; stable: None.
* ``noise``, in the margin's unit: the seed spread of the decisive number (half its bootstrap
  95% interval with 3+ seeds, else half its range over seeds: :func:`.seeds.spread`; a
  comparison adds its sides', a step its two ends', a ratio its ends' relative spreads) plus
  the observable's numerical error where it gives one (``Observed.errors``, e.g. a fitted
  rate's standard error); None with one seed and no numerical error (``observed
  ["noise_unknown"]`` says why). PASS or FAIL with ``|margin| <= noise`` is **fragile**
  (``ClaimResult.fragile``, ``fragile_reason``): another seed may flip it.
* A ``compare`` with ``factor`` other than 1 is a ratio: a right-hand seed aggregate <= 0 in a
  judged group makes it INCONCLUSIVE (``left > 3 x right`` says nothing against a delay of 0).
* Evidence: a row per seed (and per group for per-group claims) with the numbers compared and
  whether that row meets the condition, then the aggregate rows the verdict is read from.
* Words: a group is a ``mode`` when the recorded metric is a per-mode metric of the spec
  (:func:`runner.kinds.metrics.group_word`, through the spec's metrics by recorded name, so a
  metric recorded under another ``name:`` keeps its word); the expected sentence says nothing
  of groups for a scalar metric.

Figure contract (``ClaimResult.figure``, drawn by :mod:`runner.report`)
-----------------------------------------------------------------------
``{"series": S, "groups": G}``, either part absent (``{}``: no figure).

* ``S = {"kind": "series", "metric": str, "selections": [{"label": str, "where": dict}],
  "log_y": bool, "window": [a, b] | None}``: the metric against step per group, one panel per
  selection. Present when the observable reads a metric (every kind but a delay of unknown
  crossings; ``stable`` has none). ``log_y``: decay rates, and metrics whose finite values in the
  selected cells are all positive. ``window``: the decay-rate fit window.
* ``G = {"kind": "groups", "values": {label: {group: value}}, "band": [lo, hi] | None,
  "ylabel": str}``: seed-aggregated values per group and selection (per axis value for the axis
  kinds; with a numeric ``group_reduce`` one series whose "groups" are the axis values). ``band``:
  the acceptance band when one bound applies to every group (threshold all/any, rate, event
  ``before``), an open end None.
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import import_module
from typing import TYPE_CHECKING, Annotated, Any, Union

import yaml
from pydantic import Field

from runner.kinds.claims.base import ClaimBase, Side, Stop
from runner.kinds.claims.selection import Context
from runner.kinds.fields import parameters, summary
from runner.kinds.metrics import metric_key
from runner.results import CellResult, ClaimResult

if TYPE_CHECKING:
    from runner.spec import Spec

# The claim kinds in their order, by module name (as pytest's ``default_plugins``): a kind is its
# file in this package and one line here.
KIND_MODULES = (
    "threshold",
    "compare",
    "ordering",
    "rate",
    "uniform_across",
    "monotonic",
    "independent_of",
    "event",
    "stable",
    "matches",
    "seed_spread",
    "extreme_group",
    "group_trend",
)


def _kind_in(module_name: str) -> type[ClaimBase]:
    """The one :class:`ClaimBase` subclass defined in ``runner.kinds.claims.<module_name>``."""
    module = import_module(f"{__name__}.{module_name}")
    (kind,) = (
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, ClaimBase)
        and value.__module__ == module.__name__
        and "kind" in value.model_fields
    )
    return kind


CLAIM_KINDS: tuple[type[ClaimBase], ...] = tuple(_kind_in(name) for name in KIND_MODULES)
"""Every claim kind's class, in :data:`KIND_MODULES` order."""

Claim = Annotated[Union[CLAIM_KINDS], Field(discriminator="kind")]  # noqa: UP007
"""A spec's ``claims:`` entry: one of :data:`CLAIM_KINDS`, chosen by ``kind``."""


def judge(spec: Spec, cells: Sequence[CellResult]) -> list[ClaimResult]:
    """Judge every claim of ``spec`` on ``cells`` (in spec order); never raises for a claim."""
    metrics = {metric_key(m): m for m in spec.metrics}
    context = Context(spec.observables, list(cells), metrics)
    return [judge_claim(claim, context) for claim in spec.claims]


def judge_claim(claim: ClaimBase, context: Context) -> ClaimResult:
    """One claim; a claim whose evaluation raises is ERROR with the exception as its reason."""
    name = str(getattr(claim, "kind", "?"))
    try:
        return claim.evaluate(context)
    except Exception as exc:  # noqa: BLE001 - one claim's failure must not stop the others
        reason = f"{type(exc).__name__}: {exc}"
        try:
            expected = claim.expected_sentence(context.observables, context.metrics)
        except Exception:  # noqa: BLE001
            expected = claim.statement or claim.id
        return ClaimResult(
            id=claim.id,
            kind=name,
            verdict="ERROR",
            expected=claim.expected,
            expected_sentence=expected,
            observed_sentence=f"Evaluation raised {reason}.",
            statement=claim.statement,
            reason=reason,
        )


def describe_kinds() -> list[dict[str, Any]]:
    """For ``runner claims``: per kind its ``summary`` (the class docstring), ``parameters``
    (name, type, required, default, description; ``kind`` left out), its ``margin`` (the
    decisive number and its bound, ``margin_text``), a minimal ``example`` as YAML text (a
    one-item ``claims`` list; ``example_data`` is the same as a dict) and that example's
    expected ``sentence``."""
    out = []
    for cls in CLAIM_KINDS:
        example = dict(cls.example)
        claim = cls.model_validate(example)
        out.append(
            {
                "kind": cls.kind_name(),
                "summary": summary(cls),
                "parameters": parameters(cls),
                "margin": cls.margin_text,
                "sentence": claim.expected_sentence(),
                "example": yaml.safe_dump([example], sort_keys=False),
                "example_data": example,
            }
        )
    return out


__all__ = [
    "CLAIM_KINDS",
    "Claim",
    "ClaimBase",
    "Context",
    "Side",
    "Stop",
    "describe_kinds",
    "judge",
    "judge_claim",
]
