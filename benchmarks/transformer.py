"""Per-step cost of the transformer grokking runs (specs/transformer_modular.yaml), the cost of the
GGN curvature product against a naive explicit Jacobian, and the paper profile's total time
extrapolated to this machine.

Per-step time of AdamW and of GGN (CG on ``(mu I + J^T H J) h = g``, then Armijo backtracking)
on the spec's two-block decoder-only transformer, at two sizes:

* ``default`` -- the spec's default profile (CPU variant): p = 23, d_model 64, FFN 256, 4 heads,
  full batch of the 264 train equations, loss on the "=" position, CG <= 30;
* ``paper``   -- Table 4 (the spec's ``paper`` profile): p = 97, d_model 128, FFN 512, 4 heads,
  batch 512 of the 4 704 train equations, loss positions "rhs" (2 per equation), CG <= 150.

Each measurement is one cell of the spec: the cell ``runner plan`` gives for that profile and
optimizer (seed 0; every setting, optimizer hyperparameters included, read from the spec), with
only ``steps`` and ``eval_every = steps / 4`` changed, run through :func:`runner.cell.run_cell`
(the same code path as ``runner run``) in a fresh interpreter. The first of the 4 chunks holds
the compilation, so the per-step time is the time of chunks 2-4 over their 3/4 steps, one
evaluation (train and validation sets) per chunk included, timed from the end of the first
chunk's evaluation to the end of the last (``run_cell``'s ``on_chunk``). benchmarks/mnist.py's
``(total - first chunk) / (3/4 steps)`` is reported too (``per_step_total_minus_first_s``); it
also holds the evaluations at step 0 and after chunk 1, one with the evaluation's compilation.
The same interpreter then times one evaluation alone (``eval_s``, median of 3 jitted calls),
which gives the training time of a step (``train_step_s``: per-step time less 3 evaluations over
the measured steps) and the compilation (``compile_s``: first chunk less its steps).

GGN rows give the mean CG iterations and Armijo halvings per step over the measured steps
(records ``ggn/cg_iterations``, ``search/halvings``; the full per-step lists too). The damping
starts at mu = 1 and reaches 0.1 at step 200, so the first steps, the only ones measured here,
may need fewer CG iterations than later ones. Each GGN row therefore also times one CG
iteration (one more GGN product on a batch of the cell's size in one jitted call:
``(t(5 products) - t(1)) / 4``) and gives ``train_step_at_cg_cap_s = train_step_s + (cg_max -
cg_iterations_mean) * cg_iteration_s``: the step if CG always ran to its cap. ``ggn_over_adam``
is the ratio of GGN's to Adam's step time at one size, with and without evaluations (a ratio
survives the machine's drifting load better than either time alone).

``naive``: at a small size (the default profile's task, full batch, d_model 16, FFN 64, one
block: J is (264 x 26) x 3 968 float32, 109 MB), one GGN product ``v -> (1/N) J^T H J v`` two ways,
each one jitted function of ``(params, v)``, timed after a first call with
``jax.block_until_ready`` (median of 5 calls, of 2 for the explicit form):
``core.optim.ggn_matvec`` (linearize, jvp -> H -> vjp: the matrix-free product CG uses) against
the explicit form (``core.curvature.materialized_jacobian`` of the flat logits, then ``J^T (H (J
v)) / N``). Reported: both times and their ratio, the explicit product alone once J is formed,
J's shape and bytes, the relative difference of the two results, and J's own check
``||J v - jvp(v)|| / ||jvp(v)||`` (on jax 0.10.2's CPU backend the jitted ``jacrev`` of this
transformer is wrong at most small sizes, though right at this one; the check says so if not).

``extrapolation``: each cell of the spec's ``paper`` profile (adam: 100 000 Adam steps; ggn:
3 000 GGN steps; ggn_then_adam: 3 000 GGN + 100 000 Adam steps; one seed; evaluations every 500
or 50 steps; read from the plan) costs its steps x ``train_step_s`` + its evaluations x
``eval_s`` + ``compile_s`` of each optimizer it uses, at the ``paper`` size's measured times;
``paper_at_cg_cap`` uses ``train_step_at_cg_cap_s`` for GGN. It is an extrapolation, not a run.
The same for the default profile, which ``--from-run RUN_DIR`` (a finished run's manifest: wall
time, cell time by optimizer) can check.

    python benchmarks/transformer.py [--quick] [--from-run RUN_DIR] [--json PATH]
"""

