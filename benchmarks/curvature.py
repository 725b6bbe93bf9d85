"""Curvature benchmark: cost and accuracy of the residual-space LM / GN directions in ``core``.

What is measured (float32 unless stated, CPU; every call blocked with ``jax.block_until_ready``):

1. ``lm``: one Levenberg-Marquardt direction ``J^T (mu I + J J^T)^{-1} r`` (``mu = 1e-2``) for the
   MLP 784-250-250-10 (relu, glorot_uniform) on 200 seeded ``jax.random.normal`` inputs with random
   one-hot targets: ``m = 2000`` residuals of ``MeanSquaredError(convention="loss")``. Methods:

   * ``naive``: flat ``J`` (``core.curvature.materialized_jacobian``), ``K = J J^T``, Cholesky dual
     solve, ``d = J^T y``; written here, it is the reference (time ratio and relative error);
   * ``lm-cholesky`` / ``lm-eigh``: ``core.optim.scale_by_levenberg_marquardt`` with the
     structured Gram that the objective supplies (``gram_fn``);
   * ``lm-cg10`` / ``lm-cg30``: matrix-free CG with 10 / 30 iterations (``cg_tol=0``, no early
     exit).

   Each method is one jitted call of ``tx.update(grads, state, params, **extra_args)``.
2. ``gn``: Gauss-Newton direction (``eps = 1e-6``, absolute cut-off) for the MLP 1-80-80-1 (tanh,
   kaiming_uniform), float64, on the 100 points of ``core.tasks.regression_1d()``: ``eigh`` of ``K``
   against ``svd`` of the flat ``J`` (the reference), plus one AdamW step for scale.
3. Memory: the largest intermediate array (element count) in each jitted step's jaxpr, walking
   sub-jaxprs (pjit, scan, while, cond, custom_jvp, ...), against ``p^2`` (``p`` = parameters).
   No residual-space method should reach ``p^2``; the naive one holds ``m x p``.

Timing: a method's first call (trace + compile + run) is timed on its own; then ``--repeats``
calls give median / min / max step times; "compile" is the first call minus the median, and
"aot" the wall time of ``jax.jit(...).lower(...).compile()`` on a fresh copy of the function (the
difference is noise-prone when step times vary, as the naive method's do).

``--compare-threads`` re-runs ``lm-cholesky``, ``lm-eigh`` and ``gn-eigh`` in two fresh
interpreters with ``OPENBLAS_NUM_THREADS=1`` and ``=2`` (JAX's CPU Cholesky / eigh / SVD run in
scipy's OpenBLAS; this script, like ``runner``, applies the 1-thread default of
``runner/threads.py`` unless the variable is set).

Run from the repository root::

    python benchmarks/curvature.py [--quick] [--json PATH] [--compare-threads]

``--section {all,lm,gn,threads,none}`` restricts the in-process sections (``threads`` is the set
the thread comparison re-runs; ``none`` with ``--compare-threads`` runs only the comparison), and
``--json -`` writes the JSON to stdout (the table then goes to stderr): that is the child mode.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TextIO

from common import time_calls  # benchmarks/common.py (loads neither numpy nor jax)

import runner.threads  # imports neither numpy nor jax

# First: the OpenBLAS thread default (runner/threads.py), before numpy / scipy load.
runner.threads.apply_thread_defaults()

# isort: split
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import jax.scipy.linalg as jsl  # noqa: E402
import optax  # noqa: E402
from jax.flatten_util import ravel_pytree  # noqa: E402
from threadpoolctl import threadpool_info  # noqa: E402

from core.curvature import materialized_jacobian  # noqa: E402
from core.diagnostics import largest_intermediate  # noqa: E402
from core.models import make_mlp, parameter_count, partition_trainable  # noqa: E402
from core.objectives import MeanSquaredError  # noqa: E402
from core.optim import collect_info, scale_by_gauss_newton, scale_by_levenberg_marquardt  # noqa: E402
from core.tasks import regression_1d  # noqa: E402

LM_DAMPING = 1e-2
GN_EPS = 1e-6
THREAD_METHODS = ("lm-cholesky", "lm-eigh", "gn-eigh")
THREAD_SETTINGS = ("1", "2")


# --- measurement helpers -----------------------------------------------------------------------


@dataclass
class Timing:
    first_s: float
    compile_s: float
    median_s: float
    min_s: float
    max_s: float
    repeats: int
    aot_compile_s: float | None = None  # fn.lower(...).compile(): trace + lower + compile only


def time_aot_compile(fn: Any, args: tuple) -> float:
    """Wall time of ``fn.lower(*args).compile()`` for a fresh ``jax.jit`` function.

    ``fn`` must be a new jitted closure: JAX caches the trace, and with it the compiled program,
    per Python function, so lowering a function that already ran measures nothing.
    """
    start = time.perf_counter()
    fn.lower(*args).compile()
    return time.perf_counter() - start


def time_call(fn: Callable[..., Any], args: tuple, repeats: int) -> tuple[Timing, Any]:
    """Time the first call, then ``repeats`` steady-state calls (:func:`common.time_calls`);
    return the timing and output."""
    first, steps, out = time_calls(fn, args, repeats)
    median = statistics.median(steps)
    return Timing(first, first - median, median, min(steps), max(steps), repeats), out


def relative_error(tree: Any, reference: Any) -> float:
    flat, _ = ravel_pytree(tree)
    flat_ref, _ = ravel_pytree(reference)
    return float(jnp.linalg.norm(flat - flat_ref) / jnp.linalg.norm(flat_ref))


@dataclass
class Row:
    name: str
    timing: Timing
    max_elements: int
    p_squared: int
    ratio_vs_ref: float | None = None
    rel_error_vs_ref: float | None = None
    note: str = ""

    @property
    def reaches_p_squared(self) -> bool:
        return self.max_elements >= self.p_squared

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "reaches_p_squared": self.reaches_p_squared}


def measure(
    name: str, make_fn: Callable[[], Callable], args: tuple, repeats: int, p: int
) -> tuple[Row, Any]:
    """One table row (no reference columns yet) and the output of ``make_fn()(*args)``.

    ``make_fn`` builds a fresh jitted function; it is called twice (timed calls, AOT compile).
    """
    fn = make_fn()
    timing, out = time_call(fn, args, repeats)
    timing.aot_compile_s = time_aot_compile(make_fn(), args)
    return Row(name, timing, largest_intermediate(fn, *args).size, p * p), out


def fill_reference(rows: list[Row], outputs: dict[str, Any], ref: str) -> None:
    """Time ratio and relative direction error of every row against row ``ref``."""
    ref_row = next(row for row in rows if row.name == ref)
    for row in rows:
        row.ratio_vs_ref = ref_row.timing.median_s / row.timing.median_s
        if row.name in outputs:
            row.rel_error_vs_ref = relative_error(outputs[row.name], outputs[ref])


# --- problems and steps ------------------------------------------------------------------------


def lm_problem(seed: int = 0) -> tuple[Any, MeanSquaredError, tuple]:
    """MLP 784-250-250-10 and a batch of 200 random inputs with random one-hot targets."""
    model_key, x_key, y_key = jax.random.split(jax.random.key(seed), 3)
    mlp = make_mlp(model_key, (784, 250, 250, 10), activation="relu", initializer="glorot_uniform")
    params, static = partition_trainable(mlp)
    inputs = jax.random.normal(x_key, (200, 784), jnp.float32)
    targets = jax.nn.one_hot(jax.random.randint(y_key, (200,), 0, 10), 10, dtype=jnp.float32)
    return params, MeanSquaredError(static, convention="loss"), (inputs, targets)


def gn_problem(seed: int = 0) -> tuple[Any, MeanSquaredError, tuple]:
    """MLP 1-80-80-1 (tanh) and the 100 points of ``regression_1d``."""
    mlp = make_mlp(
        jax.random.key(seed), (1, 80, 80, 1), activation="tanh", initializer="kaiming_uniform"
    )
    params, static = partition_trainable(mlp)
    data = regression_1d(100)
    return params, MeanSquaredError(static, convention="loss"), (data.inputs, data.targets)


def direction_step(tx: optax.GradientTransformationExtraArgs, objective: MeanSquaredError):
    """Jitted ``(grads, state, params, batch) -> (direction, state)`` of a ``scale_by_*``."""

    def step(grads, state, params, batch):
        return tx.update(grads, state, params, **objective.extra_args(params, batch))

    return jax.jit(step)


def info_note(state: Any) -> str:
    """The solver diagnostics worth a table note: GN modes kept, CG relative residual."""
    info = collect_info(state)
    notes = []
    if "gn/kept_modes" in info:
        notes.append(f"kept {int(info['gn/kept_modes'])} modes")
    if "lm/cg_iterations" in info and int(info["lm/cg_iterations"]) > 0:
        notes.append(
            f"cg {int(info['lm/cg_iterations'])} it, rel.res {float(info['lm/cg_residual']):.1e}"
        )
    return ", ".join(notes)


def measure_direction(name, tx, objective, params, batch, grads, repeats, p):
    """A row for ``tx``'s jitted direction step, and the direction."""
    args = (grads, tx.init(params), params, batch)
    make = lambda: direction_step(tx, objective)  # noqa: E731
    row, (direction, state) = measure(name, make, args, repeats, p)
    row.note = info_note(state)
    return row, direction


