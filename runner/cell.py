"""One cell: build the core objects from its resolved parameters, train, return its metrics.

A cell's parameters are plain JSON (see :mod:`runner.plan`): ``task``, ``model``, ``loss``,
``optimizer`` (with its ``name``), ``train``, ``metrics`` and ``seed``. Nothing here does linear
algebra; it assembles :mod:`core` objects and calls them.

Compile once per shape: scalar hyperparameters (learning rate, damping, GN cut-off, weight decay)
travel as arrays (``hparams``) into an optimizer *factory* that is cached by the optimizer's
structure, and the evaluation function is cached by the task and metric configuration, so cells
that differ only in seed or in those scalars reuse one compiled program per process.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from core import curvature, metrics, models, optim, pde, tasks, training, transformer
from core.objectives import LinearLeastSquares, MeanSquaredError, Objective, SoftmaxCrossEntropy
from runner.spec import metric_key

# Scalars that may change between cells without recompiling (per optimizer kind).
HYPERPARAMETERS = {
    "gd": ("learning_rate", "weight_decay"),
    "adam": ("learning_rate",),
    "adamw": ("learning_rate", "weight_decay"),
    "lm": ("learning_rate", "damping"),
    "gn": ("learning_rate", "eps"),
    "ggn": ("learning_rate", "damping", "weight_decay"),
}


# --- optimizers --------------------------------------------------------------------------------


def split_hyperparameters(config: dict[str, Any], prefix: str = "") -> tuple[dict, dict]:
    """``(structure, values)``: the config with its scalar hyperparameters replaced by names
    (``"$learning_rate"``, ``"$first.damping"``) and the values by those names."""
    structure: dict[str, Any] = {}
    values: dict[str, float] = {}
    names = HYPERPARAMETERS.get(config.get("kind", ""), ())
    for key, value in config.items():
        path = f"{prefix}{key}"
        if key in names and isinstance(value, (int, float)) and not isinstance(value, bool):
            structure[key] = f"${path}"
            values[path] = float(value)
        elif isinstance(value, dict):
            structure[key], inner = split_hyperparameters(value, f"{path}.")
            values.update(inner)
        else:
            structure[key] = value
    return structure, values


def _warmed_up(learning_rate: Any, warmup_steps: int) -> Any:
    """``lr min(1, (i + 1) / warmup_steps)`` at step ``i``; the constant ``lr`` without warm-up."""
    if not warmup_steps:
        return learning_rate
    return lambda count: learning_rate * jnp.minimum(1.0, (count + 1) / warmup_steps)


def _schedule(value: Any) -> Any:
    if isinstance(value, dict) and value.get("kind") == "log_linear":
        return optim.log_linear(value["start"], value["end"], value["steps"])
    return value


def transformation(config: dict[str, Any], h: dict[str, Any]) -> optax.GradientTransformation:
    """The optax transformation of an optimizer config whose ``$name`` entries come from ``h``."""

    def get(key: str) -> Any:
        value = config[key]
        return h[value[1:]] if isinstance(value, str) and value.startswith("$") else value

    kind = config["kind"]
    if kind == "gd":
        sgd = optax.sgd(get("learning_rate"), momentum=config.get("momentum"))
        if config.get("weight_decay") is None:
            return sgd
        return optax.chain(optax.add_decayed_weights(get("weight_decay")), sgd)
    if kind == "adam":
        return optax.adam(
            _warmed_up(get("learning_rate"), config.get("warmup_steps", 0)),
            b1=config["b1"],
            b2=config["b2"],
            eps=config["eps"],
        )
    if kind == "adamw":
        return optax.adamw(
            _warmed_up(get("learning_rate"), config.get("warmup_steps", 0)),
            b1=config["b1"],
            b2=config["b2"],
            eps=config["eps"],
            weight_decay=get("weight_decay"),
        )
    if kind == "lm":
        return optim.levenberg_marquardt(
            get("learning_rate"),
            _schedule(get("damping")),
            solver=config["solver"],
            gram=config["gram"],
            cg_max_iterations=config["cg_max_iterations"],
            cg_tol=config["cg_tol"],
            cg_tol_kind=config["cg_tol_kind"],
        )
    if kind == "gn":
        return optim.gauss_newton(
            get("learning_rate"), get("eps"), cutoff=config["cutoff"], solver=config["solver"]
        )
    if kind == "ggn":
        lr = get("learning_rate")
        search = (
            optim.fixed_step(lr)
            if config["search"] == "fixed"
            else optim.armijo_backtracking(
                lr,
                c=config["armijo_c"],
                tau=config["armijo_tau"],
                max_halvings=config["max_halvings"],
                on_failure=config.get("on_failure", "smallest"),
            )
        )
        return optax.chain(
            optim.scale_by_generalized_gauss_newton(
                _schedule(get("damping")),
                cg_max_iterations=config["cg_max_iterations"],
                cg_tol=config["cg_tol"],
                cg_tol_kind=config["cg_tol_kind"],
            ),
            search,
            # decoupled weight decay after the step: theta <- theta - lr * wd * theta
            optax.add_decayed_weights(-lr * get("weight_decay")),
        )
    if kind == "switch":
        # the inner configs name their scalars by full path ("$first.learning_rate"), so both
        # sides read the same ``h``
        return optim.switch_at(
            transformation(config["first"], h),
            transformation(config["second"], h),
            config["at"],
        )
    raise ValueError(f"unknown optimizer kind {kind!r}")


@functools.cache
def optimizer_factory(
    structure_json: str,
) -> Callable[[dict[str, Any]], optax.GradientTransformation]:
    """One factory object per optimizer structure, so jit caches hit across cells."""
    structure = json.loads(structure_json)

    def factory(h: dict[str, Any]) -> optax.GradientTransformation:
        return transformation(structure, h)

    return factory


# --- task, model, objective --------------------------------------------------------------------


@dataclass
class Problem:
    """Training data, evaluation data and the metric grid for one cell.

    ``eval_data`` is the set the evaluation metrics use (the task grid for regressions, a held-out
    grid with the exact solution for the PINN); ``grid_shape`` is its grid (``()``: none).
    """

    train_data: tuple[Any, Any]
    grid_shape: tuple[int, ...]
    output_dim: int
    eval_data: tuple[Any, Any] | None = None
    linear: tasks.LinearProblem | None = None
    teacher: Any = None  # the polynomial task's beta (its target formula's parameter)
    tokens: tasks.SequenceTask | None = None  # a token task's readout positions and vocabulary

    @property
    def evaluation(self) -> tuple[Any, Any]:
        return self.train_data if self.eval_data is None else self.eval_data


def build_problem(task: dict[str, Any], key: jax.Array) -> Problem:
    kind = task["kind"]
    if kind == "regression_1d":
        data = tasks.regression_1d(task["points"])
        return Problem((data.inputs, data.targets), data.grid_shape, 1)
    if kind == "regression_2d":
        data = tasks.regression_2d(task["points_per_side"])
        return Problem((data.inputs, data.targets), data.grid_shape, 1)
    if kind == "random_jacobian":
        linear = tasks.random_jacobian(
            key, task["residuals"], task["parameters"], task["singular_max"], task["singular_min"]
        )
        rows = jnp.zeros((task["residuals"], 1))  # the linear objective ignores its inputs
        return Problem((rows, linear.targets[:, None]), (), 1, linear=linear)
    if kind == "poisson":
        poisson = pde.poisson_square(
            key,
            task["n"],
            task["m"],
            interior=task["interior"],
            boundary_per_edge=task["boundary_per_edge"],
            grid_points_per_side=task["grid_points_per_side"],
        )
        return Problem(
            (poisson.points, poisson.flags),
            poisson.grid_shape,
            1,
            eval_data=(poisson.grid, poisson.grid_solution),
        )
    if kind == "modular_addition":
        split_key = key if task["split_seed"] is None else jax.random.PRNGKey(task["split_seed"])
        data = tasks.modular_addition(task["modulus"], task["train_fraction"], split_key)
        return _split_problem(data)
    if kind == "modular_addition_tokens":
        split_key = key if task["split_seed"] is None else jax.random.PRNGKey(task["split_seed"])
        sequences = tasks.modular_addition_sequences(
            task["modulus"], task["train_fraction"], split_key, task["loss_positions"]
        )
        problem = _split_problem(sequences.data)
        problem.tokens = sequences
        return problem
    if kind == "polynomial":
        data_key = key if task["data_seed"] is None else jax.random.PRNGKey(task["data_seed"])
        data, beta = tasks.polynomial_teacher(
            data_key, task["dimension"], task["train"], task["test"]
        )
        return _split_problem(data, teacher=beta)
    if kind == "mnist":
        arrays = mnist_data(json.dumps(task, sort_keys=True))
        return _split_problem(tasks.SplitData(*(jnp.asarray(a) for a in arrays)))
    raise ValueError(f"unknown task kind {kind!r}")


@functools.cache
def mnist_data(task_json: str) -> tuple[np.ndarray, ...]:
    """The task's MNIST split as numpy arrays ``(x_train, y_train, x_test, y_test)``, one-hot
    targets (read once per process and task configuration)."""
    from core import mnist

    task = json.loads(task_json)
    source = mnist.locate(task["source"], task["path"])
    split = mnist.load_split(source, task["train"], task["test"], task["split_seed"])
    return (
        mnist.features(split.train.images, task["pool"]),
        mnist.one_hot(split.train.labels),
        mnist.features(split.test.images, task["pool"]),
        mnist.one_hot(split.test.labels),
    )


def _split_problem(data: tasks.SplitData, teacher: Any = None) -> Problem:
    return Problem(
        (data.train_inputs, data.train_targets),
        (),
        data.train_targets.shape[1],
        eval_data=(data.test_inputs, data.test_targets),
        teacher=teacher,
    )


def build_model(model: dict[str, Any], problem: Problem, key: jax.Array) -> Any:
    inputs, _ = problem.train_data
    if model["kind"] == "transformer":
        if problem.tokens is None:
            raise ValueError("model 'transformer' needs a token task (modular_addition_tokens)")
        # the spec's fields (layers, d_model, heads, d_ffn, norm, use_bias, positions) are the
        # constructor's keywords
        return transformer.make_transformer(
            key,
            vocab_size=problem.tokens.vocab_size,
            sequence_length=problem.tokens.sequence_length,
            readout=problem.tokens.readout,
            **{name: value for name, value in model.items() if name != "kind"},
        )
    if model["kind"] == "mean_field":
        if problem.output_dim != 1:
            raise ValueError("model 'mean_field' has one output; the task has more")
        net = models.make_mean_field(key, inputs.shape[1], model["width"], model["epsilon"])
        return models.CenteredModel.around(net, model["alpha"])
    sizes = (inputs.shape[1], *model["hidden"], problem.output_dim)
    net: Any = models.make_mlp(
        key,
        sizes,
        activation=model["activation"],
        initializer=model["initializer"],
        bias_init=model["bias_init"],
        use_bias=model["use_bias"],
        parametrisation=model["parametrisation"],
        bias_scale=model["bias_scale"],
        alpha=model["alpha"],
        alpha_scope=model["alpha_scope"],
        output_gain=model["output_gain"],
    )
    if model["linearized"]:
        net = models.LinearizedModel.around(net)
    if model.get("output_scale") is not None:
        net = models.CenteredModel.around(net, model["output_scale"])
    return net


def build_objective(params_config: dict[str, Any], problem: Problem, key: jax.Array):
    """``(objective, params)`` for the cell's model and loss."""
    convention = params_config["loss"].get("convention", "loss")
    scale = params_config["loss"].get("scale", 1.0)
    if params_config["model"]["kind"] == "linear":
        if problem.linear is None:
            raise ValueError("model 'linear' needs the random_jacobian task")
        objective = LinearLeastSquares(
            static=None,
            jacobian=problem.linear.jacobian,
            targets=problem.linear.targets,
            convention=convention,
        )
        return objective, jnp.zeros(problem.linear.jacobian.shape[1])
    if problem.linear is not None:
        raise ValueError("the random_jacobian task needs model kind 'linear'")
    params, static = models.partition_trainable(build_model(params_config["model"], problem, key))
    if params_config["loss"]["kind"] == "pinn":
        return pde.PoissonResidual(static, convention=convention), params
    if params_config["loss"]["kind"] == "cross_entropy":
        return SoftmaxCrossEntropy(static), params
    return MeanSquaredError(static, convention=convention, scale=scale), params