from __future__ import annotations

import argparse
import functools
import importlib.metadata
import json
import os
import platform
import statistics
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from common import run_child, run_main, run_summary, time_calls  # benchmarks/common.py

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "transformer_modular.yaml"

# size: the spec's profile whose planned cells it measures, and model changes on top ("smoke":
# the tests; "naive": the explicit-Jacobian comparison, J = (264 x 26) x 3 968 float32, 109 MB)
SIZES: dict[str, dict[str, Any]] = {
    "default": {"profile": "default"},
    "paper": {"profile": "paper"},
    "smoke": {"profile": "smoke"},
    "naive": {"profile": "default", "model": {"layers": 1, "d_model": 16, "d_ffn": 64}},
}
METHODS = ("adam", "ggn")
# steps per measurement (a multiple of 4: 4 chunks); --quick divides by QUICK (at least 4)
STEPS = {
    ("default", "adam"): 2000,
    ("default", "ggn"): 40,
    ("paper", "adam"): 320,
    ("paper", "ggn"): 8,
}
QUICK = 4
FREE_REPEATS = 5  # the matrix-free product and the product with J formed
NAIVE_REPEATS = 2  # the explicit form: ~15 s a call at the naive size on the 2-core machine


@functools.cache
def _planned(profile: str) -> str:
    """``{optimizer: params}`` of the first seed's cells of a profile of the spec (JSON text, so
    the cache hands out copies)."""
    from runner.load import load_spec
    from runner.plan import plan

    loaded = load_spec(SPEC, profile=profile)
    cells: dict[str, dict] = {}
    for cell in plan(loaded.spec, loaded.resolved):
        cells.setdefault(cell.optimizer, cell.params)
    return json.dumps(cells)