def naive_lm_step(objective: MeanSquaredError, damping: float):
    """The baseline: flat ``J``, ``K = J J^T``, Cholesky of ``mu I + K``, ``d = J^T y``."""

    def step(params, batch):
        residual_fn = lambda p: objective.residual(p, batch)  # noqa: E731
        _, unravel = ravel_pytree(params)
        jacobian = materialized_jacobian(residual_fn, params)
        gram = jacobian @ jacobian.T
        shifted = gram + damping * jnp.eye(gram.shape[0], dtype=gram.dtype)
        dual = jsl.cho_solve(jsl.cho_factor(shifted, lower=True), residual_fn(params))
        return unravel(jacobian.T @ dual)

    return jax.jit(step)


def adamw_step(objective: MeanSquaredError, tx: optax.GradientTransformation):
    """Jitted ``(params, opt_state, batch) -> (params, opt_state)``: one AdamW step."""

    def step(params, opt_state, batch):
        _, grads = jax.value_and_grad(objective.loss)(params, batch)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    return jax.jit(step)


def _lm_transforms() -> dict[str, optax.GradientTransformationExtraArgs]:
    return {
        "lm-cholesky": scale_by_levenberg_marquardt(LM_DAMPING, solver="cholesky"),
        "lm-eigh": scale_by_levenberg_marquardt(LM_DAMPING, solver="eigh"),
        "lm-cg10": scale_by_levenberg_marquardt(
            LM_DAMPING, solver="cg", cg_max_iterations=10, cg_tol=0.0
        ),
        "lm-cg30": scale_by_levenberg_marquardt(
            LM_DAMPING, solver="cg", cg_max_iterations=30, cg_tol=0.0
        ),
    }