# --- metrics -----------------------------------------------------------------------------------

GRAM_METRICS = {"mode_error", "lemma_rate", "ntk_spectrum", "ntk_change"}


def _gram(objective: Objective, params: Any, batch: Any) -> jax.Array:
    extra = objective.extra_args(params, batch)
    op = curvature.JacobianOperator(extra["residual_fn"], params)
    return curvature.build_gram(op, gram_fn=extra.get("gram_fn"))


def _residual(objective: Objective, params: Any, batch: Any) -> jax.Array:
    return objective.extra_args(params, batch)["residual_fn"](params)


def _count(config: dict[str, Any], available: int) -> int:
    return available if config.get("modes") is None else min(config["modes"], available)


def metric_groups(metric_configs: list[dict], grid_shape: tuple[int, ...], m: int) -> dict:
    """Group labels of every grouped metric."""
    groups: dict[str, list[str]] = {}
    for config in metric_configs:
        kind, key = config["kind"], metric_key(config)
        if kind == "fft_error":
            if len(grid_shape) == 2:
                rows, cols = metrics.lowest_modes_2d(grid_shape, config["modes"], half_plane=True)
                kx = np.fft.fftfreq(grid_shape[0]) * grid_shape[0]
                ky = np.fft.fftfreq(grid_shape[1]) * grid_shape[1]
                groups[key] = [
                    f"{int(kx[r])},{int(ky[c])}"
                    for r, c in zip(np.asarray(rows), np.asarray(cols), strict=False)
                ]
            else:
                groups[key] = [str(i) for i in range(config["modes"])]
        elif kind in GRAM_METRICS - {"ntk_change"}:
            groups[key] = [str(i) for i in range(_count(config, m))]
    return groups


