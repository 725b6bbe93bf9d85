"""One cell: build the core objects from its resolved parameters, train, return its metrics.

A cell's parameters are plain JSON (see :mod:`runner.plan`): ``task``, ``model``, ``loss``,
``optimizer`` (with its ``name``), ``train``, ``metrics`` and ``seed``. They are validated back
into their kinds (:mod:`runner.kinds`), and each kind builds its own core object: the task its
data, the model and loss the objective, the optimizer its transformation, each metric its value.
Nothing here does linear algebra.

Compile once per shape: the optimizer's traced scalars travel as arrays into a factory cached by
the optimizer's structure (:func:`runner.kinds.optimizers.factory`), and the evaluation function
is cached by the metrics and the grid, so cells that differ only in seed or in those scalars reuse
one compiled program per process.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from pydantic import TypeAdapter

from core import curvature, training
from runner.kinds.metrics import Evaluation, MetricKind, gram, residual
from runner.kinds.optimizers import factory
from runner.spec import Loss, Metric, Model, Optimizer, Task

_KINDS = {
    "task": TypeAdapter(Task),
    "model": TypeAdapter(Model),
    "loss": TypeAdapter(Loss),
    "optimizer": TypeAdapter(Optimizer),
    "metrics": TypeAdapter(list[Metric]),
}


@dataclass
class CellOutcome:
    eval_steps: np.ndarray
    metrics: dict[str, np.ndarray]
    groups: dict[str, list[str]]
    records: dict[str, np.ndarray]
    diverged_at: int | None
    steps_done: int
    wall_seconds: float
    timings: dict[str, Any] = field(default_factory=dict)
    perturbation: dict[str, Any] | None = None  # what was applied (``perturbation=``), as JSON
    # step -> the parameters' leaves after it, kept for the cells that continue this one
    snapshots: dict[int, list[np.ndarray]] = field(default_factory=dict)
    continued_from: str | None = None  # the donor cell whose kept parameters it started from


class Paused(Exception):
    """A cell stopped at its deadline between two chunks: ``phases`` (name ->
    :class:`core.training.TrainResult`, the last one stopped) are what it trained so far, to be
    kept (:func:`runner.store.write_paused`) and resumed; ``wall_seconds`` its time so far."""

    def __init__(self, phases: dict[str, training.TrainResult], wall_seconds: float):
        super().__init__(f"paused in phase {list(phases)[-1]!r}")
        self.phases = phases
        self.wall_seconds = wall_seconds

    @property
    def steps_done(self) -> int:
        return max(result.end_step for result in self.phases.values())


def run_cell(
    params_config: dict[str, Any],
    on_chunk: Callable[[int], None] | None = None,
    *,
    perturbation: dict[str, Any] | None = None,
    snapshots: tuple[int, ...] = (),
    donor_dir: Path | None = None,
    deadline: float | None = None,
    paused: tuple[dict[str, training.TrainResult], float] | None = None,
):
    """Train one cell described by its resolved parameters and return its :class:`CellOutcome`.

    ``perturbation`` (off by default; ``--check-robustness``): ``{"kind": "rounding", "key":
    int}`` multiplies every floating-point leaf of the initial parameters by ``1 + eps u``, ``u``
    uniform in [-1, 1] drawn from ``key`` and ``eps`` the machine epsilon of the leaf's dtype,
    right after they are built: a change in the last bits, as another machine's BLAS rounding
    would make. The outcome's ``perturbation`` records it with ``eps`` and ``dtype``.

    ``snapshots``: steps after which to keep the parameters (for the cells that continue this
    one). ``donor_dir``: the folder of the cell a continuing switch continues (where to look for
    its kept parameters; see :class:`runner.kinds.optimizers.Switch`).

    ``deadline`` (``time.time()`` seconds, ``runner run --time-limit``): a training phase that
    passes it stops after its current chunk and the cell raises :class:`Paused`. ``paused``
    (:func:`runner.store.read_paused`): what a paused run of this cell kept; its finished phases
    are taken as they are and its stopped phase continues where it stopped, so the outcome is
    the one an uninterrupted run gives."""
    precision = params_config["train"]["precision"]
    with jax.enable_x64(precision == "float64"):
        return _run_cell(
            params_config, on_chunk, perturbation, tuple(snapshots), donor_dir, deadline, paused
        )


ROUNDING = "rounding"  # the perturbation kind run_cell knows


def perturb_at_rounding(params: Any, key: int) -> tuple[Any, dict[str, Any]]:
    """``params`` with every floating-point leaf multiplied by ``1 + eps u`` (``u`` uniform in
    [-1, 1], one key per leaf from ``key``; ``eps`` the dtype's machine epsilon), and the record
    of what was done."""
    leaves, treedef = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.PRNGKey(key), max(len(leaves), 1))
    out, dtypes = [], set()
    for leaf, leaf_key in zip(leaves, keys, strict=False):
        if isinstance(leaf, jax.Array | np.ndarray) and jnp.issubdtype(leaf.dtype, jnp.floating):
            eps = jnp.finfo(leaf.dtype).eps
            u = jax.random.uniform(leaf_key, leaf.shape, leaf.dtype, -1.0, 1.0)
            leaf = leaf * (1 + eps * u)
            dtypes.add(str(leaf.dtype))
        out.append(leaf)
    record = {
        "kind": ROUNDING,
        "key": key,
        "dtype": ", ".join(sorted(dtypes)),
        "eps": {name: float(jnp.finfo(name).eps) for name in sorted(dtypes)},
        "applied_to": "initial parameters",
    }
    return jax.tree.unflatten(treedef, out), record


@dataclass(frozen=True)
class CellKinds:
    """A cell's parameters validated back into their kinds."""

    task: Any
    model: Any
    loss: Any
    optimizer: Any
    metrics: tuple[MetricKind, ...]

    @classmethod
    def of(cls, config: dict[str, Any]) -> CellKinds:
        optimizer = {k: v for k, v in config["optimizer"].items() if k != "name"}
        return cls(
            _KINDS["task"].validate_python(config["task"]),
            _KINDS["model"].validate_python(config["model"]),
            _KINDS["loss"].validate_python(config["loss"]),
            _KINDS["optimizer"].validate_python(optimizer),
            tuple(_KINDS["metrics"].validate_python(config["metrics"])),
        )


def build(config: dict[str, Any]) -> tuple[CellKinds, Any, Any, Any]:
    """``(kinds, problem, objective, params)`` of a cell, from the keys its seed gives."""
    kinds = CellKinds.of(config)
    key_task, key_model, _ = jax.random.split(jax.random.PRNGKey(config["seed"]), 3)
    problem = kinds.task.build(key_task)
    objective, params = kinds.model.objective(kinds.loss, problem, key_model)
    return kinds, problem, objective, params


@dataclass
class _Setup:
    """What every training phase of a cell shares: its kinds, objective, initial parameters,
    data, batch order and evaluation inputs."""

    kinds: CellKinds
    problem: Any
    objective: Any
    params: Any
    sampler: Any
    m: int
    eval_data: dict[str, Any]
    applied: dict[str, Any] | None
    deadline: float | None = None
    # a paused run's phases (read back) and this run's, by phase name (see run_cell)
    kept: dict[str, training.TrainResult] = field(default_factory=dict)
    phases: dict[str, training.TrainResult] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    earlier_seconds: float = 0.0  # the wall seconds of the paused runs before this one

    def seconds(self) -> float:
        """The cell's wall seconds, the paused runs' included."""
        return self.earlier_seconds + time.perf_counter() - self.started

    def eval_data_for(self, optimizer: Any) -> dict[str, Any]:
        """The evaluation inputs with ``optimizer``'s lemma rates (the metrics that compare
        measured mode rates with the lemmas read them)."""
        if "eigenvalues0" not in self.eval_data:
            return self.eval_data
        eigenvalues = self.eval_data["eigenvalues0"]
        contraction = optimizer.mode_contraction(
            eigenvalues, self.kinds.loss.residual_convention, self.m
        )
        rate = (
            jnp.full_like(eigenvalues, jnp.nan)
            if contraction is None
            else -jnp.log(jnp.abs(1.0 - contraction))
        )
        return {**self.eval_data, "lemma_rate": rate}

    def train(
        self,
        optimizer: Any,
        params: Any,
        *,
        phase: str = "main",
        lemmas_of: Any = None,
        **options: Any,
    ) -> training.TrainResult:
        """Train with ``optimizer`` from ``params`` (``options``: steps, eval_every,
        start_step, evaluate_first, snapshot_at, on_chunk), compiled once per structure; the
        metrics' lemma rates are those of ``lemmas_of`` (default: ``optimizer``).

        ``phase`` names this training call within the cell: a paused run's result for it is
        taken (finished) or resumed (stopped); past the deadline it stops and the cell raises
        :class:`Paused`."""
        kept = self.kept.get(phase)
        if kept is not None and not kept.stopped:
            self.phases[phase] = kept
            return kept
        dtype = jax.tree.leaves(params)[0].dtype
        hparams = {k: jnp.asarray(v, dtype) for k, v in optimizer.hyperparameters().items()}
        deadline = self.deadline
        result = training.train(
            self.objective,
            factory(optimizer.structure()),
            params,
            self.problem.train_data,
            evaluate=evaluator(self.kinds.metrics, self.problem.grid_shape),
            eval_data=self.eval_data_for(lemmas_of or optimizer),
            sampler=self.sampler,
            hparams=hparams,
            stop_when=None if deadline is None else (lambda _: time.time() >= deadline),
            resume=kept,
            **options,
        )
        self.phases[phase] = result
        if result.stopped:
            raise Paused(dict(self.phases), self.seconds())
        return result


def _kept_phases(
    params: Any, phases: dict[str, training.TrainResult]
) -> dict[str, training.TrainResult]:
    """A paused run's phases with their parameters and snapshots back in ``params``' structure
    (the optimizer state stays a list of leaves: :func:`core.training.train` restores it)."""
    structure = jax.tree.structure(params)
    return {
        name: dataclasses.replace(
            result,
            params=jax.tree.unflatten(structure, result.params),
            snapshots={k: jax.tree.unflatten(structure, v) for k, v in result.snapshots.items()},
        )
        for name, result in phases.items()
    }


def _setup(config: dict[str, Any], perturbation: dict[str, Any] | None) -> _Setup:
    kinds, problem, objective, params = build(config)
    applied = None
    if perturbation is not None:
        if perturbation.get("kind", ROUNDING) != ROUNDING:
            raise ValueError(f"unknown perturbation {perturbation!r}; known: {ROUNDING!r}")
        params, applied = perturb_at_rounding(params, int(perturbation["key"]))
    key_batches = jax.random.split(jax.random.PRNGKey(config["seed"]), 3)[2]
    train_cfg = config["train"]
    n = problem.train_data[0].shape[0]
    sampler = training.BatchSampler.shuffled(
        n, min(train_cfg.get("batch_size") or n, n), key_batches
    )
    if kinds.loss.kind == "cross_entropy":  # no residuals: one loss term per sample
        m = int(problem.train_data[1].shape[0])
    else:
        m = jax.eval_shape(lambda p: residual(objective, p, problem.train_data), params).shape[0]
    eval_data: dict[str, Any] = {
        "inputs": problem.evaluation[0],
        "targets": problem.evaluation[1],
        "train": problem.train_data,
        "params0": params,
    }
    if problem.teacher is not None:
        eval_data["teacher"] = problem.teacher
    if any(metric.uses_initial_gram for metric in kinds.metrics):
        gram0 = gram(objective, params, problem.train_data)
        eigen = curvature.GramEigen.of(gram0)
        eval_data["gram0"] = gram0
        eval_data["eigenvalues0"] = eigen.eigenvalues[::-1]  # largest first: mode 0 the stiffest
        eval_data["eigenvectors0"] = eigen.eigenvectors[:, ::-1]
    return _Setup(kinds, problem, objective, params, sampler, m, eval_data, applied)


def _run_cell(
    config: dict[str, Any],
    on_chunk: Callable[[int], None] | None,
    perturbation: dict[str, Any] | None = None,
    snapshots: tuple[int, ...] = (),
    donor_dir: Path | None = None,
    deadline: float | None = None,
    paused: tuple[dict[str, training.TrainResult], float] | None = None,
) -> CellOutcome:
    start = time.perf_counter()
    setup = _setup(config, perturbation)
    setup.started, setup.deadline = start, deadline
    if paused is not None:
        setup.kept = _kept_phases(setup.params, paused[0])
        setup.earlier_seconds = paused[1]
    train_cfg = config["train"]
    if config.get("continues"):
        return _run_continuation(config, setup, on_chunk, donor_dir)
    result = setup.train(
        setup.kinds.optimizer,
        setup.params,
        steps=train_cfg["steps"],
        eval_every=train_cfg["eval_every"],
        on_chunk=on_chunk,
        snapshot_at=tuple(snapshots),
    )
    return _outcome(setup, result, setup.seconds())


def _outcome(
    setup: _Setup, result: training.TrainResult, wall_seconds: float, **changes: Any
) -> CellOutcome:
    diverged = int(result.diverged_at)
    groups = {
        metric.key: metric.groups(setup.problem.grid_shape, setup.m)
        for metric in setup.kinds.metrics
    }
    outcome = CellOutcome(
        eval_steps=np.asarray(result.eval_steps),
        metrics={k: np.asarray(v) for k, v in result.evaluations.items()},
        groups={key: labels for key, labels in groups.items() if labels is not None},
        records={k: np.asarray(v) for k, v in result.records.items()},
        diverged_at=diverged if diverged >= 0 else None,
        steps_done=result.steps_done,
        wall_seconds=wall_seconds,
        timings=result.timings,
        perturbation=setup.applied,
        snapshots={
            step: [np.asarray(leaf) for leaf in jax.tree.leaves(params)]
            for step, params in result.snapshots.items()
        },
    )
    return dataclasses.replace(outcome, **changes)


def _run_continuation(
    config: dict[str, Any],
    setup: _Setup,
    on_chunk: Callable[[int], None] | None,
    donor_dir: Path | None,
) -> CellOutcome:
    """A switch that continues its donor's cell (``continues``, :mod:`runner.plan`): the first
    ``at`` steps are the donor's, read from its folder when it kept its parameters at ``at``
    (and this cell is not perturbed), else trained here exactly as the donor trains them; then
    ``second`` from step ``at`` with a fresh state. Metrics up to ``at`` are the donor's on this
    cell's evaluation grid; records are both phases' (NaN where a phase has no such record) and
    ``switch/phase`` (0, then 1), as a switch in one program records them."""
    from runner import store

    continues, train_cfg = config["continues"], config["train"]
    at, donor_train = int(continues["at"]), continues["train"]
    switch = setup.kinds.optimizer
    prefix = None
    if donor_dir is not None and setup.applied is None:
        prefix = store.read_continuation(donor_dir, continues["hash"], at)
    timings: dict[str, Any] = {}
    continued_from = None
    if prefix is not None and "first" not in setup.kept:
        leaves, stored = prefix
        params = jax.tree.unflatten(jax.tree.structure(setup.params), leaves)
        first = _first_phase(stored, at)
        continued_from = donor_dir.name
    else:
        result = setup.train(
            switch.first,
            setup.params,
            phase="first",
            steps=at,
            eval_every=donor_train["eval_every"],
            on_chunk=on_chunk,
            snapshot_at=(at,),
        )
        first = _first_phase(
            {
                "eval/step": result.eval_steps,
                **{f"eval/{k}": v for k, v in result.evaluations.items()},
                **{f"train/{k}": v for k, v in result.records.items()},
            },
            at,
        )
        if at not in result.snapshots:  # diverged during the shared steps
            return _outcome(setup, result, setup.seconds(), snapshots={})
        params = result.snapshots[at]
        timings = dict(result.timings)
    second = setup.train(
        switch.second,
        params,
        phase="second",
        steps=train_cfg["steps"] - at,
        eval_every=train_cfg["eval_every"],
        on_chunk=on_chunk,
        start_step=at,
        evaluate_first=False,
        lemmas_of=switch,
    )
    keep = (first["eval/step"] % train_cfg["eval_every"] == 0) | (first["eval/step"] == at)
    eval_steps = np.concatenate([first["eval/step"][keep], second.eval_steps])
    metrics = {
        name: np.concatenate([first[f"eval/{name}"][keep], np.asarray(values)])
        for name, values in second.evaluations.items()
    }
    first_records = {k[len("train/") :]: v for k, v in first.items() if k.startswith("train/")}
    records = _joined_records(first_records, dict(second.records), at)
    diverged = int(second.diverged_at)
    outcome = _outcome(setup, second, setup.seconds())
    return dataclasses.replace(
        outcome,
        eval_steps=eval_steps,
        metrics=metrics,
        records=records,
        diverged_at=diverged if diverged >= 0 else None,
        steps_done=second.end_step,
        timings=_summed(timings, second.timings),
        snapshots={},
        continued_from=continued_from,
    )


def _summed(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Both phases' timings added up (the first phase's are empty when it was read, not run)."""
    return {k: first.get(k, 0) + second.get(k, 0) for k in {**first, **second}}


def _first_phase(arrays: dict[str, np.ndarray], at: int) -> dict[str, np.ndarray]:
    """The donor's arrays cut at step ``at``: evaluations at steps <= at, records of steps < at."""
    steps = np.asarray(arrays["eval/step"])
    upto = steps <= at
    out: dict[str, np.ndarray] = {"eval/step": steps[upto]}
    for name, values in arrays.items():
        if name.startswith("eval/") and name != "eval/step":
            out[name] = np.asarray(values)[upto]
        elif name.startswith("train/"):
            out[name] = np.asarray(values)[:at]
    return out


def _joined_records(
    first: dict[str, np.ndarray], second: dict[str, np.ndarray], at: int
) -> dict[str, np.ndarray]:
    """Per-step records of both phases, one array each; NaN where a phase lacks the record.
    ``switch/phase`` is 0 for the first ``at`` steps and 1 after, as :func:`core.optim.switch_at`
    records it."""
    n_second = len(next(iter(second.values()))) if second else 0
    joined: dict[str, np.ndarray] = {}
    for name in [*first, *(k for k in second if k not in first)]:
        present = [np.asarray(phase[name]) for phase in (first, second) if name in phase]
        dtype = np.result_type(*present)
        if len(present) == 1 and not np.issubdtype(dtype, np.floating):
            dtype = np.dtype(np.float32)  # a count or flag of one phase: NaN in the other
        parts = [
            np.asarray(phase[name], dtype) if name in phase else np.full(length, np.nan, dtype)
            for phase, length in ((first, at), (second, n_second))
        ]
        joined[name] = np.concatenate(parts)
    joined["switch/phase"] = np.concatenate([np.zeros(at, np.int32), np.ones(n_second, np.int32)])
    return joined


@functools.cache
def evaluator(
    metrics: tuple[MetricKind, ...], grid_shape: tuple[int, ...]
) -> Callable[..., dict[str, Any]]:
    """``evaluate(objective, params, eval_data) -> {metric: value}``, one object per configuration
    (so ``jit`` compiles it once per shape)."""

    def evaluate(objective: Any, params: Any, data: dict[str, Any]) -> dict[str, Any]:
        # Traced once each: unused ones cost nothing (XLA drops dead code).
        predictions = {
            "eval": objective.predict(params, data["inputs"]),
            "train": objective.predict(params, data["train"][0]),
        }
        targets = {"eval": data["targets"], "train": data["train"][1]}
        ev = Evaluation(objective, params, data, grid_shape, predictions, targets)
        return {metric.key: metric.value(ev) for metric in metrics}

    return evaluate
