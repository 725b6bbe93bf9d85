"""What every claim kind is built on: :class:`ClaimBase`, the parameters all kinds share and
the methods each kind implements; :class:`Stop`, an early ending with its verdict; :class:`Side`,
one side of a comparison. The rules the methods follow are in the package docstring
(:mod:`runner.kinds.claims`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import Field

from runner.kinds.base import Kind, Strict, Where, kind_name
from runner.kinds.claims.figures import series_figure
from runner.kinds.claims.margins import is_fragile
from runner.results import ClaimResult, Evidence, Verdict
from runner.text import number

if TYPE_CHECKING:
    from runner.kinds.claims.selection import Context

Comparison = Literal["<", "<=", ">", ">="]
GroupReduce = Literal["all", "any", "max", "min", "median", "mean"]
Path = tuple[str | int, ...]  # keys and list indices, relative to the claim

# Meanings of parameters several kinds share (each kind may say more in its own field).
OBSERVABLE = "name of an observable of the spec's `observables:`"
WHERE = (
    "which cells: a value per key (`optimizer`, `seed`, any sweep key) or `{in: [...]}` for any "
    "of several; `{}` selects every cell"
)
GROUPS = (
    'the groups to judge, by label (FFT modes `"0"`, `"1"`, ...; NTK eigenmodes); null: every '
    "group of the observable"
)


def where_field(description: str = WHERE) -> Any:
    return Field(default_factory=dict, description=description)


def groups_field(description: str = GROUPS) -> Any:
    return Field(None, description=description)


class Stop(Exception):
    """Ends a claim's evaluation with a verdict and a reason (no matching cell, too few seeds,
    missing values, an ill-posed claim)."""

    def __init__(self, verdict: Verdict, reason: str, cells: Sequence[str] = ()) -> None:
        super().__init__(reason)
        self.verdict: Verdict = verdict
        self.reason = reason
        self.cells = list(cells)


def verdict(passed: bool) -> Verdict:
    return "PASS" if passed else "FAIL"


class Side(Strict):
    """One side of a comparison: an observable in the cells selected by ``where`` (a value per
    key, or ``{in: [...]}`` for any of several)."""

    observable: str = Field(description=OBSERVABLE)
    where: Where = where_field()


class ClaimBase(Kind):
    """One claim kind: its parameters (the Pydantic fields, each described in the user's words),
    a minimal ``example`` (as written in YAML), the prescriptive sentence
    (:meth:`expected_sentence`), the judgement (:meth:`judge`, raising :class:`Stop` to end
    early) and the panels of its series figure (:meth:`selections`). A kind's docstring is the
    summary ``runner claims`` and ``docs/claims.md`` print.

    The spec validator calls :meth:`observable_refs`, :meth:`wheres`, :meth:`sweep_refs` and
    :meth:`check` to check the claim against the rest of the spec.
    """

    id: str = Field(
        pattern=r"^[A-Za-z0-9_.-]+$",
        description="unique name of the claim (letters, digits, `_ . -`); the report and junit "
        "use it",
    )
    statement: str | None = Field(
        None, description="the claim in words, as the paper (or your hypothesis) says it"
    )
    expected: Literal["pass", "fail"] = Field(
        "pass", description="`fail` makes a negative control: it holds when the data make it FAIL"
    )
    min_seeds: int = Field(
        1, ge=1, description="fewer seeds in a selection than this: INCONCLUSIVE"
    )
    on_missing: Literal["inconclusive", "fail"] = Field(
        "inconclusive",
        description="a missing value in a needed group (a mode that never crossed, a diverged "
        "cell): INCONCLUSIVE, or FAIL",
    )
    aggregate: Literal["median", "min", "max", "mean"] = Field(
        "median",
        description="how per-seed numbers are combined (a bootstrap 95% interval with 3+ seeds)",
    )

    # The kind's decisive number and its bound, in words, for the margin (docs/claims.md).
    margin_text: ClassVar[str] = ""

    @classmethod
    def kind_name(cls) -> str:
        """The ``kind`` this class is chosen by (its ``kind: Literal[...]`` field)."""
        return kind_name(cls)

    # --- what each kind implements -------------------------------------------------------------

    def expected_sentence(
        self,
        observables: Mapping[str, Any] | None = None,
        metrics: Mapping[str, Any] | None = None,
    ) -> str:
        """Prescriptive: what the claim expects, from its parameters (and the spec's observables
        and metrics, when given, to say what each observable measures and what its groups are)."""
        raise NotImplementedError

    def judge(self, context: Context) -> ClaimResult:
        raise NotImplementedError

    def selections(self, context: Context) -> list[tuple[str, Where]]:
        """``(label, where)`` of the panels of the series figure."""
        return []

    def figure_observable(self) -> str | None:
        """The observable whose metric the series figure draws."""
        return getattr(self, "observable", None)

    # --- what the spec validator calls ---------------------------------------------------------

    def observable_refs(self) -> list[tuple[Path, str]]:
        """``(path, name)`` of every observable the claim reads: ``(("observable",), name)``,
        ``(("left", "observable"), name)``."""
        return self._own_and_sides("observable", str)

    def wheres(self) -> list[tuple[Path, Where]]:
        """``(path, where)`` of every selection of the claim (empty ones included):
        ``(("where",), {...})``, ``(("left", "where"), {...})``."""
        return self._own_and_sides("where", dict)

    def _own_and_sides(self, field: str, kind: type) -> list[tuple[Path, Any]]:
        """The claim's own ``field`` and that of each :class:`Side`, with their paths."""
        found: list[tuple[Path, Any]] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name == field and isinstance(value, kind):
                found.append(((name,), value))
            elif isinstance(value, Side):
                found.append(((name, field), getattr(value, field)))
        return found

    def sweep_refs(self) -> list[tuple[Path, str]]:
        """``(path, key)`` of every sweep key the claim names (``axis``, ``for_each``)."""
        return []

    def check(self, observables: Mapping[str, Any]) -> None:
        """Kind-specific rules against the spec's observables (the references exist); raises
        :class:`runner.kinds.base.SpecRuleError` with a path relative to the claim."""

    # --- shared by every kind ------------------------------------------------------------------

    def evaluate(self, context: Context) -> ClaimResult:
        """Judge the claim; the early endings (:class:`Stop`) become their verdicts."""
        try:
            return self.judge(context)
        except Stop as stop:
            sentence = stop.reason if stop.verdict == "FAIL" else f"Not judged: {stop.reason}"
            return self.result(
                context, stop.verdict, f"{sentence}.", cells=stop.cells, reason=stop.reason
            )

    def result(
        self,
        context: Context,
        verdict: Verdict,
        observed_sentence: str,
        *,
        observed: dict[str, Any] | None = None,
        margin: float | None = None,
        noise: float | None = None,
        noise_unknown: str = "1 seed",
        evidence: Sequence[Evidence] = (),
        cells: Sequence[str] = (),
        groups: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> ClaimResult:
        """The :class:`ClaimResult`, with the expected sentence, the figure and whether the
        verdict is fragile (PASS or FAIL with ``|margin| <= noise``, :mod:`.margins`). A margin
        whose noise is unknown records why in ``observed["noise_unknown"]`` (``1 seed``)."""
        observed = dict(observed or {})
        margin = None if margin is None else float(margin)
        noise = None if noise is None else float(noise)
        if margin is not None and noise is None:
            observed["noise_unknown"] = noise_unknown
        fragile = verdict in ("PASS", "FAIL") and is_fragile(margin, noise)
        figure: dict[str, Any] = {}
        observable = self.figure_observable()
        try:
            picks = self.selections(context)
            series = series_figure(context, observable, picks) if observable and picks else None
        except Exception:  # noqa: BLE001 - a figure never decides a verdict
            series = None
        if series:
            figure["series"] = series
        if groups and groups.get("values"):
            figure["groups"] = groups
        return ClaimResult(
            id=self.id,
            kind=self.kind_name(),
            verdict=verdict,
            expected=self.expected,
            expected_sentence=self.expected_sentence(context.observables, context.metrics),
            observed_sentence=observed_sentence,
            statement=self.statement,
            observed=observed,
            margin=margin,
            evidence=list(evidence),
            cells=list(cells),
            figure=figure,
            reason=reason,
            noise=noise,
            fragile=fragile,
            fragile_reason=(
                f"margin {number(margin)} inside noise {number(noise)}" if fragile else None
            ),
        )


__all__ = [
    "GROUPS",
    "OBSERVABLE",
    "WHERE",
    "ClaimBase",
    "Comparison",
    "GroupReduce",
    "Side",
    "Stop",
    "groups_field",
    "verdict",
    "where_field",
]
