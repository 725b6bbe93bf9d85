"""Training loop: scan equals a plain loop, batching, evaluation schedule, divergence, vmap."""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from core import metrics, models, optim, tasks, training
from core.objectives import MeanSquaredError


def _problem(seed=0, width=16):
    data = tasks.regression_1d(40)
    mlp = models.make_mlp(jax.random.PRNGKey(seed), (1, width, 1), activation="tanh")
    params, static = models.partition_trainable(mlp)
    return MeanSquaredError(static), params, (data.inputs, data.targets)


def _evaluate(objective, params, data):
    return {"mse": metrics.mean_squared_error(objective.predict(params, data[0]), data[1])}


def test_scan_equals_python_loop():
    objective, params, data = _problem()
    tx = optax.sgd(0.05)
    result = training.train(objective, tx, params, data, steps=7, eval_every=3)
    state = tx.init(params)
    losses = []
    for _ in range(7):
        value, grad = jax.value_and_grad(objective.loss)(params, data)
        losses.append(float(value))
        updates, state = tx.update(grad, state, params)
        params = optax.apply_updates(params, updates)
    np.testing.assert_allclose(result.records["loss"], losses, rtol=1e-5)
    for ours, ref in zip(jax.tree.leaves(result.params), jax.tree.leaves(params), strict=False):
        np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-7)


def test_evaluation_schedule_and_records():
    objective, params, data = _problem()
    result = training.train(
        objective,
        optim.levenberg_marquardt(0.1, 1e-2),
        params,
        data,
        steps=10,
        eval_every=4,
        evaluate=_evaluate,
        eval_data=data,
    )
    np.testing.assert_array_equal(result.eval_steps, [0, 4, 8, 10])
    assert result.evaluations["mse"].shape == (4,)
    assert result.records["loss"].shape == (10,)
    assert {"lm/damping", "lm/cg_iterations", "search/step_size", "search/actual_decrease"} <= set(
        result.records
    )
    assert result.steps_done == 10 and int(result.diverged_at) == -1
    assert result.evaluations["mse"][-1] < result.evaluations["mse"][0]


def test_minibatches_cover_each_epoch_once():
    sampler = training.BatchSampler.shuffled(10, 3, jax.random.PRNGKey(1))
    data = jnp.arange(10)
    epochs = [
        [int(i) for s in range(3 * e, 3 * e + 3) for i in sampler.batch(data, jnp.asarray(s))]
        for e in range(2)
    ]
    for epoch in epochs:
        assert len(set(epoch)) == 9  # 3 batches of 3 distinct examples, one left out
    assert epochs[0] != epochs[1]
    assert training.BatchSampler.shuffled(10, 10, jax.random.PRNGKey(0)).key is None


def test_divergence_stops_the_run():
    objective, params, data = _problem()
    result = training.train(objective, optax.sgd(1e4), params, data, steps=200, eval_every=20)
    assert 0 <= int(result.diverged_at) < 20
    assert result.steps_done == 20  # stopped after the chunk in which it diverged
    assert not np.isfinite(result.records["loss"][int(result.diverged_at)])


def _factory(h):
    return optim.levenberg_marquardt(h["lr"], h["mu"])


