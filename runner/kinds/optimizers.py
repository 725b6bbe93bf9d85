"""Optimizer kinds (``optimizers: {name: {kind: ...}}``) and the damping schedule.

Each kind holds its fields, says what it ``needs`` from the loss (LM and GN need residuals, GGN
logits; see :mod:`runner.kinds.base`), builds its optax transformation with
:meth:`OptimizerKind.transformation`, and, where the paper's lemmas apply, gives the per-step
contraction of each NTK eigenmode (:meth:`OptimizerKind.mode_contraction`).

Compile once per shape: the scalars named in ``traced`` (learning rate, damping, GN cut-off,
weight decay) may differ between cells without recompiling. A cell passes them as arrays
(:meth:`OptimizerKind.hyperparameters`) into the transformation built by :func:`factory`, which
is cached by the optimizer's :meth:`~OptimizerKind.structure` (the optimizer with those scalars
blanked), so cells that differ only in them share one compiled program per process.

Adding a kind: a class here and one line in :data:`OPTIMIZER_KINDS`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import Field, model_validator

from runner.kinds.base import Part, Strict


class LogLinear(Strict):
    """``start * (end / start) ** min(i / steps, 1)`` (docs/paper-notes.md#damping-schedule)."""

    kind: Literal["log_linear"]
    start: float = Field(gt=0, description="value at step 0")
    end: float = Field(gt=0, description="value from step `steps` on")
    steps: int = Field(ge=1, description="steps to go from start to end")

    def schedule(self) -> Any:
        from core import optim

        return optim.log_linear(self.start, self.end, self.steps)


ScalarOrSchedule = Annotated[float, Field(gt=0)] | LogLinear


def _schedule(value: Any) -> Any:
    """A scalar, a traced scalar, or a :class:`LogLinear` as an optax schedule."""
    return value.schedule() if isinstance(value, LogLinear) else value


def _warmed_up(learning_rate: Any, warmup_steps: int) -> Any:
    """``lr min(1, (i + 1) / warmup_steps)`` at step ``i``; the constant ``lr`` without warm-up."""
    if not warmup_steps:
        return learning_rate
    import jax.numpy as jnp

    return lambda count: learning_rate * jnp.minimum(1.0, (count + 1) / warmup_steps)


class TrainOverride(Strict):
    """Per-optimizer changes to ``train`` (e.g. LM needs far fewer steps than GD)."""

    steps: int | None = Field(None, ge=1, description="training steps for this optimizer")
    eval_every: int | None = Field(None, ge=1, description="steps between evaluations")
    batch_size: int | None = Field(None, ge=1, description="mini-batch size (null: full batch)")


class _Traced:
    """Stands for a traced scalar in an optimizer's :meth:`~OptimizerKind.structure`."""

    def __repr__(self) -> str:
        return "<traced>"


TRACED = _Traced()


class OptimizerKind(Part):
    """An optimizer: its fields, what it needs from the loss, the transformation it builds."""

    kind: str
    train: TrainOverride | None = Field(
        None, description="overrides of the spec's train settings for this optimizer's cells"
    )
    traced: ClassVar[tuple[str, ...]] = ()  # scalars that may change without recompiling

    def transformation(self) -> Any:
        """The ``optax`` transformation (its traced scalars may be arrays)."""
        raise NotImplementedError

    def mode_contraction(self, eigenvalues: Any, convention: str, m: int) -> Any | None:
        """``lr * map(lambda)`` per eigenmode of the initial NTK (the lemmas' per-step
        contraction is ``1 - lr map(lambda)``), or None where the lemmas do not apply."""
        return None

    def parts(self, path: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], Part]]:
        """``(path, optimizer)`` of this optimizer and those inside it (a switch's two)."""
        return [(path, self)]

    # -- compile once per shape -------------------------------------------------------------

    def hyperparameters(self, prefix: str = "") -> dict[str, float]:
        """The traced scalars by dotted path (``learning_rate``, ``first.damping``)."""
        return {
            f"{prefix}{name}": float(value)
            for name in self.traced
            if _is_number(value := getattr(self, name))
        }

    def structure(self) -> OptimizerKind:
        """This optimizer with its traced scalars blanked: equal for cells that may share one
        compiled program."""
        blank = {name: TRACED for name in self.traced if _is_number(getattr(self, name))}
        return self.model_copy(update=blank)

    def with_hyperparameters(self, h: Mapping[str, Any], prefix: str = "") -> OptimizerKind:
        """The structure with the traced scalars ``h`` (by dotted path) put back."""
        update = {n: h[f"{prefix}{n}"] for n in self.traced if getattr(self, n) is TRACED}
        return self.model_copy(update=update)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@functools.cache
