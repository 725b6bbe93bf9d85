"""One cell end to end on tiny grokking tasks: the problem, the model and the metrics."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from core import tasks
from runner.cell import build, evaluator, run_cell


def _params(task, model, metrics, optimizer, steps=20, eval_every=5, scale=1.0):
    return {
        "task": task,
        "model": model,
        "loss": {"kind": "mse", "convention": "raw", "scale": scale},
        "optimizer": {"name": optimizer["kind"], **optimizer},
        "train": {
            "steps": steps,
            "eval_every": eval_every,
            "batch_size": None,
            "precision": "float64",
        },
        "metrics": metrics,
        "seed": 0,
    }


POLY = {"kind": "polynomial", "dimension": 6, "train": 20, "test": 30, "data_seed": 0}
MEAN_FIELD = {"kind": "mean_field", "width": 16, "epsilon": 0.25, "alpha": 2.0}
MODULAR = {"kind": "modular_addition", "modulus": 5, "train_fraction": 0.8, "split_seed": 1}
QUADRATIC = {
    "kind": "mlp",
    "hidden": [12],
    "activation": "quadratic",
    "initializer": "normal",
    "bias_init": "zeros",
    "use_bias": False,
    "parametrisation": "mean_field",
    "bias_scale": 1.0,
    "alpha": 1.0,
    "alpha_scope": "weights",
    "output_gain": 1.0,
    "output_scale": None,
    "linearized": False,
}


def test_ray_fft_error_is_the_nyquist_bin_of_the_residual_along_the_ray(x64):
    metrics = [
        {
            "kind": "ray_fft_error",
            "ray": "train_point",
            "index": 3,
            "points": 16,
            "bin": "nyquist",
            "name": "ray_train",
        },
        {
            "kind": "ray_fft_error",
            "ray": "ones",
            "index": 0,
            "points": 16,
            "bin": "largest",
            "name": "ray_ones",
        },
    ]
    config = _params(POLY, MEAN_FIELD, metrics, {"kind": "gd", "learning_rate": 1.0})
    kinds, problem, objective, params = build(config)
    # perturb so that f != f_0 (the centred model is zero at initialisation)
    params = jax.tree.map(lambda w: w * 1.1, params)
    evaluate = evaluator(kinds.metrics, problem.grid_shape)
    data = {
        "inputs": problem.evaluation[0],
        "targets": problem.evaluation[1],
        "train": problem.train_data,
        "params0": params,
        "teacher": problem.teacher,
    }
    got = evaluate(objective, params, data)
    c = np.linspace(0.0, 1.0, 16)

    def rho(direction):
        xs = c[:, None] * np.asarray(direction)[None, :]
        f = np.asarray(objective.predict(params, jnp.asarray(xs)))[:, 0]
        return f - np.asarray(tasks.polynomial_target(jnp.asarray(xs), problem.teacher))[:, 0]

    train_fft = np.abs(np.fft.fft(rho(problem.train_data[0][3]))) / 16
    ones_fft = np.abs(np.fft.fft(rho(np.ones(6)))) / 16
    np.testing.assert_allclose(got["ray_train"], train_fft[8], rtol=1e-9)
    np.testing.assert_allclose(got["ray_ones"], ones_fft[1:9].max(), rtol=1e-9)


def test_modular_cell_records_train_and_test_accuracy():
    metrics = [
        {"kind": "accuracy", "on": "train", "name": None},
        {"kind": "accuracy", "on": "eval", "name": None},
        {"kind": "mse", "on": "train", "name": None},
    ]
    optimizer = {
        "kind": "lm",
        "learning_rate": 0.5,
        "damping": 1e-3,
        "solver": "cholesky",
        "gram": "auto",
        "cg_max_iterations": 30,
        "cg_tol": 1e-6,
        "cg_tol_kind": "relative",
    }
    outcome = run_cell(_params(MODULAR, QUADRATIC, metrics, optimizer))
    assert set(outcome.metrics) == {"train_accuracy", "accuracy", "train_mse"}
    assert outcome.eval_steps.tolist() == [0, 5, 10, 15, 20]
    train_acc = outcome.metrics["train_accuracy"]
    # 20 training pairs: accuracy is a multiple of 1/20; LM fits them
    np.testing.assert_allclose(train_acc * 20, np.round(train_acc * 20), atol=1e-9)
    assert train_acc[-1] == 1.0
    assert outcome.metrics["train_mse"][-1] < outcome.metrics["train_mse"][0]


def test_loss_scale_divides_the_loss():
    config = _params(POLY, MEAN_FIELD, [], {"kind": "gd", "learning_rate": 1.0}, scale=2.0)
    _, problem, objective, params = build(config)
    inputs, targets = problem.train_data
    plain = jnp.mean((objective.predict(params, inputs) - targets) ** 2)
    assert float(objective.loss(params, problem.train_data)) == pytest.approx(float(plain) / 4)


MNIST_TASK = {
    "kind": "mnist",
    "source": "shipped",
    "path": None,
    "train": 40,
    "test": 60,
    "pool": 4,
    "split_seed": 0,
}
RELU = {**QUADRATIC, "activation": "relu", "use_bias": True, "parametrisation": "standard"}
LM_SCHEDULE = {
    "kind": "lm",
    "learning_rate": 0.5,
    "damping": {"kind": "log_linear", "start": 1e-2, "end": 1e-4, "steps": 10},
    "solver": "cholesky",
    "gram": "auto",
    "cg_max_iterations": 30,
    "cg_tol": 1e-6,
    "cg_tol_kind": "relative",
}
ADAMW = {
    "kind": "adamw",
    "learning_rate": 1e-3,
    "b1": 0.9,
    "b2": 0.999,
    "eps": 1e-8,
    "weight_decay": 0.1,
}


def test_mnist_problem_from_the_shipped_digits():
    config = _params(MNIST_TASK, RELU, [], {"kind": "gd", "learning_rate": 0.1})
    _, problem, _, _ = build(config)
    x, y = problem.train_data
    assert x.shape == (40, 49) and y.shape == (40, 10) and problem.output_dim == 10
    assert problem.evaluation[0].shape == (60, 49)
    np.testing.assert_allclose(np.asarray(y).sum(axis=1), 1.0)
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0


def test_switch_lm_then_adamw_cell_runs_with_weight_norm():
    """LM with a damping schedule, then AdamW with a fresh state (Fig. 7); the switch reads each
    side's scalars from the shared hyperparameters."""
    switch = {"kind": "switch", "first": LM_SCHEDULE, "second": ADAMW, "at": 4}
    metrics = [
        {"kind": "accuracy", "on": "train", "name": None},
        {"kind": "weight_norm", "name": None},
    ]
    outcome = run_cell(_params(MNIST_TASK, RELU, metrics, switch, steps=10, eval_every=2))
    assert outcome.diverged_at is None and outcome.steps_done == 10
    np.testing.assert_array_equal(outcome.records["switch/phase"][:6], [0, 0, 0, 0, 1, 1])
    assert outcome.metrics["weight_norm"].shape == (6,)
    assert np.all(np.isfinite(outcome.metrics["weight_norm"]))