@functools.cache
def evaluator(metrics_json: str, grid_shape: tuple[int, ...]) -> Callable[..., dict[str, Any]]:
    """``evaluate(objective, params, eval_data) -> {metric: value}``, one object per configuration
    (so ``jit`` compiles it once per shape)."""
    metric_configs = json.loads(metrics_json)
    modes_2d = None
    for config in metric_configs:
        if config["kind"] == "fft_error" and len(grid_shape) == 2:
            modes_2d = metrics.lowest_modes_2d(grid_shape, config["modes"], half_plane=True)

    def evaluate(objective: Objective, params: Any, data: dict[str, Any]) -> dict[str, Any]:
        on_eval = (data["inputs"], data["targets"])
        # Traced once each: unused ones cost nothing (XLA drops dead code).
        predictions = {
            "eval": objective.predict(params, on_eval[0]),
            "train": objective.predict(params, data["train"][0]),
        }
        targets = {"eval": on_eval[1], "train": data["train"][1]}
        batch, prediction = on_eval, predictions["eval"]
        out: dict[str, Any] = {}
        for config in metric_configs:
            kind, key = config["kind"], metric_key(config)
            on = config.get("on", "eval")
            if kind == "mse":
                out[key] = metrics.mean_squared_error(predictions[on], targets[on])
            elif kind == "rel_l2":
                error = jnp.linalg.norm(predictions[on] - targets[on])
                out[key] = error / jnp.linalg.norm(targets[on])
            elif kind == "accuracy":
                out[key] = metrics.accuracy(predictions[on], targets[on])
            elif kind == "ray_fft_error":
                out[key] = _ray_fft_error(config, objective, params, data)
            elif kind == "train_loss":
                out[key] = objective.loss(params, data["train"])
            elif kind == "objective":
                out[key] = objective.loss(
                    params, (data["inputs"], data["targets"]) if on == "eval" else data["train"]
                )
            elif kind == "fft_error":
                if len(grid_shape) == 2:
                    error = metrics.fft_mode_error_2d(
                        batch[1][:, 0].reshape(grid_shape), prediction[:, 0].reshape(grid_shape)
                    )
                    out[key] = error[modes_2d]
                else:
                    target, pred = batch[1][:, 0], prediction[:, 0]
                    out[key] = metrics.fft_mode_error(target, pred, jnp.arange(config["modes"]))
            elif kind == "mode_error":
                projected = data["eigenvectors0"].T @ _residual(objective, params, data["train"])
                out[key] = jnp.abs(projected)[: _count(config, projected.shape[0])]
            elif kind == "lemma_rate":
                out[key] = data["lemma_rate"][: _count(config, data["lemma_rate"].shape[0])]
            elif kind == "ntk_spectrum":
                spectrum = metrics.ntk_spectrum(_gram(objective, params, data["train"]))
                out[key] = spectrum[: _count(config, spectrum.shape[0])]
            elif kind == "weight_norm":
                out[key] = metrics.weight_norm(params)
            elif kind == "param_distance":
                out[key] = metrics.relative_distance(params, data["params0"])
            elif kind == "ntk_change":
                out[key] = metrics.relative_distance(
                    _gram(objective, params, data["train"]), data["gram0"]
                )
        return out

    return evaluate