def cell_config(size: str, method: str, steps: int) -> dict:
    """The spec's planned cell of ``method`` (seed 0) in the size's profile, with its model
    changes, ``steps`` steps and an evaluation every ``steps // 4``: the resolved parameters
    ``runner run`` would train, key for key."""
    config = json.loads(_planned(SIZES[size]["profile"]))[method]
    config["model"].update(SIZES[size].get("model", {}))
    config["train"].update(steps=steps, eval_every=steps // 4)
    config["seed"] = 0
    return config


def describe(size: str) -> dict:
    """What a size measures: task, model, batch, GGN's CG cap and Adam's settings."""
    adam, ggn = (cell_config(size, method, 4) for method in METHODS)
    return {
        **SIZES[size],
        "task": adam["task"],
        "model": adam["model"],
        "batch_size": adam["train"]["batch_size"],
        "precision": adam["train"]["precision"],
        "cg_max_iterations": ggn["optimizer"]["cg_max_iterations"],
        "ggn": {k: v for k, v in ggn["optimizer"].items() if k != "name"},
        "adam": {k: v for k, v in adam["optimizer"].items() if k != "name"},
    }


def _problem(config: dict) -> tuple[Any, Any, Any]:
    """``(problem, objective, params)`` of a cell config, built as :func:`runner.cell.run_cell`
    builds them."""
    from runner.cell import build

    _, problem, objective, params = build(config)
    return problem, objective, params


def _parameter_count(params: Any) -> int:
    import jax

    return int(sum(leaf.size for leaf in jax.tree.leaves(params)))


def _median_time(fn: Any, *args: Any, repeats: int) -> tuple[float, float, Any]:
    """``(median, first, output)``: the first call (compilation included) on its own, then the
    median of ``repeats`` calls (:func:`common.time_calls`)."""
    first, times, out = time_calls(fn, args, repeats)
    return statistics.median(times), first, out


def evaluation_seconds(config: dict, repeats: int = 3) -> float:
    """One evaluation of the cell's metrics (the call ``core.training`` makes after every chunk)."""
    from core import training
    from runner.cell import CellKinds, evaluator

    problem, objective, params = _problem(config)
    evaluate = evaluator(CellKinds.of(config).metrics, problem.grid_shape)
    data = {
        "inputs": problem.evaluation[0],
        "targets": problem.evaluation[1],
        "train": problem.train_data,
        "params0": params,
    }
    seconds, _, _ = _median_time(
        lambda p: training._evaluate(evaluate, objective, p, data), params, repeats=repeats
    )
    return seconds


def cg_iteration_seconds(config: dict, extra: int = 4, repeats: int = 3) -> float:
    """One more GGN product on a batch of the cell's size: ``(t(1 + extra) - t(1)) / extra``,
    where ``t(k)`` is one jitted call that linearizes the logits and applies ``G`` k times (the
    linearization is made once per GGN step; each CG iteration applies ``G`` once)."""
    import jax
    import optax

    from core.optim import ggn_matvec

    problem, objective, params = _problem(config)
    inputs = problem.train_data[0][: config["train"]["batch_size"] or None]

    @jax.jit
    def applied(p: Any, times: jax.Array) -> Any:  # one compilation for every ``times``
        _, matvec = ggn_matvec(lambda q: objective.logits(q, inputs), p)

        def body(_: Any, v: Any) -> Any:
            gv = matvec(v)
            norm = optax.tree.norm(gv)
            return jax.tree.map(lambda x: x / norm, gv)

        return jax.lax.fori_loop(0, times, body, p)

    one, _, _ = _median_time(applied, params, 1, repeats=repeats)
    more, _, _ = _median_time(applied, params, 1 + extra, repeats=repeats)
    return max(more - one, 0.0) / extra


def _child(size: str, method: str, steps: int) -> dict:
    """One cell through ``run_cell``: its per-step time and, for GGN, CG iterations and halvings;
    then, in the same process, the time of one evaluation and (GGN) of one CG iteration."""
    import numpy as np

    from runner.cell import run_cell

    config = cell_config(size, method, steps)
    problem, _, params = _problem(config)
    stamps: list[float] = []  # after each chunk and its evaluation
    outcome = run_cell(config, on_chunk=lambda _: stamps.append(time.perf_counter()))
    total, first = outcome.timings["total_s"], outcome.timings["first_chunk_s"]
    chunk = steps // 4
    measured = steps - chunk
    # chunks 2-4 and their 3 evaluations; total - first would also hold the evaluation at step 0
    # and after chunk 1, the first of them with the evaluation's compilation
    per_step = (stamps[-1] - stamps[0]) / measured
    eval_s = evaluation_seconds(config)
    train_step = max(per_step - 3 * eval_s / measured, 0.0)
    n_train = int(problem.train_data[0].shape[0])
    row: dict[str, Any] = {
        "size": size,
        "method": method,
        "steps": steps,
        "per_step_s": per_step,
        "per_step_total_minus_first_s": (total - first) / measured,  # benchmarks/mnist.py's
        "first_chunk_s": first,
        "total_s": total,
        "eval_s": eval_s,
        "train_step_s": train_step,
        "compile_s": max(first - chunk * train_step, 0.0),
        "parameters": _parameter_count(params),
        "train_equations": n_train,
        "batch": min(config["train"]["batch_size"] or n_train, n_train),
        "final_train_loss": float(outcome.metrics["train_loss"][-1]),
    }
    if method == "ggn":
        cg = np.asarray(outcome.records["ggn/cg_iterations"], dtype=float)
        halvings = np.asarray(outcome.records["search/halvings"], dtype=float)
        accepted = np.asarray(outcome.records["search/accepted"], dtype=float)
        cg_max = config["optimizer"]["cg_max_iterations"]
        iteration_s = cg_iteration_seconds(config)
        row.update(
            cg_max_iterations=cg_max,
            cg_iterations=[int(c) for c in cg],
            cg_iterations_mean=float(cg[chunk:].mean()),
            halvings=[int(h) for h in halvings],
            halvings_mean=float(halvings[chunk:].mean()),
            accepted_fraction=float(accepted[chunk:].mean()),
            cg_iteration_s=iteration_s,
            train_step_at_cg_cap_s=train_step + (cg_max - float(cg[chunk:].mean())) * iteration_s,
        )
    return row


def naive_comparison(
    size: str = "naive", repeats: int = NAIVE_REPEATS, jacobian: str = "jacrev"
) -> dict:
    """One GGN product ``(1/N) J^T H J v``: matrix-free (``core.optim.ggn_matvec``) against the
    explicit Jacobian, jitted, on a cell's full batch.

    ``jacobian``: ``"jacrev"`` builds J with ``core.curvature.materialized_jacobian`` (the
    benchmark's naive form); ``"rows"`` row by row, one vjp each in a ``lax.map`` loop (the tests:
    on jax 0.10.2's CPU backend the jitted ``jacrev``, a vmap of vjps, of this transformer is wrong
    at most small sizes, see ``jacobian_vs_jvp``; the loop is right). ``jacobian_vs_jvp`` checks J
    itself: ``||J v - jvp(v)|| / ||jvp(v)||``."""
    import jax
    import jax.numpy as jnp
    from jax.flatten_util import ravel_pytree

    from core.curvature import materialized_jacobian
    from core.optim import ggn_matvec, softmax_hessian_product

    config = cell_config(size, "ggn", 4)
    problem, objective, params = _problem(config)
    inputs = problem.train_data[0]
    flat, unravel = ravel_pytree(params)

    def logits_fn(p: Any) -> jax.Array:
        return objective.logits(p, inputs)

    @jax.jit
    def matrix_free(theta: jax.Array, v: jax.Array) -> jax.Array:
        _, matvec = ggn_matvec(logits_fn, unravel(theta))
        return ravel_pytree(matvec(unravel(v)))[0]

    @jax.jit
    def product(logits: jax.Array, jac: jax.Array, v: jax.Array) -> jax.Array:
        jv = (jac @ v).reshape(logits.shape)
        return jac.T @ softmax_hessian_product(logits, jv).reshape(-1) / logits.shape[0]

    @jax.jit
    def naive(theta: jax.Array, v: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        p = unravel(theta)
        logits = logits_fn(p)
        if jacobian == "rows":  # one vjp per row in a sequential loop, no vmap
            _, pullback = jax.vjp(lambda t: logits_fn(unravel(t)).reshape(-1), theta)
            eye = jnp.eye(logits.size, dtype=theta.dtype)
            jac = jax.lax.map(lambda row: pullback(row)[0], eye)
        else:
            jac = materialized_jacobian(lambda q: logits_fn(q).reshape(-1), p)
        return product(logits, jac, v), logits, jac  # J is formed anyway; returned for its size

    v = jax.random.normal(jax.random.PRNGKey(1), flat.shape, flat.dtype)
    free_s, free_first, free_out = _median_time(matrix_free, flat, v, repeats=FREE_REPEATS)
    naive_s, naive_first, (naive_out, logits, jac) = _median_time(naive, flat, v, repeats=repeats)
    product_s, _, _ = _median_time(product, logits, jac, v, repeats=FREE_REPEATS)
    difference = float(jnp.linalg.norm(free_out - naive_out) / jnp.linalg.norm(naive_out))
    jv = jax.jit(lambda t, u: jax.jvp(lambda q: logits_fn(unravel(q)).reshape(-1), (t,), (u,))[1])(
        flat, v
    )
    jacobian_error = float(jnp.linalg.norm(jac @ v - jv) / jnp.linalg.norm(jv))
    return {
        "size": size,
        "jacobian": "core.curvature.materialized_jacobian (jax.jacrev)"
        if jacobian == "jacrev"
        else "rows: one vjp per row (lax.map)",
        "parameters": int(flat.size),
        "logits": list(logits.shape),
        "jacobian_shape": list(jac.shape),
        "jacobian_bytes": int(jac.size * jac.dtype.itemsize),
        "repeats": repeats,
        "matrix_free_s": free_s,
        "naive_s": naive_s,
        "naive_over_matrix_free": naive_s / free_s,
        "naive_product_given_j_s": product_s,
        "matrix_free_first_call_s": free_first,
        "naive_first_call_s": naive_first,
        "relative_difference": difference,
        "jacobian_vs_jvp": jacobian_error,
    }


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def measure(size: str, method: str, steps: int, threads: str = "1") -> dict:
    """:func:`_child` in a fresh interpreter, with the load average before and after."""
    before = _loadavg()
    row, error = run_child(__file__, ["--child", size, method, str(steps)], threads)
    if row is None:
        return {"size": size, "method": method, "threads": threads, "error": error}
    row.update(threads=threads, loadavg_before=before, loadavg_after=_loadavg())
    return row


def profile_cells(profile: str) -> list[dict]:
    """Each cell of a profile of the spec: optimizer, seed, its GGN and Adam step counts and its
    number of evaluations (every ``eval_every`` steps and at step 0)."""
    from runner.load import load_spec
    from runner.plan import plan

    loaded = load_spec(SPEC, profile=profile)
    cells = []
    for cell in plan(loaded.spec, loaded.resolved):
        optimizer, train = cell.params["optimizer"], cell.params["train"]
        steps = train["steps"]
        counts = {"ggn": 0, "adam": 0}
        if optimizer["kind"] == "switch":
            at = min(optimizer["at"], steps)
            counts[_method(optimizer["first"]["kind"])] += at
            counts[_method(optimizer["second"]["kind"])] += steps - at
        else:
            counts[_method(optimizer["kind"])] += steps
        evals = 1 + -(-steps // train["eval_every"])  # one after every chunk, the last may be short
        cells.append({"cell": cell.optimizer, "seed": cell.seed, **counts, "evals": evals})
    return cells


def _method(kind: str) -> str:
    if kind in ("adam", "adamw"):
        return "adam"
    if kind == "ggn":
        return "ggn"
    raise ValueError(f"no per-step time for optimizer kind {kind!r}")


def extrapolate(
    step_s: dict[str, float],
    eval_s: float,
    cells: list[dict],
    profile: str,
    compile_s: dict[str, float] | None = None,
) -> dict:
    """Total time of ``cells`` (GGN and Adam step counts, evaluations each): steps x the training
    time of one step (``step_s``, evaluation excluded) + evaluations x ``eval_s`` + the compilation
    of each method the cell uses (``compile_s``, 0 if not given)."""
    compile_s = compile_s or {}
    rows = []
    for cell in cells:
        seconds = sum(
            cell[m] * step_s[m] + (compile_s.get(m, 0.0) if cell[m] else 0.0) for m in METHODS
        )
        seconds += cell["evals"] * eval_s
        rows.append({**cell, "seconds": seconds})
    total = sum(row["seconds"] for row in rows)
    return {
        "profile": profile,
        "kind": "extrapolation, not a run: each cell's steps x the measured training time per step"
        " + its evaluations x the measured evaluation time + the measured compilation",
        "train_step_s": dict(step_s),
        "eval_s": eval_s,
        "compile_s": dict(compile_s),
        "cells": rows,
        "total_s": total,
        "total_hours": total / 3600.0,
    }


def size_extrapolation(rows: list[dict], size: str, profile: str, cap: bool = False) -> dict | None:
    """:func:`extrapolate` with the measured rows of ``size`` (``cap``: GGN at the CG cap)."""
    found = {r["method"]: r for r in rows if r.get("size") == size and "error" not in r}
    if not all(m in found for m in METHODS):
        return None
    step_s = {m: found[m]["train_step_s"] for m in METHODS}
    if cap:
        step_s["ggn"] = found["ggn"]["train_step_at_cg_cap_s"]
    eval_s = statistics.mean(found[m]["eval_s"] for m in METHODS)
    compile_s = {m: found[m]["compile_s"] for m in METHODS}
    return extrapolate(step_s, eval_s, profile_cells(profile), profile, compile_s)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        print(json.dumps(_child(argv[1], argv[2], int(argv[3]))))
        return 0
    if argv[:1] == ["--child-naive"]:
        print(json.dumps(naive_comparison(argv[1], int(argv[2]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"steps / {QUICK} (at least 4); one call of the explicit form",
    )
    parser.add_argument("--from-run", type=Path, help="a finished run of the spec to summarise")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "1")

    started = datetime.now().isoformat(timespec="seconds")
    load_start = _loadavg()
    clock = time.perf_counter()
    rows = []
    print(
        f"{'size':8} {'method':6} {'steps':>5} {'per step':>11} {'train step':>11} "
        f"{'eval':>8} {'first chunk':>11} {'CG':>6} {'halvings':>8}"
    )
    for size in ("default", "paper"):
        for method in METHODS:
            steps = STEPS[size, method]
            if args.quick:
                steps = max(4, steps // QUICK // 4 * 4)
            row = measure(size, method, steps, threads)
            rows.append(row)
            if "error" in row:
                print(f"{size:8} {method:6} error: {row['error'][-300:]}", flush=True)
                continue
            extra = ""
            if method == "ggn":
                extra = f" {row['cg_iterations_mean']:6.1f} {row['halvings_mean']:8.2f}"
            print(
                f"{size:8} {method:6} {steps:5d} {row['per_step_s'] * 1e3:9.1f}ms "
                f"{row['train_step_s'] * 1e3:9.1f}ms {row['eval_s'] * 1e3:6.0f}ms "
                f"{row['first_chunk_s']:10.1f}s{extra}",
                flush=True,
            )

    ratios: dict[str, dict[str, float]] = {}
    for size in ("default", "paper"):
        found = {r["method"]: r for r in rows if r.get("size") == size and "error" not in r}
        if all(m in found for m in METHODS):
            ratios[size] = {
                key: found["ggn"][key] / found["adam"][key]
                for key in ("per_step_s", "train_step_s")
            }
            print(
                f"{size}: GGN step / Adam step = {ratios[size]['per_step_s']:.1f} "
                f"(training alone: {ratios[size]['train_step_s']:.1f})"
            )

    repeats = 1 if args.quick else NAIVE_REPEATS
    naive, error = run_child(__file__, ["--child-naive", "naive", str(repeats)], threads)
    if naive is None:
        naive = {"error": error}
        print(f"naive: error: {error[-300:]}")
    else:
        print(
            f"naive ({naive['size']}, p = {naive['parameters']}, J {naive['jacobian_shape']} = "
            f"{naive['jacobian_bytes'] / 2**20:.0f} MiB): matrix-free "
            f"{naive['matrix_free_s'] * 1e3:.2f} ms, naive {naive['naive_s'] * 1e3:.1f} ms "
            f"({naive['naive_over_matrix_free']:.0f}x; product alone with J formed "
            f"{naive['naive_product_given_j_s'] * 1e3:.2f} ms), relative difference "
            f"{naive['relative_difference']:.1e}"
        )

    extrapolations = {}
    for profile in ("paper", "default"):
        for cap in (False, True):
            estimate = size_extrapolation(rows, profile, profile, cap=cap)
            if estimate is not None:
                extrapolations[f"{profile}_at_cg_cap" if cap else profile] = estimate
    for name, estimate in extrapolations.items():
        print(f"extrapolated {name}: {estimate['total_hours']:.2f} h on this machine")

    result: dict[str, Any] = {
        "benchmark": "transformer",
        "date": started,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "loadavg_start": load_start,
        "loadavg_end": _loadavg(),
        "openblas_num_threads": threads,
        "xla_flags": os.environ.get("XLA_FLAGS"),
        "jax": importlib.metadata.version("jax"),
        "jaxlib": importlib.metadata.version("jaxlib"),
        "quick": args.quick,
        "sizes": {name: describe(name) for name in ("default", "paper", "naive")},
        "per_step": rows,
        "ggn_over_adam": ratios,
        "naive": naive,
        "extrapolation": extrapolations,
        "benchmark_wall_s": time.perf_counter() - clock,
    }
    if args.from_run is not None:
        summary = result["default_run"] = run_summary(args.from_run)
        profile = summary["profile"]
        if profile in extrapolations:
            estimate = extrapolations[profile]["total_s"]
            summary["extrapolated_s"] = estimate
            print(f"  the extrapolation of its profile ({profile}) says {estimate:.0f} s")
    print(f"load average: start {load_start}, end {result['loadavg_end']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    run_main(main)
