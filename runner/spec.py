"""The experiment spec: a Pydantic v2 model of one YAML file.

Every model forbids unknown keys and is frozen. What a spec selects with ``kind:`` (task, model,
loss, optimizers, metrics, observables, claims) is a registered kind in :mod:`runner.kinds`; the
unions below are built from those registries. A spec names its optimizers (``optimizers: {gd:
{...}, lm_01: {...}}``), its observables (``observables: {gn_rates: {...}}``) and lists its
claims; claims select cells with ``where`` (``{optimizer: gn, model.alpha: 2}``) and refer to
observables by name.

:meth:`Spec._references` checks what ties the parts together: each part's needs against what
the others provide (:func:`runner.kinds.base.check_needs`), and every name a figure, observable
or claim refers to. Its errors carry the key they are about (:class:`SpecRuleError`), so they
are reported at that key's line.

Profiles (``smoke``, ``default``, ``paper``) are partial specs merged over the base before
validation (:mod:`runner.load`), so a profile is checked by the same model as the spec itself.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, field_validator, model_validator

from runner.kinds.base import Part, SpecRuleError, Strict, Where, check_needs
from runner.kinds.claims import Claim
from runner.kinds.losses import LOSS_KINDS, MSELoss
from runner.kinds.metrics import METRIC_KINDS, metric_key
from runner.kinds.models import MODEL_KINDS
from runner.kinds.observables import CrossingObservable, Observable
from runner.kinds.optimizers import Optimizer
from runner.kinds.tasks import TASK_KINDS

PROFILE_NAMES = ("smoke", "default", "paper")

Task = Annotated[Union[TASK_KINDS], Field(discriminator="kind")]  # noqa: UP007
Model = Annotated[Union[MODEL_KINDS], Field(discriminator="kind")]  # noqa: UP007
Loss = Annotated[Union[LOSS_KINDS], Field(discriminator="kind")]  # noqa: UP007
Metric = Annotated[Union[METRIC_KINDS], Field(discriminator="kind")]  # noqa: UP007

# The families whose kinds provide capabilities, for "lm needs residuals (loss mse or pinn)".
PROVIDERS = {"task": TASK_KINDS, "model": MODEL_KINDS, "loss": LOSS_KINDS}


class Train(Strict):
    """How every cell trains (an optimizer's own ``train`` overrides it)."""

    steps: int = Field(ge=1, description="training steps")
    eval_every: int = Field(ge=1, description="steps between evaluations of the metrics")
    batch_size: int | None = Field(None, ge=1, description="null: full batch")
    precision: Literal["float32", "float64"] = Field(
        "float32", description="floating-point precision of the whole cell"
    )


class Sweep(Strict):
    """Cells = optimizers x sweep points x seeds.

    ``grid`` takes the product of its axes, ``zip`` pairs its lists element by element (all the
    same length), and the two combine as a product. Keys are dotted paths into the spec
    (``model.alpha``, ``optimizers.lm.damping``).
    """

    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    zip: dict[str, list[Any]] = Field(default_factory=dict)

    @field_validator("grid", "zip")
    @classmethod
    def _non_empty_axes(cls, axes: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in axes.items():
            if not values:
                raise ValueError(f"sweep axis {key!r} has no values")
        return axes

    @model_validator(mode="after")
    def _zip_lengths(self) -> Sweep:
        lengths = {len(v) for v in self.zip.values()}
        if len(lengths) > 1:
            raise ValueError(f"zip axes must have equal lengths, got {sorted(lengths)}")
        overlap = set(self.grid) & set(self.zip)
        if overlap:
            raise ValueError(f"keys in both grid and zip: {sorted(overlap)}")
        return self


class Panel(Strict):
    label: str
    where: Where = Field(default_factory=dict)


class Mark(Strict):
    """A vertical bar at ``step`` in every panel (e.g. an optimizer switch, Fig. 7)."""

    step: int = Field(ge=0)
    label: str


LineStyle = Literal["solid", "dotted", "dashed", "dashdot"]


class FigureSpec(Strict):
    """An overview figure in the report, besides the claims' own.

    ``metric``: the metric against step, one panel per entry of ``panels``; in a panel, cells that
    differ in a sweep value get their own colour (matplotlib's cycle: blue, orange, green, ...)
    and seeds share it. A list of metrics draws them in the same colour, solid, dotted, dashed,
    dash-dotted in that order (Fig. 5: train accuracy solid, test dotted), or in the ``styles``
    given, one per metric (Figs. 8, 12: train solid, validation dashed).

    ``observable`` with ``axis``: the observable (median over seeds) against the values of a sweep
    key, one line per panel, all in one plot (e.g. the grokking delay against alpha, a line per
    optimizer); a missing value (an event that never happened) is drawn as a gap and listed.

    ``marks`` draw a vertical bar at a step in every panel (the switch of Fig. 7); ``seeds: band``
    draws each set of seeds as its median with the min-max range shaded (Fig. 13).
    """

    title: str
    metric: str | list[str] | None = None
    observable: str | None = None
    axis: str | None = None
    panels: list[Panel] = Field(min_length=1)
    log_y: bool = True
    log_x: bool = False
    marks: list[Mark] = Field(default_factory=list)
    styles: list[LineStyle] | None = Field(
        None, description="one line style per metric (default: solid, dotted, dashed, dashdot)"
    )
    seeds: Literal["lines", "band"] = Field(
        "lines",
        description="lines: a thin line per seed; band: the median over seeds with the min-max "
        "range shaded (Fig. 13)",
    )

    @model_validator(mode="after")
    def _one_kind(self) -> FigureSpec:
        if (self.metric is None) == (self.observable is None):
            raise ValueError("give exactly one of 'metric' and 'observable'")
        if self.observable is not None and self.axis is None:
            raise ValueError("an observable figure needs 'axis' (a sweep key)")
        if isinstance(self.metric, list) and not 1 <= len(self.metric) <= 4:
            raise ValueError("a figure draws 1 to 4 metrics")
        if self.styles is not None and len(self.styles) != len(self.metrics):
            raise ValueError(
                f"styles: {len(self.styles)} given for {len(self.metrics)} metrics; give one each"
            )
        return self

    def check(
        self,
        at: tuple[str | int, ...],
        recorded: set[str],
        observables: dict[str, Any],
        sweep_keys: set[str],
    ) -> None:
        """Its metrics are recorded, its observable exists, its axis is a sweep key."""
        for j, metric in enumerate(self.metrics):
            if metric not in recorded and not metric.startswith("train/"):
                path = (*at, "metric") + ((j,) if isinstance(self.metric, list) else ())
                raise SpecRuleError(
                    path, f"figure {self.title!r}: metric {metric!r} is not recorded"
                )
        if self.observable is not None and self.observable not in observables:
            raise SpecRuleError(
                (*at, "observable"),
                f"figure {self.title!r}: unknown observable {self.observable!r}",
            )
        if self.axis is not None and self.axis not in sweep_keys:
            raise SpecRuleError(
                (*at, "axis"),
                f"figure {self.title!r}: axis {self.axis!r} is not a sweep key "
                f"(sweep keys: {sorted(sweep_keys)})",
            )

    @property
    def metrics(self) -> list[str]:
        if self.metric is None:
            return []
        return [self.metric] if isinstance(self.metric, str) else list(self.metric)


class Spec(Strict):
    """One experiment: what to train, how, over which sweep, and what the paper claims."""

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=100)  # names the run directory
    description: str = ""
    paper: str = Field("", description="where in the paper (figure, section, table)")
    task: Task
    model: Model
    loss: Loss = MSELoss(kind="mse")
    optimizers: dict[str, Optimizer] = Field(min_length=1)
    train: Train
    metrics: list[Metric] = Field(default_factory=list)
    sweep: Sweep = Sweep()
    observables: dict[str, Observable] = Field(default_factory=dict)
    claims: list[Claim] = Field(default_factory=list)
    figures: list[FigureSpec] = Field(default_factory=list)
    profiles: dict[Literal["smoke", "default", "paper"], dict[str, Any]] = Field(
        default_factory=dict
    )

    @field_validator("optimizers")
    @classmethod
    def _names(cls, optimizers: dict[str, Any]) -> dict[str, Any]:
        for name in optimizers:
            if not name.replace("_", "").replace("-", "").replace(".", "").isalnum():
                raise ValueError(f"optimizer name {name!r}: use letters, digits, '_', '-', '.'")
            if len(name) > 64:
                raise ValueError(f"optimizer name {name[:20]!r}...: at most 64 characters")
        return optimizers

    @model_validator(mode="after")
    def _references(self) -> Spec:
        """The parts fit together and every name referred to exists (see the module
        docstring); the first broken rule is raised as a :class:`SpecRuleError`."""
        check_needs(self._parts(), PROVIDERS)
        self._check_metric_names()
        recorded = {metric_key(m) for m in self.metrics} | {"loss"}
        sweep_keys = set(self.sweep.grid) | set(self.sweep.zip)
        for i, figure in enumerate(self.figures):
            figure.check(("figures", i), recorded, self.observables, sweep_keys)
        for name, observable in self.observables.items():
            _check_observable(name, observable, self.observables, recorded)
        self._check_claims(sweep_keys)
        return self

    def _parts(self) -> list[tuple[tuple[str | int, ...], Part]]:
        parts: list[tuple[tuple[str | int, ...], Part]] = [
            (("task",), self.task),
            (("model",), self.model),
            (("loss",), self.loss),
        ]
        for name, optimizer in self.optimizers.items():
            parts += optimizer.parts(("optimizers", name))
        parts += [(("metrics", i), metric) for i, metric in enumerate(self.metrics)]
        return parts

    def _check_metric_names(self) -> None:
        keys = [metric_key(m) for m in self.metrics]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            second = [i for i, k in enumerate(keys) if k == repeated[0]][1]
            raise SpecRuleError(
                ("metrics", second),
                f"metrics recorded twice under {repeated}: give them distinct 'name's",
            )

    def _check_claims(self, sweep_keys: set[str]) -> None:
        ids = [claim.id for claim in self.claims]
        for i, claim in enumerate(self.claims):
            if claim.id in ids[:i]:
                duplicates = sorted({c for c in ids if ids.count(c) > 1})
                raise SpecRuleError(("claims", i, "id"), f"duplicate claim ids: {duplicates}")
        for i, claim in enumerate(self.claims):
            at = ("claims", i)
            for path, ref in claim.observable_refs():
                if ref not in self.observables:
                    raise SpecRuleError(
                        (*at, *path),
                        f"claim {claim.id!r}: unknown observable {ref!r}"
                        + _did_you_mean(ref, self.observables),
                    )
            try:
                claim.check(self.observables)
            except SpecRuleError as broken:
                raise SpecRuleError((*at, *broken.path), str(broken)) from None
            for path, key in claim.sweep_refs():
                if key not in sweep_keys:
                    raise SpecRuleError(
                        (*at, *path),
                        f"claim {claim.id!r}: {path[-1]} {key!r} is not a sweep key "
                        f"(sweep keys: {sorted(sweep_keys)})",
                    )
            for path, where in claim.wheres():
                optimizer = where.get("optimizer")
                choices = optimizer.get("in") if isinstance(optimizer, dict) else None
                names = choices if isinstance(choices, list) else [optimizer]
                for name in names:
                    # a list or mapping here is a user mistake, not a crash (unhashable in `in`)
                    if name is not None and name not in list(self.optimizers):
                        raise SpecRuleError(
                            (*at, *path, "optimizer"),
                            f"claim {claim.id!r}: unknown optimizer {name!r}"
                            + _did_you_mean(name, self.optimizers),
                        )


def _did_you_mean(name: Any, names: Any) -> str:
    import difflib

    close = difflib.get_close_matches(str(name), [str(n) for n in names], n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _check_observable(
    name: str, observable: Any, observables: dict[str, Any], recorded: set[str]
) -> None:
    for field, ref in observable.references():
        if not isinstance(observables.get(ref), CrossingObservable):
            raise SpecRuleError(
                ("observables", name, field),
                f"observables.{name}: {ref!r} is not a crossing observable",
            )
    metric = getattr(observable, "metric", None)
    if observable.reads_metric and metric not in recorded and not metric.startswith("train/"):
        raise SpecRuleError(
            ("observables", name, "metric"),
            f"{metric!r} is not recorded; metrics are {sorted(recorded)} and train/<record>",
        )
