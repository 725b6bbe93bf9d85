"""The experiment spec: a Pydantic v2 model of one YAML file.

Every model forbids unknown keys and is frozen. What a spec selects with ``kind:`` (task, model,
loss, optimizers, metrics, observables, claims) is a registered kind in :mod:`runner.kinds`; the
unions below are built from those registries. A spec names its optimizers (``optimizers: {gd:
{...}, lm_01: {...}}``), its observables (``observables: {gn_rates: {...}}``) and lists its
claims; claims select cells with ``where`` (``{optimizer: gn, model.alpha: 2}``) and refer to
observables by name.

:meth:`Spec._references` checks what ties the parts together: each part's needs against what
the others provide (:func:`runner.kinds.base.check_needs`), every name a figure, observable or
claim refers to, and what a claim asks of the run before any of it trains: each ``where``
selects cells the sweep has (:meth:`Spec._check_wheres`), each of a claim's ``groups`` is a
group its metric records (:meth:`Spec._check_groups`, labels computed without JAX). Its errors
carry the key they are about (:class:`SpecRuleError`), so they are reported at that key's line.

Profiles are partial specs merged over the base before validation (:mod:`runner.load`), so a
profile is checked by the same model as the spec itself. A profile may have any name of letters,
digits, ``_`` and ``-`` (:data:`PROFILE_NAME_PATTERN`); ``smoke``, ``default`` and ``paper`` are
the conventional ones, and only ``default`` means something to the loader: asked for and not
defined, it is the base spec. What a smoke profile means (``verdicts: informational``) it says
itself.
"""

from __future__ import annotations

import copy
import re
from typing import Annotated, Any, Literal, Union

from pydantic import Field, ValidationInfo, field_validator, model_validator

from runner.kinds.base import Part, SpecRuleError, Strict, Where, check_needs
from runner.kinds.claims import Claim
from runner.kinds.losses import LOSS_KINDS, MSELoss
from runner.kinds.metrics import (
    METRIC_KINDS,
    RECORDS,
    FFTErrorMetric,
    MetricKind,
    _InitialNTKModes,
    fft_labels,
    metric_key,
)
from runner.kinds.models import MODEL_KINDS
from runner.kinds.observables import Observable
from runner.kinds.optimizers import Optimizer, Switch, check_continuation
from runner.kinds.tasks import TASK_KINDS
from runner.results import same_value
from runner.text import one_of, value

# A profile's name: given to --profile, recorded in the manifest and shown in `runner ls`.
PROFILE_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