def _gn_transforms() -> dict[str, optax.GradientTransformationExtraArgs]:
    return {
        "gn-svd": scale_by_gauss_newton(GN_EPS, solver="svd"),
        "gn-eigh": scale_by_gauss_newton(GN_EPS, solver="eigh"),
    }


# --- sections ----------------------------------------------------------------------------------


def measure_directions(
    transforms: dict[str, optax.GradientTransformationExtraArgs],
    methods: tuple[str, ...] | None,
    problem: tuple[Any, MeanSquaredError, tuple],
    repeats: int,
    rows: list[Row],
    outputs: dict[str, Any],
) -> None:
    """Append to ``rows`` / ``outputs`` the row and direction of each of ``transforms`` (those
    named in ``methods``; all when ``None``) on ``problem`` (one section's loop)."""
    params, objective, batch = problem
    p = parameter_count(params)
    grads = jax.jit(jax.grad(objective.loss))(params, batch)
    for name, tx in transforms.items():
        if methods is not None and name not in methods:
            continue
        row, outputs[name] = measure_direction(
            name, tx, objective, params, batch, grads, repeats, p
        )
        rows.append(row)


def run_lm(repeats: int, naive_repeats: int, methods: tuple[str, ...] | None) -> dict[str, Any]:
    """Section 1 (and 3 for its rows); ``methods=None``: the naive reference and every solver."""
    problem = lm_problem()
    params, objective, batch = problem
    p, m = parameter_count(params), batch[1].size
    rows, outputs = [], {}
    if methods is None:
        row, outputs["naive"] = measure(
            "naive", lambda: naive_lm_step(objective, LM_DAMPING), (params, batch), naive_repeats, p
        )
        rows.append(row)
    measure_directions(_lm_transforms(), methods, problem, repeats, rows, outputs)
    if methods is None:
        fill_reference(rows, outputs, "naive")
    return {
        "title": "LM direction, MLP 784-250-250-10, m = 2000, mu = 1e-2",
        "reference": "naive",
        "p": p,
        "m": m,
        "rows": rows,
    }