def _ray_fft_error(
    config: dict[str, Any], objective: Objective, params: Any, data: dict[str, Any]
) -> jax.Array:
    """Fig. 6 (right): the (centred) model's residual against the teacher along a ray."""
    inputs = data["train"][0]
    if config["ray"] == "train_point":
        direction = inputs[min(config["index"], inputs.shape[0] - 1)]
    else:
        direction = jnp.ones(inputs.shape[1], inputs.dtype)

    def residual(xs: jax.Array) -> jax.Array:
        return (
            objective.predict(params, xs)[:, 0] - tasks.polynomial_target(xs, data["teacher"])[:, 0]
        )

    error = metrics.ray_fft_error(residual, direction, num_points=config["points"])
    if config["bin"] == "nyquist":
        return error[config["points"] // 2]
    return jnp.max(error[1 : config["points"] // 2 + 1])


def lemma_rates(
    optimizer: dict[str, Any], eigenvalues: jax.Array, convention: str, m: int
) -> jax.Array:
    """Per-mode rates ``-ln|1 - lr map(lambda)|`` the lemmas predict (NaN where they do not
    apply: schedules, switches, adaptive methods).

    ``eigenvalues`` belong to the objective's residual convention; GD follows the gradient of
    the mean loss, whose kernel is ``(2/m) K_raw``, so its map rescales them to that convention.
    """
    kind = optimizer["kind"]
    lr = optimizer.get("learning_rate", jnp.nan)
    if kind == "gd" and optimizer.get("momentum") is None:
        scale_sq = 2.0 / m if convention == "loss" else 1.0
        per_step = lr * eigenvalues * (2.0 / m) / scale_sq
    elif kind == "lm" and not isinstance(optimizer["damping"], dict):
        per_step = lr * curvature.lm_mode_rate(eigenvalues, optimizer["damping"])
    elif kind == "gn":
        per_step = lr * curvature.gn_mode_rate(eigenvalues, optimizer["eps"], optimizer["cutoff"])
    else:
        return jnp.full_like(eigenvalues, jnp.nan)
    return -jnp.log(jnp.abs(1.0 - per_step))


# --- running -----------------------------------------------------------------------------------


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


def run_cell(params_config: dict[str, Any], on_chunk: Callable[[int], None] | None = None):
    """Train one cell described by its resolved parameters and return its :class:`CellOutcome`."""
    precision = params_config["train"]["precision"]
    with jax.enable_x64(precision == "float64"):
        return _run_cell(params_config, on_chunk)


def _run_cell(config: dict[str, Any], on_chunk: Callable[[int], None] | None) -> CellOutcome:
    start = time.perf_counter()
    key_task, key_model, key_batches = jax.random.split(jax.random.PRNGKey(config["seed"]), 3)
    problem = build_problem(config["task"], key_task)
    objective, params = build_objective(config, problem, key_model)
    train_cfg = config["train"]
    n = problem.train_data[0].shape[0]
    batch_size = train_cfg.get("batch_size") or n
    sampler = training.BatchSampler.shuffled(n, min(batch_size, n), key_batches)

    optimizer_cfg = {k: v for k, v in config["optimizer"].items() if k != "name"}
    structure, values = split_hyperparameters(optimizer_cfg)
    factory = optimizer_factory(json.dumps(structure, sort_keys=True))
    dtype = jax.tree.leaves(params)[0].dtype
    hparams = {name: jnp.asarray(value, dtype) for name, value in values.items()}

    metric_configs = config["metrics"]
    if isinstance(objective, SoftmaxCrossEntropy):  # no residuals: one loss term per sample
        m = int(problem.train_data[1].shape[0])
    else:
        m = jax.eval_shape(lambda p: _residual(objective, p, problem.train_data), params).shape[0]
    eval_data: dict[str, Any] = {
        "inputs": problem.evaluation[0],
        "targets": problem.evaluation[1],
        "train": problem.train_data,
        "params0": params,
    }
    if problem.teacher is not None:
        eval_data["teacher"] = problem.teacher
    kinds = {c["kind"] for c in metric_configs}
    if kinds & GRAM_METRICS:
        gram0 = _gram(objective, params, problem.train_data)
        eigen = curvature.GramEigen.of(gram0)
        eigenvalues = eigen.eigenvalues[::-1]  # largest first: mode 0 is the stiffest
        eval_data["gram0"] = gram0
        eval_data["eigenvectors0"] = eigen.eigenvectors[:, ::-1]
        eval_data["lemma_rate"] = lemma_rates(
            optimizer_cfg, eigenvalues, config["loss"]["convention"], m
        )
    evaluate = evaluator(json.dumps(metric_configs, sort_keys=True), problem.grid_shape)

    result = training.train(
        objective,
        factory,
        params,
        problem.train_data,
        steps=train_cfg["steps"],
        eval_every=train_cfg["eval_every"],
        evaluate=evaluate,
        eval_data=eval_data,
        sampler=sampler,
        hparams=hparams,
        on_chunk=on_chunk,
    )
    diverged = int(result.diverged_at)
    return CellOutcome(
        eval_steps=np.asarray(result.eval_steps),
        metrics={k: np.asarray(v) for k, v in result.evaluations.items()},
        groups=metric_groups(metric_configs, problem.grid_shape, m),
        records={k: np.asarray(v) for k, v in result.records.items()},
        diverged_at=diverged if diverged >= 0 else None,
        steps_done=result.steps_done,
        wall_seconds=time.perf_counter() - start,
        timings=result.timings,
    )