def profile_name_problem(name: Any) -> str | None:
    """What is wrong with ``name`` as a profile name (None: nothing)."""
    if not isinstance(name, str) or not re.fullmatch(PROFILE_NAME_PATTERN, name):
        return (
            f"profile name {str(name)[:40]!r}: use 1 to 64 letters, digits, '_' or '-' "
            "(e.g. smoke, default, paper, cpu_big)"
        )
    return None


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
            # a path relative to the figure: reported at its line (it has no `axis:` line)
            raise SpecRuleError(("axis",), "an observable figure needs 'axis' (a sweep key)")
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
                f"figure {self.title!r}: axis {self.axis!r} is not a sweep key"
                f"{_did_you_mean(self.axis, sorted(sweep_keys))} ({_sweep_keys_text(sweep_keys)})",
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
    verdicts: Literal["evidence", "informational"] = Field(
        "evidence",
        description="evidence: a claim that does not hold fails the run (exit 1); informational "
        "(every shipped smoke profile): the run tests the plumbing, its verdicts are shown as "
        "'smoke: not evidence' and only an error fails it (exit 3)",
    )
    profiles: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="named partial specs merged over the base (runner run --profile NAME); "
        "any name of letters, digits, '_' and '-' (smoke, default and paper by convention)",
        json_schema_extra={"propertyNames": {"pattern": PROFILE_NAME_PATTERN}},
    )

    @field_validator("profiles")
    @classmethod
    def _profile_names(cls, profiles: dict[str, Any]) -> dict[str, Any]:
        for name in profiles:
            problem = profile_name_problem(name)
            if problem:
                raise ValueError(problem)
        return profiles

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
    def _references(self, info: ValidationInfo) -> Spec:
        """The parts fit together and every name referred to exists (see the module
        docstring); the first broken rule is raised as a :class:`SpecRuleError`. The loader
        passes ``context={"selectable": {key: values}}``: what each ``where`` key takes in the
        base spec or any of its profiles (see :meth:`_check_wheres`)."""
        check_needs(self._parts(), PROVIDERS)
        self._check_continuations()
        self._check_metric_names()
        recorded = {metric_key(m) for m in self.metrics} | {"loss"}
        sweep_keys = set(self.sweep.grid) | set(self.sweep.zip)
        for i, figure in enumerate(self.figures):
            figure.check(("figures", i), recorded, self.observables, sweep_keys)
        for name, observable in self.observables.items():
            _check_observable(name, observable, self.observables, recorded)
        self._check_claims(sweep_keys)
        points = _Points(self)
        self._check_wheres(points, (info.context or {}).get("selectable"))
        self._check_groups(points)
        return self

    def unused_observables(self) -> list[str]:
        """The observables no claim, figure or other observable (a ``delay``) refers to, in
        spec order (``runner validate`` warns about them)."""
        used = {ref for claim in self.claims for _, ref in claim.observable_refs()}
        used |= {figure.observable for figure in self.figures if figure.observable}
        used |= {ref for o in self.observables.values() for _, ref in o.references()}
        return [name for name in self.observables if name not in used]

    def _wheres(self) -> list[tuple[tuple[str | int, ...], str, Where]]:
        """``(path, who, where)`` of every selection: each claim's (its sides and sequence
        included) and each figure panel's."""
        found = []
        for i, claim in enumerate(self.claims):
            found += [
                (("claims", i, *path), f"claim {claim.id!r}", w) for path, w in claim.wheres()
            ]
        for i, figure in enumerate(self.figures):
            for j, panel in enumerate(figure.panels):
                at = ("figures", i, "panels", j, "where")
                found.append((at, f"figure {figure.title!r}", panel.where))
        return found

    def _check_wheres(self, points: _Points, anywhere: dict[str, list[Any]] | None = None) -> None:
        """Every ``where`` selects cells the run has: its keys are ``optimizer``, ``seed`` or
        sweep keys; a value is one the key takes (compared as the runner compares them,
        :func:`runner.results.same_value`); ``{in: [...]}`` takes at least one, and each of its
        entries is a value the key takes here or, given ``anywhere`` (what each key takes in
        the base spec or any profile), in some profile: a list may name points that only some
        profiles run; and the sweep has a point with all of the where's sweep values together
        (``zip`` pairs its keys). A profile with ``verdicts: informational`` (a smoke run that
        tests the plumbing) may leave a claim without cells: there a value need only be one
        that the key takes in some profile.
        """
        here = getattr(self, "verdicts", "evidence") != "informational"
        selectors: dict[str, list[Any]] = {
            "optimizer": list(self.optimizers),
            "seed": list(self.sweep.seeds),
            **self.sweep.grid,
            **self.sweep.zip,
        }
        if anywhere is None:
            # Without the loader's context the optimizers are still known: a profile can only
            # add some (its mapping merges), so these and the profiles' own are all there are.
            bodies = [body.get("optimizers") for body in self.profiles.values()]
            named = [name for body in bodies if isinstance(body, dict) for name in body]
            anywhere = {"optimizer": [*self.optimizers, *named]}
        for at, who, where in self._wheres():
            for key, want in where.items():
                _check_selection((*at, key), who, key, want, selectors, anywhere, here)
            swept = {k: w for k, w in where.items() if k in points.keys}
            if here and len(swept) > 1 and points.selected([where]) == []:
                raise SpecRuleError(
                    at,
                    f"{who}: where selects no cell: no sweep point has "
                    f"{' and '.join(f'{k} = {_shown(w)}' for k, w in swept.items())}"
                    " (zip pairs its values in order)",
                )

    def _check_groups(self, points: _Points) -> None:
        """A claim's ``groups`` are groups its observables have in the cells it selects (see
        :func:`_observable_groups` for which metrics' groups are known before training)."""
        variants = _Variants(self, points)
        for i, claim in enumerate(self.claims):
            groups = getattr(claim, "groups", None)
            if not isinstance(groups, list) or not groups:
                continue
            selected = variants.selected([where for _, where in claim.wheres()])
            for name in dict.fromkeys(ref for _, ref in claim.observable_refs()):
                known = _union(_observable_groups(name, self.observables, *v) for v in selected)
                if known is None:
                    continue
                for j, group in enumerate(groups):
                    if group not in known:
                        raise SpecRuleError(
                            ("claims", i, "groups", j),
                            f"claim {claim.id!r}: {_group_problem(group, name, known, self)}",
                        )

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

    def _check_continuations(self) -> None:
        train = self.train.model_dump()
        for name, optimizer in self.optimizers.items():
            if isinstance(optimizer, Switch):
                check_continuation(name, optimizer, self.optimizers, train)

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
                        f"claim {claim.id!r}: {path[-1]} {key!r} is not a sweep key"
                        f"{_did_you_mean(key, sorted(sweep_keys))} "
                        f"({_sweep_keys_text(sweep_keys)})",
                    )