def run_gn(repeats: int, methods: tuple[str, ...] | None) -> dict[str, Any]:
    """Section 2: GN by eigh of ``K`` vs SVD of ``J`` (reference), and one AdamW step."""
    problem = gn_problem()
    params, objective, batch = problem
    p, m = parameter_count(params), batch[1].size
    rows, outputs = [], {}
    measure_directions(_gn_transforms(), methods, problem, repeats, rows, outputs)
    if methods is None:
        adamw = optax.adamw(1e-3)
        args = (params, adamw.init(params), batch)
        rows.append(measure("adamw", lambda: adamw_step(objective, adamw), args, repeats, p)[0])
        fill_reference(rows, outputs, "gn-svd")
    return {
        "title": "GN direction (eps = 1e-6, float64), MLP 1-80-80-1 tanh, regression_1d, m = 100",
        "reference": "gn-svd",
        "p": p,
        "m": m,
        "rows": rows,
    }


def run_sections(section: str, repeats: int, naive_repeats: int) -> list[dict[str, Any]]:
    if section == "none":
        return []
    methods = THREAD_METHODS if section == "threads" else None
    results = []
    if section in ("all", "lm", "threads"):
        results.append(run_lm(repeats, naive_repeats, methods))
    if section in ("all", "gn", "threads"):
        # float64: an absolute cut-off of 1e-6 sits below float32 round-off of K's eigenvalues
        # (in float32, eigh kept 34-37 modes where SVD kept 8; in float64 both keep the same).
        with jax.enable_x64(True):
            results.append(run_gn(repeats, methods))
    return results


def compare_threads(repeats: int) -> dict[str, Any]:
    """Re-run :data:`THREAD_METHODS` in fresh interpreters, one per OpenBLAS thread count."""
    medians: dict[str, dict[str, float]] = {}
    applied: dict[str, Any] = {}
    for threads in THREAD_SETTINGS:
        flags = ("--section", "threads", "--json", "-", "--repeats", str(repeats))
        command = [sys.executable, os.path.abspath(__file__), *flags]
        env = {**os.environ, "OPENBLAS_NUM_THREADS": threads}
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"child with OPENBLAS_NUM_THREADS={threads} failed:\n{done.stderr}")
        child = json.loads(done.stdout)
        child_env = child["environment"]
        applied[threads] = {
            "thread_defaults": child_env["thread_defaults"],
            "blas_num_threads": {
                pool["filepath"]: pool["num_threads"] for pool in child_env["blas_pools"]
            },
        }
        for section in child["sections"]:
            for row in section["rows"]:
                medians.setdefault(row["name"], {})[threads] = row["timing"]["median_s"]
    return {
        "settings": list(THREAD_SETTINGS),
        "children": applied,
        "median_s": medians,
        "repeats": repeats,
    }


# --- output ------------------------------------------------------------------------------------


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


#: (header, width) of the section table; the last column (note) is left-aligned, unpadded.
COLUMNS = (
    ("method", 12), ("compile s", 9), ("aot s", 6), ("median s", 9), ("min s", 9),
    ("max s", 9), ("n", 2), ("ref/t", 8), ("rel.err", 9), ("max elems", 13), ("/p^2", 8),
    (">=p^2", 5), ("note", 0),
)  # fmt: skip


def _cells(row: Row) -> list[str]:
    t = row.timing
    return [
        row.name,
        f"{t.compile_s:.3f}",
        _fmt(t.aot_compile_s, ".2f"),
        f"{t.median_s:.4f}",
        f"{t.min_s:.4f}",
        f"{t.max_s:.4f}",
        str(t.repeats),
        _fmt(row.ratio_vs_ref, ".2f"),
        _fmt(row.rel_error_vs_ref, ".2e"),
        f"{row.max_elements:,d}",
        f"{row.max_elements / row.p_squared:.1e}",
        "YES" if row.reaches_p_squared else "no",
        row.note,
    ]


