"""Per-step cost of the MNIST grokking runs (specs/grokking_mnist.yaml) and the default profile's
total time.

Per-step time of AdamW and of LM (structured Gram + Cholesky; matrix-free CG, 30 iterations) on
two nets, batch 200 (LM: m = 200 x 10 = 2 000 residuals):

* ``cpu``   -- the default profile's CPU variant: 14 x 14 inputs, 196 -> 128 -> 10 (p = 26 506);
* ``table6`` -- the paper's Table 6 net: 784 -> 250 -> 10 (p = 198 760).

Each measurement is one cell of the spec run through :func:`runner.cell.run_cell` (the same code
path as ``runner run``) in a fresh interpreter: ``steps`` steps in 4 chunks; the first chunk holds
the compilation, so the per-step time is ``(total - first chunk) / (3/4 steps)`` (one evaluation
per chunk included). ``--threads 1,2`` repeats every measurement with ``OPENBLAS_NUM_THREADS`` set
to each value (the runner's default is 1, runner/threads.py).

``--from-run RUN_DIR`` adds the total time of a finished run of the spec (e.g. the default
profile: ``runner run specs/grokking_mnist.yaml``), from its manifest; ``--run-default`` runs the
default profile first (about 15 minutes on 2 cores).

``--lm-step`` profiles instead one LM step of each net (batch 200, m = 2 000, mu = 1e-2), in a
fresh interpreter per net, every number from the same run (README, "Performance"):

* ``step``: the training step as the runner compiles it (``core.training``'s scanned chunk,
  ``SCAN`` steps per call, divided); ``step_legacy`` the same step with the Gram contraction and
  the ``jax.scipy`` ``cho_factor`` / ``cho_solve`` that pgdlab used before issue 16;
* the parts on their own, on the same ``K = mu I + J J^T``: ``gram`` (the structured Gram),
  ``factor`` (:class:`core.curvature.CholeskyFactor`, the factor left in LAPACK's layout),
  ``solves`` (its two triangular solves), the stock ``jnp.linalg.cholesky``,
  ``jax.scipy.linalg.cho_factor`` / ``cho_solve`` / ``solve_triangular``, a matrix-vector
  product, the loss and its gradient, and scipy's ``cho_factor``, ``cho_solve``,
  ``solve_triangular`` and LAPACK ``potrf`` / BLAS ``trsv`` on a Fortran-ordered copy;
* ``profile``: milliseconds per step by named scope inside the compiled step (a
  ``jax.profiler`` trace, :mod:`xla_profile`), and how many first-layer forward products and
  weight-gradient products the compiled step holds;
* ``ratios``: ``step / (gram + factor)`` (target <= 1.3), ``factor / scipy potrf`` (target
  <= 1.2), and the others named there.

    python benchmarks/mnist.py [--quick] [--threads 1,2] [--from-run RUN_DIR] [--json PATH]
    python benchmarks/mnist.py --lm-step [--nets cpu,table6] [--repeats 9] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from common import run_child, run_main, run_summary  # benchmarks/common.py

ROOT = Path(__file__).resolve().parents[1]
NETS = {"cpu": (2, [128]), "table6": (1, [250])}  # name: (pool, hidden)
METHODS = ("adamw", "lm-cholesky", "lm-cg30")
STEPS = {"adamw": 2000, "lm-cholesky": 80, "lm-cg30": 80}


def _optimizer(method: str) -> dict:
    if method == "adamw":
        return {
            "kind": "adamw",
            "learning_rate": 1e-3,
            "b1": 0.9,
            "b2": 0.999,
            "eps": 1e-8,
            "weight_decay": 0.1,
        }
    return {
        "kind": "lm",
        "learning_rate": 0.1,
        "damping": {"kind": "log_linear", "start": 1e-2, "end": 1e-4, "steps": 500},
        "solver": "cg" if method == "lm-cg30" else "cholesky",
        "gram": "auto",
        "cg_max_iterations": 30,
        "cg_tol": 1e-6,
        "cg_tol_kind": "relative",
    }


def cell_config(net: str, method: str, steps: int) -> dict:
    pool, hidden = NETS[net]
    return {
        "task": {
            "kind": "mnist",
            "source": "shipped",
            "path": None,
            "train": 1000,
            "test": None,
            "pool": pool,
            "split_seed": 0,
        },
        "model": {
            "kind": "mlp",
            "hidden": hidden,
            "activation": "relu",
            "initializer": "glorot_uniform",
            "bias_init": "zeros",
            "use_bias": True,
            "parametrisation": "standard",
            "bias_scale": 1.0,
            "alpha": 8.0,
            "alpha_scope": "weights",
            "output_gain": 1.0,
            "output_scale": None,
            "linearized": False,
        },
        "loss": {"kind": "mse", "convention": "loss", "scale": 1.0},
        "optimizer": {"name": method, **_optimizer(method)},
        "train": {
            "steps": steps,
            "eval_every": steps // 4,
            "batch_size": 200,
            "precision": "float32",
        },
        "metrics": [{"kind": "accuracy", "on": "eval", "name": None}],
        "seed": 0,
    }


def _child(net: str, method: str, steps: int) -> dict:
    from runner.cell import run_cell

    outcome = run_cell(cell_config(net, method, steps))
    total, first = outcome.timings["total_s"], outcome.timings["first_chunk_s"]
    measured = steps - steps // 4
    return {
        "net": net,
        "method": method,
        "steps": steps,
        "per_step_s": (total - first) / measured,
        "first_chunk_s": first,
        "total_s": total,
        "final_test_accuracy": float(outcome.metrics["accuracy"][-1]),
    }


# --- one LM step, part by part (--lm-step) ------------------------------------------------------

SCAN = 5  # steps per call of the scanned chunk
LM_DAMPING = 1e-2  # the schedule's first value
SCOPES = (  # named scopes of core (training, LM, Cholesky, search), innermost first
    "cholesky_factor",
    "cholesky_solve",
    "lm_gram",
    "lm_direction",
    "lm_residual",
    "search",
    "loss_and_grad",
)


def _legacy_structured_gram(model, xs):
    """``core.curvature.structured_gram`` before issue 16: the product contracted in the order
    ``(k, x)``, which XLA then transposed to ``(x, k)`` (pgdlab 0fdfb05)."""
    import jax.numpy as jnp

    _, factors = model.dense_layer_factors(xs)
    n, gram = xs.shape[0], None
    for factor in factors:
        grads = factor.output_grads
        products = jnp.einsum("kxw,lyw->xkyl", grads, grads)
        inputs = factor.weight_gain**2 * (factor.inputs @ factor.inputs.T)
        if factor.bias_gain is not None:
            inputs = inputs + factor.bias_gain**2
        layer = products * inputs[:, None, :, None]
        gram = layer if gram is None else gram + layer
    m = n * grads.shape[0]
    return gram.reshape(m, m)


def _legacy_damped_solve(gram, rhs, damping):
    """``core.curvature.damped_solve_cholesky`` before issue 16: ``jax.scipy.linalg``."""
    import jax.numpy as jnp
    import jax.scipy.linalg as jsl

    shifted = gram + damping * jnp.eye(gram.shape[0], dtype=gram.dtype)
    return jsl.cho_solve(jsl.cho_factor(shifted, lower=True), rhs)


def _traced_with_legacy_lm(fn, args):
    """``fn`` jitted and compiled while core's LM uses the legacy Gram and solve."""
    import importlib

    import core.objectives

    # (core.optim exports a function of the same name as the module)
    lm = importlib.import_module("core.optim.levenberg_marquardt")

    saved = core.objectives.structured_gram, lm.damped_solve_cholesky
    core.objectives.structured_gram, lm.damped_solve_cholesky = (
        _legacy_structured_gram,
        _legacy_damped_solve,
    )
    try:
        return fn.lower(*args).compile()
    finally:
        core.objectives.structured_gram, lm.damped_solve_cholesky = saved