def _did_you_mean(name: Any, names: Any) -> str:
    import difflib

    close = difflib.get_close_matches(str(name), [str(n) for n in names], n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _check_observable(
    name: str, observable: Any, observables: dict[str, Any], recorded: set[str]
) -> None:
    for field, ref in observable.references():
        problem = observable.reference_problem(field, ref, observables.get(ref))
        if problem is not None:
            raise SpecRuleError(("observables", name, field), f"observables.{name}: {problem}")
    metric = getattr(observable, "metric", None)
    if observable.reads_metric and metric not in recorded and not metric.startswith("train/"):
        raise SpecRuleError(
            ("observables", name, "metric"),
            f"{metric!r} is not recorded; metrics are {sorted(recorded)} and train/<record>",
        )


def _sweep_keys_text(keys: Any) -> str:
    listed = ", ".join(sorted(keys))
    return f"sweep keys: {listed}" if listed else "the spec sweeps nothing: no sweep.grid or zip"


def _shown(v: Any) -> str:
    """A ``where`` or sweep value in a message, as YAML writes it (a number as the report does)."""
    if isinstance(v, bool) or v is None:
        text = {True: "true", False: "false", None: "null"}[v]
    elif isinstance(v, dict):
        text = "{" + ", ".join(f"{k}: {_shown(x)}" for k, x in v.items()) + "}"
    elif isinstance(v, list):
        text = "[" + ", ".join(_shown(x) for x in v) + "]"
    elif isinstance(v, str):
        text = repr(v)
    else:
        text = value(v, digits=None)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_selection(
    at: tuple[str | int, ...],
    who: str,
    key: str,
    want: Any,
    selectors: dict[str, list[Any]],
    anywhere: dict[str, list[Any]] | None,
    here: bool,
) -> None:
    """One ``key: want`` of a ``where`` (see :meth:`Spec._check_wheres`); ``here``: it must
    select cells in this spec (profile) itself."""
    elsewhere = (anywhere or {}).get(key)
    if key not in selectors and (here or elsewhere is None):
        raise SpecRuleError(
            at,
            f"{who}: where key {key!r} is not optimizer, seed or a sweep key"
            f"{_did_you_mean(key, selectors)} (keys: {', '.join(selectors)})",
        )
    allowed = selectors.get(key, [])
    somewhere = None if elsewhere is None else [*allowed, *elsewhere]  # None: not known
    choices = one_of(want)
    if choices is None:
        if isinstance(want, dict) and "in" in want and not _taken(want, somewhere or allowed):
            raise SpecRuleError(
                at, f"{who}: where {key}: write {{in: [a, b, ...]}} (a list) for any of several"
            )
        taken = allowed if here else somewhere
        if taken is not None and not _taken(want, taken):
            raise SpecRuleError(at, f"{who}: {_not_taken(key, want, allowed)}")
        return
    for j, entry in enumerate(choices):
        if somewhere is not None and not _taken(entry, somewhere):
            raise SpecRuleError((*at, "in", j), f"{who}: {_not_taken(key, entry, allowed)}")
    if here and not any(_taken(entry, allowed) for entry in choices):
        raise SpecRuleError(
            at, f"{who}: where {key}: {_shown(want)} selects no cell ({_taken_text(key, allowed)})"
        )


def _taken(entry: Any, allowed: list[Any]) -> bool:
    return any(same_value(v, entry) for v in allowed)


def _taken_text(key: str, allowed: list[Any]) -> str:
    """``optimizers: gd, lm``, ``sweep.seeds: 0, 1``, ``model.alpha takes 1, 2``."""
    if key == "optimizer":
        return f"optimizers: {', '.join(map(str, allowed))}"
    listed = ", ".join(_shown(v) for v in allowed)
    return f"sweep.seeds: {listed}" if key == "seed" else f"{key} takes {listed}"


def _not_taken(key: str, entry: Any, allowed: list[Any]) -> str:
    fix = "; a list selects no cell: write {in: [...]} for any of several" * isinstance(entry, list)
    strings = [v for v in allowed if isinstance(v, str)]
    close = _did_you_mean(entry, strings) if isinstance(entry, str) else ""
    if key == "optimizer":
        what = f"unknown optimizer {entry!r}"
    elif key == "seed":
        what = f"seed {_shown(entry)} is not run"
    else:
        what = f"{key} = {_shown(entry)} is not a value of the sweep"
    return f"{what}{close}{fix} ({_taken_text(key, allowed)})"


# More sweep points than this: the checks that walk every point (a where's sweep values
# together, groups that depend on a swept task or metric) are skipped.
MAX_POINTS_CHECKED = 10_000


class _Points:
    """The sweep's points (:func:`runner.plan.sweep_points`); ``selected`` those a list of
    ``where`` s selects (any of them; its optimizer and seed ignored), None when not expanded."""

    def __init__(self, spec: Spec):
        sweep = spec.sweep
        self.keys = set(sweep.grid) | set(sweep.zip)
        size = len(next(iter(sweep.zip.values()))) if sweep.zip else 1
        for values in sweep.grid.values():
            size *= len(values)
        self.points: list[dict[str, Any]] | None = None
        if size <= MAX_POINTS_CHECKED:
            from runner.plan import sweep_points  # runner.plan imports this module

            self.points = sweep_points(spec)

    def selected(self, wheres: list[Where]) -> list[dict[str, Any]] | None:
        if self.points is None:
            return None
        wheres = wheres or [{}]
        return [p for p in self.points if any(_selects(w, p) for w in wheres)]


def _selects(where: Where, point: dict[str, Any]) -> bool:
    """Whether ``where`` selects the cells of sweep point ``point`` (as
    :meth:`runner.results.CellResult.matches`; keys other than the point's are not looked at)."""
    for key, want in where.items():
        if key in point:
            choices = one_of(want)
            if not any(
                same_value(point[key], c) for c in (choices if choices is not None else [want])
            ):
                return False
    return True


class _Parts(Strict):
    """The parts a metric's groups depend on, validated again at a sweep point."""

    task: Task
    loss: Loss = MSELoss(kind="mse")
    metrics: list[Metric] = Field(default_factory=list)


Variant = tuple[Any, Any, dict[str, MetricKind]]  # task, loss, metrics by recorded key


class _Variants:
    """The task, loss and metrics of the cells a claim selects: the spec's own, or each sweep
    point's where the sweep changes them (``task.points``, a whole ``task``,
    ``metrics.0.modes``)."""

    def __init__(self, spec: Spec, points: _Points):
        self.spec = spec
        self.points = points
        self.keys = [k for k in sorted(points.keys) if k.split(".")[0] in _Parts.model_fields]
        self.cache: dict[str, Variant | None] = {}

    def selected(self, wheres: list[Where]) -> list[Variant]:
        spec = self.spec
        if not self.keys:
            return [(spec.task, spec.loss, {metric_key(m): m for m in spec.metrics})]
        chosen = self.points.selected(wheres) or []
        found = [self._at({k: p[k] for k in self.keys if k in p}) for p in chosen]
        return [v for v in found if v is not None]  # an invalid point: the sweep check says so

    def _at(self, values: dict[str, Any]) -> Variant | None:
        ident = repr(sorted(values.items()))
        if ident not in self.cache:
            from runner.plan import set_path

            spec = self.spec
            data = {
                "task": spec.task.model_dump(),
                "loss": spec.loss.model_dump(),
                "metrics": [m.model_dump() for m in spec.metrics],
            }
            try:
                for key, v in values.items():
                    set_path(data, key, copy.deepcopy(v))  # the sweep's own value stays as is
                parts = _Parts.model_validate(data)
            except (ValueError, KeyError, IndexError, TypeError):
                self.cache[ident] = None
            else:
                metrics = {metric_key(m): m for m in parts.metrics}
                self.cache[ident] = (parts.task, parts.loss, metrics)
        return self.cache[ident]


def _union(groups: Any) -> list[str] | None:
    """The groups of several variants together; None when any (or every) one is unknown."""
    out: list[str] | None = None
    for labels in groups:
        if labels is None:
            return None
        out = list(dict.fromkeys([*(out or []), *labels]))
    return out


def _observable_groups(
    name: str,
    observables: dict[str, Any],
    task: Any,
    loss: Any,
    metrics: dict[str, MetricKind],
    seen: tuple[str, ...] = (),
) -> list[str] | None:
    """The groups observable ``name`` has in cells of ``task``, ``loss`` and ``metrics``, where
    they are known before training (:func:`_metric_groups`); None where they are not."""
    observable = observables.get(name)
    if observable is None or name in seen:
        return None
    if getattr(observable, "scalar", False):
        return [""]
    if observable.reads_metric:
        metric = getattr(observable, "metric", None)
        if not isinstance(metric, str):
            return None
        if metric in RECORDS or metric.startswith("train/"):
            return [""]  # a per-step record: one group
        declared = metrics.get(metric)
        return None if declared is None else _metric_groups(declared, task, loss)
    if observable.kind == "delay":  # the groups both crossings have (else either's), as measured
        start, end = (
            _observable_groups(ref, observables, task, loss, metrics, (*seen, name))
            for _, ref in observable.references()
        )
        if start is None or end is None:
            return None
        return [g for g in start if g in end] or start or end
    return None  # another kind built from observables: its groups are not known here


def _metric_groups(metric: MetricKind, task: Any, loss: Any) -> list[str] | None:
    """The group labels a cell records for ``metric`` (:meth:`MetricKind.groups`), computed
    without JAX: ``fft_error`` from the task's grid (:func:`runner.kinds.metrics.fft_labels`),
    the NTK-mode metrics from the number of residuals, a scalar's single group ``""``. None where
    that is not known from the fields alone (see :func:`_grid_shape`, :func:`_residual_count`)."""
    if isinstance(metric, FFTErrorMetric):
        shape = _grid_shape(task)
        return None if shape is None else fft_labels(shape, metric.modes)
    if isinstance(metric, _InitialNTKModes):
        m = _residual_count(task, loss)
        if m is None:
            return None
        return [str(i) for i in range(m if metric.modes is None else min(metric.modes, m))]
    if type(metric).groups is MetricKind.groups:
        return [""]
    return None  # a kind with groups of its own that this module does not know


def _grid_shape(task: Any) -> tuple[int, ...] | None:
    """The task's metric grid (the ``grid_shape`` its ``build`` gives, ``()``: none) from its
    fields; None for a task kind not listed here (its ``fft_error`` groups are not checked)."""
    if task.kind == "regression_1d":
        return (task.points,)
    if task.kind == "regression_2d":
        return (task.points_per_side, task.points_per_side)
    if task.kind == "poisson":
        return (task.grid_points_per_side, task.grid_points_per_side)
    gridless = ("random_jacobian", "polynomial", "modular_addition", "modular_addition_tokens")
    return () if task.kind in (*gridless, "mnist") else None


def _residual_count(task: Any, loss: Any) -> int | None:
    """The number of residuals ``m`` on the training set (what the NTK-mode metrics count their
    groups to), from the task's fields; None where it is not known before the task is built:
    ``modular_addition`` (its split decides how many pairs train), ``mnist`` and the token task
    (no residual metric checked), a kind not listed here. Those claims' groups are not checked."""
    if loss.kind == "pinn":
        return task.interior + 4 * task.boundary_per_edge if task.kind == "poisson" else None
    if loss.kind != "mse":
        return None
    # one output per input: one residual per training input
    if task.kind == "regression_1d":
        return task.points
    if task.kind == "regression_2d":
        return task.points_per_side**2
    if task.kind == "random_jacobian":
        return task.residuals
    if task.kind == "polynomial":
        return task.train
    return None


def _group_problem(group: str, name: str, known: list[str], spec: Spec) -> str:
    """Why ``group`` is not a group of observable ``name``, what its groups are, a likely fix."""
    metric = spec.observables[name].metric_name(spec.observables) or name
    if known == [""]:
        return (
            f'group {group!r}: observable {name!r} has one group, "" ({metric} is one number per '
            "cell); leave groups out"
        )
    return (
        f"group {group!r} is not a group of observable {name!r} ({metric} has "
        f"{_groups_text(known)}){_group_hint(group, known)}"
    )


def _groups_text(labels: list[str]) -> str:
    quoted = [f'"{g}"' for g in labels]
    if len(labels) > 3 and labels == [str(i) for i in range(len(labels))]:
        return f"{len(labels)} groups, {quoted[0]} .. {quoted[-1]}"
    if len(labels) <= 12:
        return f"{len(labels)} group{'s' * (len(labels) > 1)}: {', '.join(quoted)}"
    return f"{len(labels)} groups: {', '.join(quoted[:10])}, ..., {quoted[-1]}"


def _group_hint(group: str, known: list[str]) -> str:
    """``; did you mean '0,1'?`` for a spacing slip, a leading zero or the other half of a 2-D
    mode's conjugate pair; a close match for other labels; nothing for a number out of range."""
    text = str(group).replace(" ", "")
    parts = text.split(",")
    numbers = all(p.lstrip("-").isdigit() for p in parts) and len(parts) <= 2
    if numbers:
        text = ",".join(str(int(p)) for p in parts)
    if text != group and text in known:
        return f"; did you mean {text!r}?"
    if numbers and len(parts) == 2:
        conjugate = ",".join(str(-int(p)) for p in parts)
        if conjugate in known:
            return (
                f"; did you mean {conjugate!r}? (the same mode: of k and -k the groups keep the "
                "one with kx > 0, or kx = 0 and ky >= 0)"
            )
    return "" if numbers else _did_you_mean(group, known)