def _line(cells: list[str]) -> str:
    aligned = [
        cell.ljust(width) if index == 0 else cell.rjust(width)
        for index, (cell, (_, width)) in enumerate(zip(cells, COLUMNS, strict=True))
    ]
    return " ".join(aligned[:-1]) + "  " + cells[-1]


def print_section(result: dict[str, Any], out: TextIO) -> None:
    p, ref = result["p"], result["reference"]
    print(f"\n{result['title']}  (p = {p}, p^2 = {p * p:.3g}, reference = {ref})", file=out)
    header = _line([name for name, _ in COLUMNS])
    print(header, file=out)
    print("-" * len(header), file=out)
    for row in result["rows"]:
        print(_line(_cells(row)).rstrip(), file=out)


def print_threads(result: dict[str, Any], out: TextIO) -> None:
    one, two = result["settings"]
    print(
        f"\nOpenBLAS threads (fresh interpreter each, {result['repeats']} repeats; "
        "ratio > 1: one thread faster)",
        file=out,
    )
    ratio = f"t{two}/t{one}"
    header = f"{'method':<12} {'median s @' + one:>13} {'median s @' + two:>13} {ratio:>8}"
    print(header, file=out)
    print("-" * len(header), file=out)
    for name, medians in result["median_s"].items():
        print(
            f"{name:<12} {medians[one]:>13.4f} {medians[two]:>13.4f} "
            f"{medians[two] / medians[one]:>8.2f}",
            file=out,
        )
    for threads, child in result["children"].items():
        pools = sorted(set(child["blas_num_threads"].values()))
        print(
            f"  child OPENBLAS_NUM_THREADS={threads}: runner.threads.applied = "
            f"{child['thread_defaults']}, OpenBLAS pools at {pools} thread(s)",
            file=out,
        )


def blas_pools() -> list[dict[str, Any]]:
    """The BLAS libraries loaded now and their thread counts (threadpoolctl)."""
    return [
        {key: pool[key] for key in ("prefix", "version", "num_threads", "filepath")}
        for pool in threadpool_info()
        if pool.get("user_api") == "blas"
    ]


def environment(argv: list[str]) -> dict[str, Any]:
    """Versions, thread settings and the command line; call it after the measurements."""
    return {
        "jax_version": jax.__version__,
        "backend": jax.default_backend(),
        "devices": [str(device) for device in jax.devices()],
        "thread_defaults": dict(runner.threads.applied),
        "blas_pools": blas_pools(),
        "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
        "XLA_FLAGS": os.environ.get("XLA_FLAGS"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "argv": argv,
    }


def to_json(result: dict[str, Any]) -> dict[str, Any]:
    return {**result, "rows": [row.as_dict() for row in result["rows"]]}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="steady-state calls per method")
    parser.add_argument("--quick", action="store_true", help="2 repeats for the naive baseline")
    parser.add_argument("--json", metavar="PATH", help="write results as JSON ('-': stdout)")
    parser.add_argument(
        "--compare-threads",
        action="store_true",
        help="also time lm-cholesky, lm-eigh, gn-eigh at 1 and 2 OpenBLAS threads",
    )
    parser.add_argument("--section", default="all", choices=("all", "lm", "gn", "threads", "none"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    out = sys.stderr if args.json == "-" else sys.stdout
    naive_repeats = min(2, args.repeats) if args.quick else args.repeats
    report: dict[str, Any] = {"environment": {}, "sections": []}
    for result in run_sections(args.section, args.repeats, naive_repeats):
        print_section(result, out)
        report["sections"].append(to_json(result))
    if args.compare_threads:
        report["threads"] = compare_threads(args.repeats)
        print_threads(report["threads"], out)
    report["environment"] = environment(argv)
    if args.json == "-":
        json.dump(report, sys.stdout, indent=2)
    elif args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=2)
        print(f"\nwrote {args.json}", file=out)


if __name__ == "__main__":
    main()