def factory(structure: OptimizerKind) -> Callable[[Mapping[str, Any]], Any]:
    """One factory per optimizer structure, so jit caches hit across cells."""

    def build(h: Mapping[str, Any]) -> Any:
        return structure.with_hyperparameters(h).transformation()

    return build


class GD(OptimizerKind):
    """Plain (full- or mini-batch) gradient descent, ``theta <- theta - lr grad L``;
    ``weight_decay`` adds ``wd theta`` to the gradient first (PyTorch SGD's coupled form)."""

    kind: Literal["gd"]
    example: ClassVar[dict[str, Any]] = {"learning_rate": 0.01}
    learning_rate: float = Field(gt=0, description="step size")
    momentum: float | None = Field(None, ge=0, lt=1, description="heavy-ball momentum")
    weight_decay: float | None = Field(None, ge=0, description="coupled weight decay")
    traced: ClassVar = ("learning_rate", "weight_decay")

    def transformation(self):
        import optax

        sgd = optax.sgd(self.learning_rate, momentum=self.momentum)
        if self.weight_decay is None:
            return sgd
        return optax.chain(optax.add_decayed_weights(self.weight_decay), sgd)

    def mode_contraction(self, eigenvalues, convention, m):
        if self.momentum is not None:
            return None
        # the eigenvalues belong to the objective's residual convention; GD follows the gradient
        # of the mean loss, whose kernel is (2/m) K_raw
        scale_sq = 2.0 / m if convention == "loss" else 1.0
        return self.learning_rate * eigenvalues * (2.0 / m) / scale_sq


class Adam(OptimizerKind):
    """Adam (optax). ``warmup_steps``: the learning rate grows linearly, ``lr min(1, (i + 1) / w)``
    at step ``i`` (0-based), so the first step already moves (grok warms up over 10 steps)."""

    kind: Literal["adam"]
    example: ClassVar[dict[str, Any]] = {"learning_rate": 1e-3}
    learning_rate: float = Field(gt=0, description="step size")
    b1: float = Field(0.9, ge=0, lt=1, description="decay of the first moment")
    b2: float = Field(0.999, ge=0, lt=1, description="decay of the second moment")
    eps: float = Field(1e-8, gt=0, description="added to the root of the second moment")
    warmup_steps: int = Field(0, ge=0, description="steps of linear learning-rate warm-up")
    traced: ClassVar = ("learning_rate",)

    def transformation(self):
        import optax

        lr = _warmed_up(self.learning_rate, self.warmup_steps)
        return optax.adam(lr, b1=self.b1, b2=self.b2, eps=self.eps)


class AdamW(OptimizerKind):
    """AdamW (optax, decoupled weight decay ``lr wd theta``); ``warmup_steps`` as for Adam (the
    decay follows the warmed-up rate)."""

    kind: Literal["adamw"]
    example: ClassVar[dict[str, Any]] = {"learning_rate": 1e-3, "weight_decay": 0.1}
    learning_rate: float = Field(gt=0, description="step size")
    b1: float = Field(0.9, ge=0, lt=1, description="decay of the first moment")
    b2: float = Field(0.999, ge=0, lt=1, description="decay of the second moment")
    eps: float = Field(1e-8, gt=0, description="added to the root of the second moment")
    weight_decay: float = Field(1e-4, ge=0, description="decoupled weight decay")
    warmup_steps: int = Field(0, ge=0, description="steps of linear learning-rate warm-up")
    traced: ClassVar = ("learning_rate", "weight_decay")

    def transformation(self):
        import optax

        lr = _warmed_up(self.learning_rate, self.warmup_steps)
        return optax.adamw(lr, b1=self.b1, b2=self.b2, eps=self.eps, weight_decay=self.weight_decay)