GGN = {
    "kind": "ggn",
    "learning_rate": 0.5,
    "damping": 1.0,
    "weight_decay": 0.1,
    "search": "fixed",
    "cg_max_iterations": 20,
    "cg_tol": 1e-6,
    "cg_tol_kind": "relative",
    "armijo_c": 1e-4,
    "armijo_tau": 0.5,
    "max_halvings": 10,
}


@pytest.mark.parametrize("search", ["fixed", "armijo"])
def test_ggn_on_cross_entropy_lowers_the_loss_and_decays_weights(search):
    """Fig. 11: GGN (CG direction, fixed step or Armijo) on softmax cross-entropy with one-hot
    MNIST targets; the decoupled weight decay shrinks the weights by lr * wd per step."""
    metrics = [{"kind": "train_loss", "name": None}, {"kind": "weight_norm", "name": None}]
    config = _params(MNIST_TASK, RELU, metrics, {**GGN, "search": search}, steps=10, eval_every=5)
    config["loss"] = {"kind": "cross_entropy"}
    outcome = run_cell(config)
    loss = outcome.metrics["train_loss"]
    assert outcome.diverged_at is None and loss[-1] < 0.5 * loss[0]
    assert np.all(outcome.records["ggn/cg_iterations"] >= 1)
    zero_decay = _params(MNIST_TASK, RELU, metrics, {**GGN, "weight_decay": 0.0, "search": search})
    zero_decay["loss"] = {"kind": "cross_entropy"}
    zero_decay["train"] = config["train"]
    undecayed = run_cell(zero_decay).metrics["weight_norm"]
    assert outcome.metrics["weight_norm"][-1] < undecayed[-1]


def test_sgd_weight_decay_is_added_to_the_gradient():
    metrics = [{"kind": "weight_norm", "name": None}]
    gd = {"kind": "gd", "learning_rate": 0.1, "momentum": None, "weight_decay": None}
    plain = run_cell(_params(MNIST_TASK, RELU, metrics, gd, steps=4, eval_every=2))
    decayed = run_cell(
        _params(MNIST_TASK, RELU, metrics, {**gd, "weight_decay": 1.0}, steps=4, eval_every=2)
    )
    assert decayed.metrics["weight_norm"][-1] < plain.metrics["weight_norm"][-1]


@pytest.mark.parametrize(
    "vary",
    [
        {"loss": {"scale": 0.5}, "model": {"alpha": 0.5}},  # polynomial: mean_field alpha
        {"loss": {"scale": 0.5}, "model": {"output_gain": 0.25}},  # modular: s and s^2
        {"model": {"output_scale": 3.0}},  # the centred MLP's alpha
    ],
)
def test_cells_differing_only_in_scales_share_one_program(vary):
    """Issue 16: the scales a sweep varies are traced; the second cell compiles nothing."""
    gd = {"kind": "gd", "learning_rate": 0.1, "momentum": None, "weight_decay": None}
    metrics = [{"kind": "mse", "on": "train", "name": None}]
    task, model = (POLY, MEAN_FIELD) if "alpha" in vary.get("model", {}) else (MODULAR, QUADRATIC)
    if "output_scale" in vary["model"]:
        model = {**QUADRATIC, "output_scale": 1.5}
    first = _params(task, model, metrics, gd, steps=4, eval_every=2)
    second = {
        **first,
        "loss": {**first["loss"], **vary.get("loss", {})},
        "model": {**first["model"], **vary["model"]},
    }
    run_cell(first)
    outcome = run_cell(second)
    assert outcome.timings["compilations"] == 0 and outcome.timings["compile_s"] == 0.0