def test_batched_equals_individual_runs(x64):
    """float64, so that the comparison is tight (LM with mu = 1e-3 amplifies float32 round-off)."""
    seeds = [0, 1, 2]
    runs = [_problem(seed) for seed in seeds]
    hparams = {"lr": jnp.array([0.1, 0.2, 0.3]), "mu": jnp.array([1e-1, 1e-2, 1e-3])}
    stacked_params = jax.tree.map(lambda *xs: jnp.stack(xs), *[r[1] for r in runs])
    objective, _, data = runs[0]  # same static half for every seed
    batched = training.train_batched(
        objective,
        _factory,
        stacked_params,
        data,
        steps=6,
        eval_every=3,
        evaluate=_evaluate,
        eval_data=data,
        hparams=hparams,
    )
    assert batched.records["loss"].shape == (3, 6)
    assert batched.evaluations["mse"].shape == (3, 3)
    for i, (obj, params, _) in enumerate(runs):
        single = training.train(
            obj,
            _factory,
            params,
            data,
            steps=6,
            eval_every=3,
            evaluate=_evaluate,
            eval_data=data,
            hparams=jax.tree.map(lambda h, i=i: h[i], hparams),
        )
        np.testing.assert_allclose(batched.records["loss"][i], single.records["loss"], rtol=1e-9)
        np.testing.assert_allclose(
            batched.evaluations["mse"][i], single.evaluations["mse"], rtol=1e-9
        )


def test_batched_centered_models_carry_their_own_reference():
    """Frozen reference copies live in the objective and are batched along with the params."""

    def build(key):
        mlp = models.make_mlp(key, (1, 8, 1))
        return models.CenteredModel.around(mlp, alpha=2.0)

    stacked = eqx.filter_vmap(build)(jax.random.split(jax.random.PRNGKey(0), 2))
    params, static = models.partition_trainable(stacked)
    data = tasks.regression_1d(20)
    result = training.train_batched(
        MeanSquaredError(static),
        optax.sgd(0.01),
        params,
        (data.inputs, data.targets),
        steps=2,
        evaluate=_evaluate,
        eval_data=(data.inputs, data.targets),
    )
    # centred at init: the prediction is 0, so the initial MSE is mean(y^2) for both runs
    np.testing.assert_allclose(
        result.evaluations["mse"][:, 0], float(jnp.mean(data.targets**2)), rtol=1e-5
    )


def test_timings_separate_compilation_from_training_and_evaluation():
    objective, params, data = _problem(width=11)  # a shape no other test compiles
    tx = optax.sgd(0.05)  # the same object: a new one is a new static argument, a new program
    kwargs = dict(steps=6, eval_every=3, evaluate=_evaluate, eval_data=data)
    first = training.train(objective, tx, params, data, **kwargs).timings
    again = training.train(objective, tx, params, data, **kwargs).timings
    assert first["compilations"] >= 3 and first["compile_s"] > 0  # init, chunk, evaluation
    assert again["compilations"] == 0 and again["compile_s"] == 0.0
    for timings in (first, again):
        assert timings["train_s"] > 0 and timings["eval_s"] > 0
        parts = timings["compile_s"] + timings["train_s"] + timings["eval_s"]
        assert parts <= timings["total_s"] * 1.01
    assert first["first_chunk_s"] > again["first_chunk_s"]


def test_compile_clock_counts_nested_spans_once():
    x = jnp.arange(7.0).block_until_ready()
    with training.CompileClock() as clock:  # norm is a jit inside the jit: a nested span
        jax.jit(lambda x: jnp.linalg.norm(jnp.sin(x)) + 1.0)(x).block_until_ready()
    assert clock.compilations == 1
    spans = clock._spans
    assert clock.seconds() <= max(end for _, end in spans) - min(start for start, _ in spans)