_NEEDS_RESIDUALS = "for cross_entropy use ggn"


class LM(OptimizerKind):
    """Levenberg-Marquardt ``theta <- theta - lr J^T (mu I + J J^T)^{-1} r``."""

    kind: Literal["lm"]
    example: ClassVar[dict[str, Any]] = {"learning_rate": 0.5, "damping": 1e-3}
    learning_rate: float = Field(gt=0, description="step size")
    damping: ScalarOrSchedule = Field(description="mu, a number or a log_linear schedule")
    solver: Literal["cholesky", "eigh", "cg"] = Field(
        "cholesky", description="how (mu I + J J^T) x = r is solved"
    )
    gram: Literal["auto", "structured", "jacobian", "matrix_free"] = Field(
        "auto", description="how J J^T is built (auto: per layer where the model allows)"
    )
    cg_max_iterations: int = Field(30, ge=1, description="CG iterations at most (solver cg)")
    cg_tol: float = Field(1e-6, ge=0, description="CG residual tolerance (solver cg)")
    cg_tol_kind: Literal["relative", "absolute"] = Field(
        "relative", description="cg_tol relative to ||r||, or absolute"
    )
    traced: ClassVar = ("learning_rate", "damping")
    needs: ClassVar = frozenset({"residuals"})
    hint: ClassVar = _NEEDS_RESIDUALS

    def transformation(self):
        from core import optim

        return optim.levenberg_marquardt(
            self.learning_rate,
            _schedule(self.damping),
            solver=self.solver,
            gram=self.gram,
            cg_max_iterations=self.cg_max_iterations,
            cg_tol=self.cg_tol,
            cg_tol_kind=self.cg_tol_kind,
        )

    def mode_contraction(self, eigenvalues, convention, m):
        if isinstance(self.damping, LogLinear):
            return None
        from core import curvature

        return self.learning_rate * curvature.lm_mode_rate(eigenvalues, self.damping)


class GN(OptimizerKind):
    """Gauss-Newton with a pseudo-inverse cut-off on the eigenvalues of ``J J^T``."""

    kind: Literal["gn"]
    example: ClassVar[dict[str, Any]] = {"learning_rate": 0.5, "eps": 1e-6}
    learning_rate: float = Field(gt=0, description="step size")
    eps: float = Field(gt=0, description="eigenvalues of J J^T at or below it are dropped")
    cutoff: Literal["absolute", "relative"] = Field(
        "absolute", description="eps absolute, or relative to the largest eigenvalue"
    )
    solver: Literal["eigh", "svd"] = Field("eigh", description="how the pseudo-inverse is taken")
    traced: ClassVar = ("learning_rate", "eps")
    needs: ClassVar = frozenset({"residuals"})
    hint: ClassVar = _NEEDS_RESIDUALS

    def transformation(self):
        from core import optim

        return optim.gauss_newton(
            self.learning_rate, self.eps, cutoff=self.cutoff, solver=self.solver
        )

    def mode_contraction(self, eigenvalues, convention, m):
        from core import curvature

        return self.learning_rate * curvature.gn_mode_rate(eigenvalues, self.eps, self.cutoff)


