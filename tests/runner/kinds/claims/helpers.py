"""Synthetic cells for the claim kinds' tests: error curves ``exp(-r_g t)`` with known rates per
group, and accuracy curves with a known grokking delay."""

from __future__ import annotations

import numpy as np
from pydantic import TypeAdapter

from runner.kinds.claims import Claim, judge
from runner.results import CellResult, ClaimResult
from runner.spec import Spec

STEPS = np.arange(0, 2001, 50)
LABELS = ["0", "1", "2", "3", "4"]
GD = [0.01, 0.005, 0.002, 0.001, 0.0005]
LM = [0.01, 0.008, 0.005, 0.003, 0.002]
GN = [0.0101, 0.0102, 0.0099, 0.0098, 0.01]

OBSERVABLES = {
    "rates": {"kind": "decay_rate", "metric": "fft_error", "window": [100, 1000]},
    "late_rates": {"kind": "decay_rate", "metric": "fft_error", "window": [1000, 2000]},
    "lemma": {"kind": "final", "metric": "lemma_rate"},
    "final_err": {"kind": "final", "metric": "fft_error"},
    "final_rel": {"kind": "final", "metric": "fft_error", "relative_to_initial": True},
    "final_loss": {"kind": "final", "metric": "loss"},
    "loss_1e-3": {"kind": "crossing", "metric": "loss", "below": 1e-3},
    "err_1e-4": {"kind": "crossing", "metric": "fft_error", "below": 1e-4},
}


def curves(optimizer, seed, rates, *, point=None, status="finished", **kwargs) -> CellResult:
    """``fft_error[t, g] = exp(-rates[g] t)`` (seed ``s`` scales the rates by ``1 + 0.01 s``),
    ``lemma_rate`` = the rates, ``loss[t] = mean_g exp(-2 rates[g] t)``."""
    rates = np.asarray(rates, dtype=float) * (1 + 0.01 * seed)
    t = np.arange(2001)
    point = point or {}
    suffix = "".join(f"_{k.split('.')[-1]}{v}" for k, v in point.items())
    return CellResult(
        cell_id=f"{optimizer}{suffix}_s{seed}",
        optimizer=optimizer,
        seed=seed,
        point=point,
        status=status,
        eval_steps=STEPS,
        metrics={
            "fft_error": np.exp(-np.outer(STEPS, rates)),
            "lemma_rate": np.tile(rates, (STEPS.size, 1)),
        },
        groups={"fft_error": LABELS, "lemma_rate": LABELS},
        records={"loss": np.exp(-2 * np.outer(t, rates)).mean(axis=1)},
        steps_done=2000,
        **kwargs,
    )


def run_cells(seeds=(0, 1, 2)) -> list[CellResult]:
    return [
        curves(name, s, rates)
        for name, rates in (("gd", GD), ("lm", LM), ("gn", GN))
        for s in seeds
    ]


def alpha_cells(rate_of_alpha, seeds=(0, 1, 2), alphas=(1, 2, 4)) -> list[CellResult]:
    return [
        curves("gn", s, [rate_of_alpha(a)] * 5, point={"model.alpha": float(a)})
        for a in alphas
        for s in seeds
    ]


def make_spec(
    claims: list[dict], observables: dict | None = None, metrics: list[dict] | None = None
) -> Spec:
    return Spec.model_validate(
        {
            "name": "synthetic",
            "task": {"kind": "regression_1d"},
            "model": {"kind": "mlp", "hidden": [8]},
            "optimizers": {
                "gd": {"kind": "gd", "learning_rate": 0.01},
                "lm": {"kind": "lm", "learning_rate": 0.01, "damping": 0.1},
                "gn": {"kind": "gn", "learning_rate": 0.01, "eps": 1e-6},
            },
            "train": {"steps": 2000, "eval_every": 50},
            "sweep": {"grid": {"model.alpha": [1.0, 2.0, 4.0]}},
            "metrics": metrics or [{"kind": "fft_error", "modes": 5}, {"kind": "lemma_rate"}],
            "observables": OBSERVABLES if observables is None else observables,
            "claims": claims,
        }
    )


def threshold(observable: str, where: dict, op: str, value: float) -> dict:
    """A ``threshold`` claim: ``observable`` in the cells ``where`` selects is ``op value`` (the
    claim most tests of the shared rules and of the kind itself start from)."""
    return {"kind": "threshold", "observable": observable, "where": where, "op": op, "value": value}


def one(claim: dict, cells: list[CellResult]) -> ClaimResult:
    claim = {"id": "c", **claim}
    TypeAdapter(Claim).validate_python(claim)  # the claim alone is a valid claim
    (result,) = judge(make_spec([claim]), cells)
    return result


CELLS = run_cells()


def grokking_cell(optimizer, alpha, t_train, t_test, seed=0, steps=1000):
    """Accuracy curves that jump from 0 to 1 at ``t_train`` (train) and ``t_test`` (test)."""
    evals = np.arange(0, steps + 1, 10)
    step = lambda t: (evals >= t).astype(float) if t is not None else np.zeros(evals.size)  # noqa: E731
    return CellResult(
        cell_id=f"{optimizer}_a{alpha}_s{seed}",
        optimizer=optimizer,
        seed=seed,
        point={"model.alpha": float(alpha)},
        status="finished",
        eval_steps=evals,
        metrics={"train_accuracy": step(t_train), "accuracy": step(t_test)},
        groups={},
        records={"loss": np.ones(steps)},
        steps_done=steps,
    )


GROKKING_OBSERVABLES = {
    "t_train": {"kind": "crossing", "metric": "train_accuracy", "above": 0.95},
    "t_test": {"kind": "crossing", "metric": "accuracy", "above": 0.9},
    "delay": {"kind": "delay", "start": "t_train", "end": "t_test"},
}


def grokking_judge(claim, cells, observables: dict | None = None):
    spec = Spec.model_validate(
        {
            "name": "grokking",
            "task": {"kind": "modular_addition", "modulus": 5},
            "model": {"kind": "mlp", "hidden": [4]},
            "optimizers": {
                "sgd": {"kind": "gd", "learning_rate": 1.0},
                "lm": {"kind": "lm", "learning_rate": 0.1, "damping": 0.1},
            },
            "train": {"steps": 1000, "eval_every": 10},
            "sweep": {"grid": {"model.alpha": [1.0, 2.0, 4.0]}},
            "metrics": [{"kind": "accuracy", "on": "train"}, {"kind": "accuracy"}],
            "observables": {**GROKKING_OBSERVABLES, **(observables or {})},
            "claims": [{"id": "c", **claim}],
        }
    )
    (result,) = judge(spec, cells)
    return result
