"""Training loops: ``lax.scan`` over chunks of steps between evaluations, compiled once per shape.

One step (inside the scan, never a Python loop per step)::

    batch            = sampler.batch(data, step)
    value, grad      = value_and_grad(objective.loss)(params, batch)
    updates, state   = optimizer.update(grad, state, params, value=value, grad=grad,
                                        **objective.extra_args(params, batch))
    params           = params + updates
    record[step]     = {"loss": value, **collect_info(state)}

Between chunks of ``eval_every`` steps the host calls ``evaluate(objective, params)`` (jitted) and
checks for divergence: a non-finite loss stops a single run at the end of its chunk; a batched run
records the first non-finite step of each member and stops when all have diverged.

:func:`train_batched` runs ``R`` independent runs of one shape (seeds, scales, damping values) as
one vmapped program: parameters, the objective's arrays (e.g. a frozen reference model), the
sampler keys and the hyperparameters carry a leading run axis. Passing ``devices`` shards the run
axis across several XLA devices.

What ``benchmarks/training.py`` measured on the 2-core CPU (README, "Performance"): vmapping 4
small runs was no faster than running them one after the other (one scan keeps one core busy
either way), and with two XLA host devices
(``XLA_FLAGS=--xla_force_host_platform_device_count=2``) the LM programs that call LAPACK
(Cholesky, eigh) hung, while GD and CG-only programs ran but gained nothing. So sharding is opt-in
and off by default; use two processes (the runner's ``local`` engine) to occupy both cores, and
``train_batched`` on accelerators.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Array

from core.objectives import Objective
from core.optim.info import collect_info

OptimizerLike: TypeAlias = (
    optax.GradientTransformation | Callable[[Any], optax.GradientTransformation]
)
Evaluate = Callable[[Objective, Any, Any], dict[str, Array]]


class TrainState(eqx.Module):
    params: Any
    opt_state: Any
    step: Array


class BatchSampler(eqx.Module):
    """Full batch, or shuffled mini-batches without replacement.

    Mini-batches: epoch ``e`` uses ``permutation(fold_in(key, e), n)``; batch ``b`` of the epoch is
    entries ``[b B, (b + 1) B)`` of it; a last partial batch is dropped so shapes stay fixed.
    """

    num_examples: int = eqx.field(static=True)
    batch_size: int = eqx.field(static=True)
    key: Array | None

    @classmethod
    def full_batch(cls, num_examples: int) -> BatchSampler:
        return cls(num_examples, num_examples, None)

    @classmethod
    def shuffled(cls, num_examples: int, batch_size: int, key: Array) -> BatchSampler:
        if not 0 < batch_size <= num_examples:
            raise ValueError(f"batch_size must be in [1, {num_examples}], got {batch_size}")
        if batch_size == num_examples:
            return cls.full_batch(num_examples)
        return cls(num_examples, batch_size, key)

    def batch(self, data: Any, step: Array) -> Any:
        if self.key is None:
            return data
        per_epoch = self.num_examples // self.batch_size
        epoch, position = step // per_epoch, step % per_epoch
        order = jax.random.permutation(jax.random.fold_in(self.key, epoch), self.num_examples)
        indices = jax.lax.dynamic_slice(order, (position * self.batch_size,), (self.batch_size,))
        return jax.tree.map(lambda a: a[indices], data)


def _optimizer_for(optimizer: OptimizerLike, hparams: Any) -> optax.GradientTransformation:
    if isinstance(optimizer, optax.GradientTransformation):
        return optimizer
    return optimizer(hparams)


def _train_step(
    state: TrainState,
    objective: Objective,
    data: Any,
    hparams: Any,
    sampler: BatchSampler,
    optimizer: OptimizerLike,
) -> tuple[TrainState, dict[str, Array]]:
    tx = optax.with_extra_args_support(_optimizer_for(optimizer, hparams))
    batch = sampler.batch(data, state.step)
    with jax.named_scope("loss_and_grad"):  # the scopes name the parts in a profile
        value, grad = jax.value_and_grad(objective.loss)(state.params, batch)
    extra = objective.extra_args(state.params, batch)
    with jax.named_scope("update"):
        updates, opt_state = tx.update(
            grad, state.opt_state, state.params, value=value, grad=grad, **extra
        )
    params = optax.apply_updates(state.params, updates)
    record = {"loss": value, **collect_info(opt_state)}
    return TrainState(params, opt_state, state.step + 1), record


def _chunk(state, objective, data, hparams, sampler, optimizer, num_steps):
    def body(carry, _):
        return _train_step(carry, objective, data, hparams, sampler, optimizer)

    return jax.lax.scan(body, state, None, length=num_steps)


@eqx.filter_jit
def _run_chunk(state, objective, data, hparams, sampler, optimizer, num_steps):
    return _chunk(state, objective, data, hparams, sampler, optimizer, num_steps)


def _run_axes(objectives: Any) -> Any:
    """vmap axes of the objectives' leaves: the run axis 0 for arrays, except 0-d arrays (a
    :class:`core.models.Scale` shared by every run), which are broadcast."""
    return jax.tree.map(
        lambda leaf: (0 if leaf.ndim else None) if eqx.is_array(leaf) else None, objectives
    )


@eqx.filter_jit
def _run_chunk_batched(states, objectives, data, hparams, samplers, optimizer, num_steps):
    def one(state, objective, run_hparams, sampler):
        return _chunk(state, objective, data, run_hparams, sampler, optimizer, num_steps)

    axes = (eqx.if_array(0), _run_axes(objectives), eqx.if_array(0), eqx.if_array(0))
    return eqx.filter_vmap(one, in_axes=axes)(states, objectives, hparams, samplers)


@eqx.filter_jit
def _evaluate(evaluate, objective, params, eval_data):
    return evaluate(objective, params, eval_data)


@eqx.filter_jit
def _evaluate_batched(evaluate, objectives, params, eval_data):
    axes = (_run_axes(objectives), eqx.if_array(0))
    return eqx.filter_vmap(lambda o, p: evaluate(o, p, eval_data), in_axes=axes)(objectives, params)


@eqx.filter_jit
def _init_opt_state(optimizer, hparams, params):
    return _optimizer_for(optimizer, hparams).init(params)


@eqx.filter_jit
def _init_opt_state_batched(optimizer, hparams, params):
    return eqx.filter_vmap(lambda h, p: _optimizer_for(optimizer, h).init(p))(hparams, params)


class CompileClock:
    """Seconds JAX spends tracing, lowering and compiling (XLA) while the clock is entered, and
    the number of XLA compilations: the time spans ``jax.monitoring`` records for those three
    events, nested spans counted once. A program found in the in-memory cache records none; one
    read from JAX's persistent compilation cache counts as a compilation (its read is timed as
    one) and in ``cache_hits``.

    The listeners are process-wide: a compilation in another thread while the clock runs counts.
    """

    EVENTS = (
        "/jax/core/compile/jaxpr_trace_duration",
        "/jax/core/compile/jaxpr_to_mlir_module_duration",
        "/jax/core/compile/backend_compile_duration",
    )
    CACHE_HIT = "/jax/compilation_cache/cache_hits"

    def __init__(self) -> None:
        self._spans: list[tuple[float, float]] = []
        self.compilations = 0
        self.cache_hits = 0

    def _record(self, event: str, start_time: float, end_time: float, **_: str | int) -> None:
        if event in self.EVENTS:
            self._spans.append((start_time, end_time))
            self.compilations += event == self.EVENTS[-1]

    def _count(self, event: str, **_: str | int) -> None:
        self.cache_hits += event == self.CACHE_HIT

    def __enter__(self) -> CompileClock:
        jax.monitoring.register_event_time_span_listener(self._record)
        jax.monitoring.register_event_listener(self._count)
        return self

    def __exit__(self, *exc: object) -> None:
        jax.monitoring.unregister_event_time_span_listener(self._record)
        jax.monitoring.unregister_event_listener(self._count)

    def seconds(self) -> float:
        """Wall seconds covered by the spans so far (their union)."""
        total, reached = 0.0, -np.inf
        for start, end in sorted(self._spans):
            if end > reached:
                total += end - max(start, reached)
                reached = end
        return total


@dataclass
class TrainResult:
    """Everything a run produced, as host numpy arrays.

    ``records[name]`` has one entry per step (``(steps,)``; ``(runs, steps)`` when batched);
    ``evaluations[name]`` one per evaluation at ``eval_steps`` (step 0 included).
    ``diverged_at`` is the first step whose loss was not finite, or -1 (per run when batched).
    ``timings`` (seconds): ``compile_s`` tracing and compiling (:class:`CompileClock`, the
    optimizer's initial state included), ``compilations`` and how many of them came from JAX's
    persistent cache (``cache_hits``); ``train_s`` the training chunks and
    ``eval_s`` the evaluations, each without its compilation; ``total_s`` all of it;
    ``first_chunk_s`` the first chunk with its compilation.
    ``snapshots`` (``train(snapshot_at=(k, ...))``): step -> the parameters after it, on the
    host (none after the run diverged).
    Steps count from ``start_step`` (``train(start_step=...)``): ``eval_steps`` and
    ``diverged_at`` are absolute, ``steps_done`` is the number of steps run.
    ``stopped``: ``train(stop_when=...)`` ended the run before its last step; pass the result as
    ``train(resume=...)`` to finish it (``params`` and ``opt_state`` are where it stopped).
    """

    params: Any
    opt_state: Any
    records: dict[str, np.ndarray]
    eval_steps: np.ndarray
    evaluations: dict[str, np.ndarray]
    diverged_at: np.ndarray
    steps_done: int
    timings: dict[str, float] = field(default_factory=dict)
    snapshots: dict[int, Any] = field(default_factory=dict)
    start_step: int = 0
    stopped: bool = False

    @property
    def end_step(self) -> int:
        """The step after the last one run (absolute)."""
        return self.start_step + self.steps_done

    def then(self, later: TrainResult) -> TrainResult:
        """This (stopped) run joined with ``later``, the run that resumed it: one result, as if
        trained in one call (records and evaluations concatenated, timings added)."""
        if later.start_step != self.end_step:
            raise ValueError(f"a run resumed at step {later.start_step}, not {self.end_step}")
        records = {k: np.concatenate([self.records[k], later.records[k]]) for k in later.records}
        evaluations = {
            k: np.concatenate([self.evaluations[k], later.evaluations[k]])
            for k in later.evaluations
        }
        timings = {k: self.timings.get(k, 0) + later.timings.get(k, 0) for k in later.timings}
        if "first_chunk_s" in self.timings:  # the run's first chunk is this part's
            timings["first_chunk_s"] = self.timings["first_chunk_s"]
        return TrainResult(
            params=later.params,
            opt_state=later.opt_state,
            records=records,
            eval_steps=np.concatenate([self.eval_steps, later.eval_steps]),
            evaluations=evaluations,
            diverged_at=later.diverged_at,  # a stopped run had not diverged
            steps_done=self.steps_done + later.steps_done,
            timings=timings,
            snapshots={**self.snapshots, **later.snapshots},
            start_step=self.start_step,
            stopped=later.stopped,
        )


def _chunk_sizes(steps: int, eval_every: int | None) -> list[int]:
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    size = steps if not eval_every else min(eval_every, steps)
    sizes = [size] * (steps // size) if size else []
    if size and steps % size:
        sizes.append(steps % size)
    return sizes


def _first_nonfinite(loss: np.ndarray, offset: int) -> np.ndarray:
    """First index along the last axis where ``loss`` is not finite, plus offset; -1 if none."""
    bad = ~np.isfinite(loss)
    first = np.where(bad.any(axis=-1), bad.argmax(axis=-1) + offset, -1)
    return np.asarray(first)


def _stack_host(parts: list[dict[str, Any]], axis: int) -> dict[str, np.ndarray]:
    if not parts:
        return {}
    return {
        name: np.concatenate([np.asarray(p[name]) for p in parts], axis=axis) for name in parts[0]
    }


class _Phases:
    """Wall seconds per phase of a run, each without the compilation that happened in it."""

    def __init__(self, clock: CompileClock) -> None:
        self.clock = clock
        self.seconds: dict[str, float] = {}

    def timed(self, phase: str, fn: Callable[[], Any]) -> tuple[Any, float]:
        """``fn()`` and its wall seconds (compilation included); the phase gets them without."""
        compiled, start = self.clock.seconds(), time.perf_counter()
        out = fn()
        wall = time.perf_counter() - start
        run = wall - (self.clock.seconds() - compiled)
        self.seconds[phase] = self.seconds.get(phase, 0.0) + max(run, 0.0)
        return out, wall


def _loop(
    run_chunk: Callable[[TrainState, int], tuple[TrainState, dict[str, Array]]],
    run_eval: Callable[[Any], dict[str, Array]] | None,
    state: TrainState,
    steps: int,
    eval_every: int | None,
    batched: bool,
    on_chunk: Callable[[int], None] | None = None,
    clock: CompileClock | None = None,
    start: float | None = None,
    *,
    start_step: int = 0,
    evaluate_first: bool = True,
    snapshot_at: Sequence[int] = (),
    stop_when: Callable[[int], bool] | None = None,
) -> TrainResult:
    axis = 1 if batched else 0
    stopped = False
    snapshots: dict[int, Any] = {}
    record_parts: list[dict[str, Any]] = []
    eval_parts: list[dict[str, Any]] = []
    eval_steps: list[int] = []
    diverged_at: np.ndarray | None = None
    timings: dict[str, float] = {}
    start = time.perf_counter() if start is None else start
    clock = clock or CompileClock()
    phases = _Phases(clock)
    phases.seconds = {"train_s": 0.0, "eval_s": 0.0}

    def evaluate_now(step: int) -> None:
        if run_eval is not None:
            values, _ = phases.timed("eval_s", lambda: jax.device_get(run_eval(state.params)))
            eval_parts.append({k: np.expand_dims(np.asarray(v), axis) for k, v in values.items()})
            eval_steps.append(step)

    if evaluate_first:
        evaluate_now(start_step)
    done = 0
    for index, size in enumerate(_chunk_sizes(steps, eval_every)):

        def chunk(state: TrainState = state, size: int = size) -> Any:
            return jax.device_get(run_chunk(state, size))

        (state, records), wall = phases.timed("train_s", chunk)
        if index == 0:
            timings["first_chunk_s"] = wall  # includes compilation
        record_parts.append(records)
        first_bad = _first_nonfinite(np.asarray(records["loss"]), start_step + done)
        diverged_at = (
            first_bad if diverged_at is None else np.where(diverged_at >= 0, diverged_at, first_bad)
        )
        done += size
        evaluate_now(start_step + done)
        if start_step + done in snapshot_at and np.all(diverged_at < 0):
            snapshots[start_step + done] = jax.device_get(state.params)
        if on_chunk is not None:
            on_chunk(start_step + done)
        if np.all(diverged_at >= 0):
            break
        if stop_when is not None and done < steps and stop_when(start_step + done):
            stopped = True
            break
    timings["total_s"] = time.perf_counter() - start
    timings["compile_s"] = clock.seconds()
    timings["compilations"] = clock.compilations
    timings["cache_hits"] = clock.cache_hits
    timings.update(phases.seconds)
    if diverged_at is None:
        diverged_at = np.full(state.step.shape, -1)
    return TrainResult(
        params=state.params,
        opt_state=state.opt_state,
        records=_stack_host(record_parts, axis),
        eval_steps=np.asarray(eval_steps),
        evaluations=_stack_host(eval_parts, axis),
        diverged_at=np.asarray(diverged_at),
        steps_done=done,
        timings=timings,
        snapshots=snapshots,
        start_step=start_step,
        stopped=stopped,
    )


def train(
    objective: Objective,
    optimizer: OptimizerLike,
    params: Any,
    data: Any,
    *,
    steps: int,
    eval_every: int | None = None,
    evaluate: Evaluate | None = None,
    eval_data: Any = None,
    sampler: BatchSampler | None = None,
    hparams: Any = None,
    on_chunk: Callable[[int], None] | None = None,
    start_step: int = 0,
    evaluate_first: bool = True,
    snapshot_at: Sequence[int] = (),
    stop_when: Callable[[int], bool] | None = None,
    resume: TrainResult | None = None,
) -> TrainResult:
    """Train one run for ``steps`` steps, evaluating every ``eval_every`` steps (and at step 0).

    ``start_step`` continues a run: the step counter starts there (it decides the batch order and
    numbers the evaluations); the optimizer's state is fresh, so its own schedules start over.
    ``evaluate_first=False`` skips the evaluation before the first step (the run being continued
    made it). ``snapshot_at=(k, ...)`` keeps the parameters after each step ``k`` that ends a
    chunk (a multiple of ``eval_every`` from ``start_step``, or the last step) in
    ``TrainResult.snapshots``, unless the run diverged by then.

    ``evaluate(objective, params, eval_data) -> {name: scalar}`` is jitted; pass held-out data as
    ``eval_data`` (an argument, not a closure, so it is not baked into the program as a constant).

    ``optimizer`` is an optax transformation or a factory ``hparams -> transformation`` (pass the
    same factory object and array ``hparams`` to reuse one compilation across runs).
    ``data`` is any pytree whose leaves share a leading example axis, ``(inputs, targets)`` for the
    objectives in :mod:`core.objectives`. ``on_chunk(steps_done)`` is called on the host after
    every chunk (progress display).

    ``stop_when(step)``, called on the host after every chunk but the last, ends the run early
    when it returns True (a time limit); the result then has ``stopped`` set. ``resume``, such a
    stopped result (or one read back from disk, its ``params`` and ``opt_state`` given as their
    lists of leaves), finishes that run: pass the arguments of the first call again and the
    result is the whole run, bit for bit what one uninterrupted call gives (the step counter,
    the optimizer's state and the chunk boundaries continue where they stopped).
    """
    if sampler is None:
        sampler = BatchSampler.full_batch(jax.tree.leaves(data)[0].shape[0])
    if resume is not None:
        if not resume.stopped or resume.start_step != start_step:
            raise ValueError("resume must be a stopped run of the same call (its start_step)")
        steps -= resume.steps_done
        start_step, evaluate_first = resume.end_step, False
        params = jax.tree.unflatten(jax.tree.structure(params), jax.tree.leaves(resume.params))
    start = time.perf_counter()
    with CompileClock() as clock:
        opt_state = _init_opt_state(optimizer, hparams, params)
        if resume is not None:  # the stopped run's state, in the structure a fresh one has
            opt_state = jax.tree.unflatten(
                jax.tree.structure(opt_state),
                [jnp.asarray(x) for x in jax.tree.leaves(resume.opt_state)],
            )
        state = TrainState(params, opt_state, jnp.asarray(start_step, jnp.int32))
        run_eval = (
            None if evaluate is None else (lambda p: _evaluate(evaluate, objective, p, eval_data))
        )
        result = _loop(
            lambda s, n: _run_chunk(s, objective, data, hparams, sampler, optimizer, n),
            run_eval,
            state,
            steps,
            eval_every,
            batched=False,
            on_chunk=on_chunk,
            clock=clock,
            start=start,
            start_step=start_step,
            evaluate_first=evaluate_first,
            snapshot_at=snapshot_at,
            stop_when=stop_when,
        )
    return result if resume is None else resume.then(result)


def shard_runs(tree: Any, devices: Sequence[jax.Device] | None) -> Any:
    """Place the leading (run) axis of every array in ``tree`` across ``devices``.

    Arrays whose leading size is not a multiple of the device count stay where they are; with
    ``devices=None`` or a single device nothing moves.
    """
    devices = list(devices or [])
    if len(devices) < 2:
        return tree
    mesh = jax.sharding.Mesh(np.asarray(devices), ("runs",))
    sharded = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("runs"))

    def place(leaf: Any) -> Any:
        if eqx.is_array(leaf) and leaf.ndim > 0 and leaf.shape[0] % len(devices) == 0:
            return jax.device_put(leaf, sharded)
        return leaf

    return jax.tree.map(place, tree)


def train_batched(
    objectives: Objective,
    optimizer: OptimizerLike,
    params: Any,
    data: Any,
    *,
    steps: int,
    eval_every: int | None = None,
    evaluate: Evaluate | None = None,
    eval_data: Any = None,
    samplers: BatchSampler | None = None,
    hparams: Any = None,
    devices: Sequence[jax.Device] | None = None,
) -> TrainResult:
    """Train ``R`` runs of one shape as one vmapped program.

    ``params``, the arrays of ``objectives`` and ``samplers`` (if given) and ``hparams`` carry a
    leading axis of size ``R`` (build them with ``eqx.filter_vmap`` over keys); ``data`` is shared,
    and so are the 0-d arrays of ``objectives`` (unbatched scales).
    ``devices``, if given, shard the run axis across them (see the module docstring for why this
    is off by default on CPU).
    """
    runs = jax.tree.leaves(params)[0].shape[0]
    if samplers is None:
        samplers = BatchSampler.full_batch(jax.tree.leaves(data)[0].shape[0])
    params, objectives, samplers, hparams = shard_runs(
        (params, objectives, samplers, hparams), devices
    )
    start = time.perf_counter()
    with CompileClock() as clock:
        opt_state = _init_opt_state_batched(optimizer, hparams, params)
        state = TrainState(params, opt_state, jnp.zeros((runs,), jnp.int32))
        run_eval = (
            None
            if evaluate is None
            else (lambda p: _evaluate_batched(evaluate, objectives, p, eval_data))
        )
        return _loop(
            lambda s, n: _run_chunk_batched(s, objectives, data, hparams, samplers, optimizer, n),
            run_eval,
            state,
            steps,
            eval_every,
            batched=True,
            clock=clock,
            start=start,
        )