def _interleaved(calls: dict, rounds: int) -> dict[str, float]:
    """Median milliseconds of each ``name: (fn, args)``, the calls interleaved round by round so
    that the load of a shared machine falls on all of them alike (each called once first)."""
    import statistics
    import time

    import jax

    for fn, args in calls.values():
        jax.block_until_ready(fn(*args))
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(rounds):
        for name, (fn, args) in calls.items():
            start = time.perf_counter()
            jax.block_until_ready(fn(*args))
            times[name].append(time.perf_counter() - start)
    return {name: 1e3 * statistics.median(values) for name, values in times.items()}


def _looped(part, count: int):
    """``part(*args)`` ``count`` times in one compiled loop, each input shifted by the previous
    output times zero: XLA can neither hoist the call out of the loop nor merge the calls, and
    the buffers are reused (a call on its own also pays fresh, page-faulting ``m x m`` output
    buffers: at m = 2 000 the Gram took 24 ms alone against 8 ms inside the step)."""
    import jax
    import jax.numpy as jnp

    def shifted(tree, carry):
        leaves, treedef = jax.tree.flatten(tree)
        first = next(i for i, leaf in enumerate(leaves) if jnp.issubdtype(leaf.dtype, jnp.inexact))
        leaves[first] = leaves[first] + carry.astype(leaves[first].dtype)
        return jax.tree.unflatten(treedef, leaves)

    def run(*args):
        def body(_, carry):
            out = part(*shifted(args, carry))
            first = jax.tree.leaves(out)[0].ravel()[0]
            return 0.0 * jnp.nan_to_num(first).astype(jnp.float32)

        return jax.lax.fori_loop(0, count, body, jnp.zeros((), jnp.float32))

    return jax.jit(run)