def test_a_run_continued_from_its_snapshot_equals_the_straight_run():
    """SGD (no optimizer state) on mini-batches: 12 steps straight, or 8 steps with a snapshot
    and 4 more from it with ``start_step=8``, give the same batches, parameters and records;
    the continued run's evaluations are numbered from step 8 and skip the one the first made."""
    objective, params, data = _problem()
    sampler = training.BatchSampler.shuffled(40, 10, jax.random.PRNGKey(3))
    common = dict(evaluate=_evaluate, eval_data=data, sampler=sampler, eval_every=4)
    straight = training.train(objective, optax.sgd(0.05), params, data, steps=12, **common)
    first = training.train(
        objective, optax.sgd(0.05), params, data, steps=8, snapshot_at=(4, 8, 5), **common
    )
    assert sorted(first.snapshots) == [4, 8]  # 5 ends no chunk
    second = training.train(
        objective,
        optax.sgd(0.05),
        first.snapshots[8],
        data,
        steps=4,
        start_step=8,
        evaluate_first=False,
        **common,
    )
    np.testing.assert_array_equal(second.eval_steps, [12])
    np.testing.assert_array_equal(
        np.concatenate([first.records["loss"], second.records["loss"]]), straight.records["loss"]
    )
    for ours, ref in zip(
        jax.tree.leaves(second.params), jax.tree.leaves(straight.params), strict=True
    ):
        np.testing.assert_array_equal(ours, ref)
    np.testing.assert_array_equal(second.evaluations["mse"], straight.evaluations["mse"][-1:])
    for kept, ref in zip(
        jax.tree.leaves(first.snapshots[8]), jax.tree.leaves(first.params), strict=True
    ):
        np.testing.assert_array_equal(kept, ref)


def test_no_snapshot_after_divergence():
    objective, params, data = _problem()
    result = training.train(
        objective, optax.sgd(1e4), params, data, steps=40, eval_every=20, snapshot_at=(20,)
    )
    assert 0 <= int(result.diverged_at) < 20 and result.snapshots == {}


def test_a_stopped_run_resumed_equals_the_straight_run():
    """``stop_when`` ends a run after a chunk; ``resume`` finishes it from its parameters and
    optimizer state (Adam's moments and count, a mini-batch order, an evaluation schedule), and
    the whole equals one uninterrupted call bit for bit, also after a disk-like round trip of
    the state as lists of host leaves."""
    objective, params, data = _problem()
    sampler = training.BatchSampler.shuffled(40, 16, jax.random.PRNGKey(3))
    tx = optax.adam(1e-2)
    common = dict(steps=23, eval_every=5, evaluate=_evaluate, eval_data=data, sampler=sampler)
    straight = training.train(objective, tx, params, data, snapshot_at=(15,), **common)
    assert not straight.stopped and straight.end_step == 23

    stopped = training.train(
        objective, tx, params, data, snapshot_at=(15,), stop_when=lambda step: step >= 10, **common
    )
    assert stopped.stopped and stopped.steps_done == 10
    np.testing.assert_array_equal(stopped.eval_steps, [0, 5, 10])
    as_leaves = dataclasses.replace(
        stopped,
        params=[np.asarray(x) for x in jax.tree.leaves(stopped.params)],
        opt_state=[np.asarray(x) for x in jax.tree.leaves(stopped.opt_state)],
    )
    for resumed_from in (stopped, as_leaves):
        whole = training.train(
            objective, tx, params, data, snapshot_at=(15,), resume=resumed_from, **common
        )
        assert not whole.stopped and whole.steps_done == 23 and whole.start_step == 0
        np.testing.assert_array_equal(whole.eval_steps, straight.eval_steps)
        for name in straight.records:
            np.testing.assert_array_equal(whole.records[name], straight.records[name])
        np.testing.assert_array_equal(whole.evaluations["mse"], straight.evaluations["mse"])
        pairs = zip(jax.tree.leaves(whole.params), jax.tree.leaves(straight.params), strict=True)
        for ours, ref in pairs:
            np.testing.assert_array_equal(ours, ref)
        assert set(whole.snapshots) == {15}


def test_stop_when_is_not_asked_after_the_last_chunk_and_resume_checks_its_call():
    objective, params, data = _problem()
    asked = []
    result = training.train(
        objective,
        optax.sgd(0.05),
        params,
        data,
        steps=10,
        eval_every=5,
        stop_when=lambda step: asked.append(step) or True,
    )
    assert asked == [5] and result.stopped and result.steps_done == 5
    with pytest.raises(ValueError, match="stopped run of the same call"):
        training.train(
            objective, optax.sgd(0.05), params, data, steps=10, start_step=3, resume=result
        )