class GGN(OptimizerKind):
    """Generalized Gauss-Newton for cross-entropy (App. B, C): the direction
    ``d = (mu I + (1/N) J^T H J)^{-1} g`` by CG (``H = diag(p) - p p^T`` per sample, matrix-free
    jvp -> H -> vjp), then ``theta <- theta - eta d`` with ``eta = learning_rate`` (``search:
    fixed``) or Armijo backtracking from ``learning_rate`` (``search: armijo``), then the
    decoupled weight decay ``theta <- theta - learning_rate * weight_decay * theta`` (AdamW's
    form; how the paper applies weight decay to GGN is not stated,
    docs/paper-notes.md#mnist-cross-entropy).

    Armijo tries ``eta_j = learning_rate tau^j``, ``j = 0 .. max_halvings``, and takes the first
    with ``L(theta - eta d) <= L(theta) - c eta g.d`` on the same batch. When none passes (the
    paper does not say), ``on_failure: smallest`` takes the last, smallest trial and ``skip``
    takes no step; ``search/accepted`` records which happened. CG stops at ``cg_max_iterations``
    or when ``||res|| <= cg_tol`` (``cg_tol_kind: absolute``) or ``<= cg_tol ||g||``
    (``relative``, the default: the paper's "residual threshold 1e-6" does not say which)."""

    kind: Literal["ggn"]
    example: ClassVar[dict[str, Any]] = {
        "learning_rate": 0.5,
        "damping": 1.0,
        "cg_max_iterations": 5,
    }
    learning_rate: float = Field(gt=0, description="step size (Armijo: the first trial)")
    damping: ScalarOrSchedule = Field(description="mu, a number or a log_linear schedule")
    weight_decay: float = Field(0.0, ge=0, description="decoupled weight decay")
    search: Literal["fixed", "armijo"] = Field("fixed", description="step-length rule")
    cg_max_iterations: int = Field(50, ge=1, description="CG iterations at most")
    cg_tol: float = Field(1e-6, ge=0, description="CG residual tolerance")
    cg_tol_kind: Literal["relative", "absolute"] = Field(
        "relative", description="cg_tol relative to ||g||, or absolute"
    )
    armijo_c: float = Field(1e-4, gt=0, lt=1, description="sufficient-decrease constant c")
    armijo_tau: float = Field(0.5, gt=0, lt=1, description="step shrink factor per trial")
    max_halvings: int = Field(10, ge=0, description="trials after the first")
    on_failure: Literal["smallest", "skip"] = Field(
        "smallest", description="when no trial passes: take the smallest, or no step"
    )
    traced: ClassVar = ("learning_rate", "damping", "weight_decay")
    needs: ClassVar = frozenset({"logits"})

    def transformation(self):
        from core import optim

        return optim.generalized_gauss_newton(
            self.learning_rate,
            _schedule(self.damping),
            search=self.search,
            weight_decay=self.weight_decay,
            cg_max_iterations=self.cg_max_iterations,
            cg_tol=self.cg_tol,
            cg_tol_kind=self.cg_tol_kind,
            armijo_c=self.armijo_c,
            armijo_tau=self.armijo_tau,
            max_halvings=self.max_halvings,
            on_failure=self.on_failure,
        )


class Switch(OptimizerKind):
    """``first`` for ``at`` steps, then ``second`` with a fresh state.

    ``first`` may name another optimizer of the spec instead (``first: ggn``): each cell then
    *continues* that optimizer's cell of the same sweep point and seed from its step ``at``, so
    the first ``at`` steps are not trained twice, and the two runs share them exactly. The run
    keeps the named cell's parameters at step ``at`` (``snapshot.npz`` in its folder); a switch
    cell that finds none (another engine ran it first, ``--only``, ``--check-robustness``)
    trains those steps itself, the same way, with the same numbers. Its metrics and records up
    to ``at`` are the named cell's, on this optimizer's evaluation grid
    (:func:`check_continuation` lists what must agree).
    """

    kind: Literal["switch"]
    example: ClassVar[dict[str, Any]] = {
        "first": {"kind": "gd", "learning_rate": 0.01},
        "second": {"kind": "adam", "learning_rate": 1e-3},
        "at": 1,
    }
    first: Optimizer | str = Field(
        description="the optimizer of steps 0 .. at - 1, or the name of another optimizer of "
        "the spec whose cells this one continues from their step `at`"
    )
    second: Optimizer = Field(description="the optimizer from step `at` on")
    at: int = Field(ge=1, description="the step of the switch")

    @model_validator(mode="after")
    def _no_inner_train(self) -> Switch:
        for side in ("first", "second"):
            inner = getattr(self, side)
            if not isinstance(inner, str) and inner.train is not None:
                raise ValueError(f"{side}.train: set train on the switch itself")
        return self

    @property
    def continues(self) -> str | None:
        """The optimizer whose cells this one continues, if ``first`` names one."""
        return self.first if isinstance(self.first, str) else None

    def transformation(self):
        from core import optim

        return optim.switch_at(self.first.transformation(), self.second.transformation(), self.at)

    def parts(self, path):
        first = [] if isinstance(self.first, str) else self.first.parts((*path, "first"))
        return [*first, *self.second.parts((*path, "second"))]

    def hyperparameters(self, prefix=""):
        return {
            **self.first.hyperparameters(f"{prefix}first."),
            **self.second.hyperparameters(f"{prefix}second."),
        }

    def structure(self):
        return self.model_copy(
            update={"first": self.first.structure(), "second": self.second.structure()}
        )

    def with_hyperparameters(self, h, prefix=""):
        return self.model_copy(
            update={
                "first": self.first.with_hyperparameters(h, f"{prefix}first."),
                "second": self.second.with_hyperparameters(h, f"{prefix}second."),
            }
        )