def _lm_step_child(net: str, rounds: int) -> dict:
    """One LM step of ``net`` and its parts, in this process (see the module docstring)."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import jax.scipy.linalg as jsl
    import numpy as np
    import scipy.linalg as sl
    import xla_profile  # benchmarks/xla_profile.py
    from scipy.linalg import blas, lapack

    from core import training
    from core.curvature import CholeskyFactor
    from runner.cell import build
    from runner.kinds.optimizers import factory

    config = cell_config(net, "lm-cholesky", SCAN)
    kinds, problem, objective, params = build(config)
    batch = jax.tree.map(lambda a: a[:200], problem.train_data)
    n, d_in = batch[0].shape
    hidden = NETS[net][1][0]
    optimizer = factory(kinds.optimizer.structure())
    hparams = {k: jnp.asarray(v) for k, v in kinds.optimizer.hyperparameters().items()}
    sampler = training.BatchSampler.full_batch(n)
    state = training.TrainState(params, optimizer(hparams).init(params), jnp.zeros((), jnp.int32))
    # the runner's program: the chunk's arrays as arguments, the rest static
    arrays, static = eqx.partition((state, objective, batch, hparams, sampler), eqx.is_array)

    def chunk_fn():  # a new function each time: jax reuses a function's trace
        def chunk(arrays):
            state, objective, data, hparams, sampler = eqx.combine(arrays, static)
            return training._chunk(state, objective, data, hparams, sampler, optimizer, SCAN)

        return jax.jit(chunk)

    step = chunk_fn().lower(arrays).compile()
    step_legacy = _traced_with_legacy_lm(chunk_fn(), (arrays,))

    kernel = eqx.filter_jit(lambda o, p, b: o.gram(p, b))(objective, params, batch)
    shifted = kernel + LM_DAMPING * jnp.eye(kernel.shape[0], dtype=kernel.dtype)
    residual = objective.residual(params, batch)
    # the factor in LAPACK's layout, handed over as its (row-major) transpose: no copy
    upper = jax.jit(lambda a: CholeskyFactor.of(a).packed.T)(shifted)
    lower = jnp.linalg.cholesky(shifted)
    matrix, vector = np.asarray(shifted), np.asarray(residual)
    fortran, factor_f = np.asfortranarray(matrix), np.asfortranarray(np.asarray(lower))
    scratch = np.empty_like(fortran)
    (potrf,) = lapack.get_lapack_funcs(("potrf",), (fortran,))
    (trsv,) = blas.get_blas_funcs(("trsv",), (fortran,))

    def scipy_potrf(a):  # LAPACK in place on a Fortran copy refreshed first (timed apart)
        np.copyto(scratch, a)
        return potrf(scratch, lower=1, clean=0, overwrite_a=1)

    def scipy_trsv_pair(lf, r):
        return trsv(lf, trsv(lf, r, lower=1), lower=1, trans=1)

    def scipy_solve_triangular_pair(lf, r):
        y = sl.solve_triangular(lf, r, lower=True, check_finite=False)
        return sl.solve_triangular(lf, y, lower=True, trans="T", check_finite=False)

    gram_part = lambda p: objective.gram(p, batch)  # noqa: E731
    alone = {  # in a loop of SCAN calls (see _looped)
        "gram": (gram_part, (params,)),
        "factor": (lambda a: CholeskyFactor.of(a).packed, (shifted,)),
        "solves": (lambda u, r: CholeskyFactor(u.T).solve(r), (upper, residual)),
        "gram+factor": (lambda p: CholeskyFactor.of(gram_part(p)).packed, (params,)),
        "jnp_linalg_cholesky": (jnp.linalg.cholesky, (shifted,)),
        "jax_cho_factor": (lambda a: jsl.cho_factor(a, lower=True)[0], (shifted,)),
        "jax_cho_solve": (lambda c, r: jsl.cho_solve((c, True), r), (lower, residual)),
        "jax_solve_triangular": (
            lambda c, r: jsl.solve_triangular(c, r, lower=True),
            (lower, residual),
        ),
        "matvec": (lambda a, r: a @ r, (shifted, residual)),
        "loss": (lambda p: objective.loss(p, batch), (params,)),
        "loss_and_grad": (lambda p: jax.value_and_grad(objective.loss)(p, batch), (params,)),
    }
    calls = {
        "step": (step, (arrays,)),
        "step_legacy": (step_legacy, (arrays,)),
        **{name: (_looped(part, SCAN), args) for name, (part, args) in alone.items()},
        # one jitted call each, fresh output buffers included (as the issue timed them)
        "call_factor": (jax.jit(lambda a: CholeskyFactor.of(a).packed.T), (shifted,)),
        "call_jnp_linalg_cholesky": (jax.jit(jnp.linalg.cholesky), (shifted,)),
        "call_solves": (jax.jit(lambda u, r: CholeskyFactor(u.T).solve(r)), (upper, residual)),
        "call_jax_cho_solve": (
            jax.jit(lambda c, r: jsl.cho_solve((c, True), r)),
            (lower, residual),
        ),
        "scipy_cho_factor": (
            lambda a: sl.cho_factor(a, lower=True, check_finite=False),
            (matrix,),
        ),
        "scipy_copy": (lambda a: np.copyto(scratch, a), (fortran,)),
        "scipy_copy+potrf": (scipy_potrf, (fortran,)),
        "scipy_cho_solve": (
            lambda c, r: sl.cho_solve((c, True), r, check_finite=False),
            (factor_f, vector),
        ),
        "scipy_solve_triangular_x2": (scipy_solve_triangular_pair, (factor_f, vector)),
        "scipy_trsv_x2": (scipy_trsv_pair, (factor_f, vector)),
    }
    ms = _interleaved(calls, rounds)
    for name in ("step", "step_legacy", *alone):
        ms[name] /= SCAN
    ms["scipy_potrf"] = ms["scipy_copy+potrf"] - ms["scipy_copy"]
    profiles = {}
    for name, variant in (("step", step), ("step_legacy", step_legacy)):
        found = xla_profile.profile(variant, (arrays,), SCOPES)
        text = variant.as_text()
        profiles[name] = {
            "ms_by_scope": {k: v / SCAN for k, v in found["ms_by_scope"].items()},
            "ms_ops": found["ms_ops"] / SCAN,
            "top_ops": [{**op, "ms": op["ms"] / SCAN} for op in found["top_ops"]],
            "first_layer_forward_products": xla_profile.count_products(
                text, (n, d_in), (n, hidden)
            ),
            "first_layer_weight_gradients": xla_profile.count_products(
                text, (n, d_in), (hidden, d_in)
            ),
        }
    ratios = {
        "step/(gram+factor)": ms["step"] / (ms["gram"] + ms["factor"]),
        "step/gram+factor_one_program": ms["step"] / ms["gram+factor"],
        "factor/scipy_potrf": ms["factor"] / ms["scipy_potrf"],
        "factor/scipy_cho_factor": ms["factor"] / ms["scipy_cho_factor"],
        "jax_cho_factor/factor": ms["jax_cho_factor"] / ms["factor"],
        "call_jnp_linalg_cholesky/scipy_cho_factor": ms["call_jnp_linalg_cholesky"]
        / ms["scipy_cho_factor"],
        "step_legacy/step": ms["step_legacy"] / ms["step"],
        "jax_cho_solve/solves": ms["jax_cho_solve"] / ms["solves"],
        "call_jax_cho_solve/call_solves": ms["call_jax_cho_solve"] / ms["call_solves"],
        "solves/scipy_cho_solve": ms["solves"] / ms["scipy_cho_solve"],
        "solves/scipy_trsv_x2": ms["solves"] / ms["scipy_trsv_x2"],
        "jax_solve_triangular/matvec": ms["jax_solve_triangular"] / ms["matvec"],
    }
    return {
        "net": net,
        "m": int(kernel.shape[0]),
        "dtype": str(kernel.dtype),
        "scan": SCAN,
        "rounds": rounds,
        "ms": ms,
        "ratios": ratios,
        "profile": profiles,
    }


def lm_step(nets: list[str], rounds: int, threads: str) -> list[dict]:
    """:func:`_lm_step_child` of each net in a fresh interpreter; prints a table."""
    rows = []
    for net in nets:
        row, error = run_child(__file__, ["--lm-step-child", net, str(rounds)], threads)
        if row is None:
            print(f"{net}: error: {error[-500:]}")
            rows.append({"net": net, "error": error})
            continue
        rows.append(row)
        ms, ratios = row["ms"], row["ratios"]
        print(f"\n{net}: one LM step, m = {row['m']}, {row['dtype']}, median of {rounds}")
        for name, value in ms.items():
            print(f"  {name:28} {value:9.2f} ms")
        for name, value in ratios.items():
            print(f"  {name:38} {value:6.2f}")
        for name, prof in row["profile"].items():
            parts = ", ".join(f"{k} {v:.2f}" for k, v in sorted(prof["ms_by_scope"].items()))
            print(
                f"  profile {name}: {prof['ms_ops']:.2f} ms of operations per step ({parts}); "
                f"first-layer forward products {prof['first_layer_forward_products']}, "
                f"weight gradients {prof['first_layer_weight_gradients']}"
            )
    return rows


def measure(net: str, method: str, steps: int, threads: str) -> dict:
    row, error = run_child(__file__, ["--child", net, method, str(steps)], threads)
    if row is None:
        return {"net": net, "method": method, "threads": threads, "error": error}
    row["threads"] = threads
    return row


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        print(json.dumps(_child(argv[1], argv[2], int(argv[3]))))
        return 0
    if argv[:1] == ["--lm-step-child"]:
        print(json.dumps(_lm_step_child(argv[1], int(argv[2]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the CPU net only, fewer steps")
    parser.add_argument("--threads", default="1", help="OPENBLAS_NUM_THREADS values, e.g. 1,2")
    parser.add_argument("--from-run", type=Path, help="a finished run of the spec to summarise")
    parser.add_argument("--run-default", action="store_true", help="run the default profile")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--lm-step", action="store_true", help="profile one LM step instead")
    parser.add_argument("--nets", default=",".join(NETS), help="nets for --lm-step")
    parser.add_argument("--repeats", type=int, default=9, help="rounds of --lm-step timings")
    args = parser.parse_args(argv)
    if args.lm_step:
        rows = lm_step(args.nets.split(","), args.repeats, args.threads.split(",")[0])
        result = {
            "benchmark": "mnist-lm-step",
            "date": datetime.now().isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "threads": args.threads.split(",")[0],
            "lm_step": rows,
        }
        if args.json:
            args.json.write_text(json.dumps(result, indent=2) + "\n")
        return 0

    rows = []
    nets = ["cpu"] if args.quick else list(NETS)
    print(f"{'net':8} {'method':12} {'threads':>7} {'per step':>10} {'first chunk':>12}")
    for net in nets:
        for method in METHODS:
            steps = STEPS[method] // (4 if args.quick else 1)
            for threads in args.threads.split(","):
                row = measure(net, method, steps, threads.strip())
                rows.append(row)
                if "error" in row:
                    print(f"{net:8} {method:12} {threads:>7} error: {row['error'][-200:]}")
                    continue
                print(
                    f"{net:8} {method:12} {threads:>7} {row['per_step_s'] * 1e3:8.2f}ms "
                    f"{row['first_chunk_s']:11.2f}s",
                    flush=True,
                )
    result: dict = {
        "benchmark": "mnist",
        "date": datetime.now().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "per_step": rows,
    }
    run_dir = args.from_run
    if args.run_default:
        out = ROOT / "reports"
        subprocess.run(
            [sys.executable, "-m", "runner.cli", "run", "specs/grokking_mnist.yaml", "--out", out],
            cwd=ROOT,
        )
        run_dir = (out / "latest").resolve()
    if run_dir is not None:
        summary = result["default_run"] = run_summary(run_dir)
        for name, seconds in summary["cell_seconds_by_optimizer"].items():
            print(f"  {name:14} {seconds:7.1f} s of cell time")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    run_main(main)
