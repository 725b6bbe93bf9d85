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

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
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
    timings: dict[str, float] = field(default_factory=dict)
    perturbation: dict[str, Any] | None = None  # what was applied (``perturbation=``), as JSON


def run_cell(
    params_config: dict[str, Any],
    on_chunk: Callable[[int], None] | None = None,
    *,
    perturbation: dict[str, Any] | None = None,
):
    """Train one cell described by its resolved parameters and return its :class:`CellOutcome`.

    ``perturbation`` (off by default; ``--check-robustness``): ``{"kind": "rounding", "key":
    int}`` multiplies every floating-point leaf of the initial parameters by ``1 + eps u``, ``u``
    uniform in [-1, 1] drawn from ``key`` and ``eps`` the machine epsilon of the leaf's dtype,
    right after they are built: a change in the last bits, as another machine's BLAS rounding
    would make. The outcome's ``perturbation`` records it with ``eps`` and ``dtype``."""
    precision = params_config["train"]["precision"]
    with jax.enable_x64(precision == "float64"):
        return _run_cell(params_config, on_chunk, perturbation)


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


def _run_cell(
    config: dict[str, Any],
    on_chunk: Callable[[int], None] | None,
    perturbation: dict[str, Any] | None = None,
) -> CellOutcome:
    start = time.perf_counter()
    kinds, problem, objective, params = build(config)
    applied = None
    if perturbation is not None:
        if perturbation.get("kind", ROUNDING) != ROUNDING:
            raise ValueError(f"unknown perturbation {perturbation!r}; known: {ROUNDING!r}")
        params, applied = perturb_at_rounding(params, int(perturbation["key"]))
    loss, optimizer, metrics = kinds.loss, kinds.optimizer, kinds.metrics
    key_batches = jax.random.split(jax.random.PRNGKey(config["seed"]), 3)[2]
    train_cfg = config["train"]
    n = problem.train_data[0].shape[0]
    sampler = training.BatchSampler.shuffled(
        n, min(train_cfg.get("batch_size") or n, n), key_batches
    )
    dtype = jax.tree.leaves(params)[0].dtype
    hparams = {k: jnp.asarray(v, dtype) for k, v in optimizer.hyperparameters().items()}

    if loss.kind == "cross_entropy":  # no residuals: one loss term per sample
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
    if any(metric.uses_initial_gram for metric in metrics):
        gram0 = gram(objective, params, problem.train_data)
        eigen = curvature.GramEigen.of(gram0)
        eigenvalues = eigen.eigenvalues[::-1]  # largest first: mode 0 is the stiffest
        eval_data["gram0"] = gram0
        eval_data["eigenvectors0"] = eigen.eigenvectors[:, ::-1]
        contraction = optimizer.mode_contraction(eigenvalues, loss.residual_convention, m)
        eval_data["lemma_rate"] = (
            jnp.full_like(eigenvalues, jnp.nan)
            if contraction is None
            else -jnp.log(jnp.abs(1.0 - contraction))
        )

    result = training.train(
        objective,
        factory(optimizer.structure()),
        params,
        problem.train_data,
        steps=train_cfg["steps"],
        eval_every=train_cfg["eval_every"],
        evaluate=evaluator(metrics, problem.grid_shape),
        eval_data=eval_data,
        sampler=sampler,
        hparams=hparams,
        on_chunk=on_chunk,
    )
    diverged = int(result.diverged_at)
    groups = {metric.key: metric.groups(problem.grid_shape, m) for metric in metrics}
    return CellOutcome(
        eval_steps=np.asarray(result.eval_steps),
        metrics={k: np.asarray(v) for k, v in result.evaluations.items()},
        groups={key: labels for key, labels in groups.items() if labels is not None},
        records={k: np.asarray(v) for k, v in result.records.items()},
        diverged_at=diverged if diverged >= 0 else None,
        steps_done=result.steps_done,
        wall_seconds=time.perf_counter() - start,
        timings=result.timings,
        perturbation=applied,
    )


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