def check_continuation(
    name: str, switch: Switch, optimizers: Mapping[str, Any], train: Mapping[str, Any]
) -> None:
    """A switch whose ``first`` names optimizer ``D`` continues ``D``'s cells: ``D`` exists and
    is not itself a continuing switch; ``D`` runs at least ``at`` steps and evaluates at ``at``;
    the switch's evaluations up to ``at`` are some of ``D``'s (its ``eval_every`` a multiple of
    ``D``'s, ``at`` a multiple of its own); and the other train settings (batch size, precision)
    are the same, so that the shared steps are the same computation. ``train`` is the spec's
    ``train`` as a mapping. Raises :class:`SpecRuleError` at the key to change."""
    from runner.kinds.base import SpecRuleError

    donor_name = switch.continues
    if donor_name is None:
        return
    at_key = ("optimizers", name, "first")
    donor = optimizers.get(donor_name)
    if donor is None or donor_name == name:
        known = [n for n in optimizers if n != name]
        raise SpecRuleError(
            at_key,
            f"optimizers.{name}.first: {donor_name!r} is not another optimizer of the spec; "
            f"name one of {known} or write the optimizer out",
        )
    if isinstance(donor, Switch) and donor.continues:
        raise SpecRuleError(
            at_key,
            f"optimizers.{name}.first: {donor_name!r} itself continues {donor.continues!r}; "
            "continue a cell that trains from the start",
        )

    def effective(optimizer: Any) -> dict[str, Any]:
        override = optimizer.train.model_dump(exclude_none=True) if optimizer.train else {}
        return {**dict(train), **override}

    own, theirs = effective(switch), effective(donor)
    where = f"optimizers.{name}: continues {donor_name!r} at step {switch.at}"
    if theirs["steps"] < switch.at:
        raise SpecRuleError(
            ("optimizers", name, "at"),
            f"{where}, but {donor_name!r} runs only {theirs['steps']} steps",
        )
    if switch.at % theirs["eval_every"]:
        raise SpecRuleError(
            ("optimizers", name, "at"),
            f"{where}, which is not an evaluation step of {donor_name!r} (every "
            f"{theirs['eval_every']} steps); make `at` a multiple of {theirs['eval_every']}",
        )
    if own["eval_every"] % theirs["eval_every"] or switch.at % own["eval_every"]:
        raise SpecRuleError(
            ("optimizers", name, "train", "eval_every"),
            f"{where}: its eval_every ({own['eval_every']}) must be a multiple of that of "
            f"{donor_name!r} ({theirs['eval_every']}) and divide `at` ({switch.at}), so that "
            "its evaluations up to the switch are some of those it takes over",
        )

    def shown(value: Any) -> str:
        return "null" if value is None else str(value)

    for key in sorted(set(own) | set(theirs)):
        if key not in ("steps", "eval_every") and own.get(key) != theirs.get(key):
            raise SpecRuleError(
                ("optimizers", name, "train", key),
                f"{where}, but train.{key} differs ({shown(own.get(key))} here, "
                f"{shown(theirs.get(key))} for {donor_name!r}): the shared steps would not be "
                "the same computation",
            )


OPTIMIZER_KINDS: tuple[type[OptimizerKind], ...] = (GD, Adam, AdamW, LM, GN, GGN, Switch)

Optimizer = Annotated[Union[OPTIMIZER_KINDS], Field(discriminator="kind")]  # noqa: UP007
Switch.model_rebuild()
