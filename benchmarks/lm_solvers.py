"""LM solvers on a spec's own problem: does matrix-free CG give the Cholesky direction?

A spec may pick ``solver: cg`` for a Levenberg-Marquardt optimizer whose residual-space system
``(mu I + J J^T) u = r`` is too large to factor at every step (``modular_mlp`` at p = 23:
m = 476 x 23 = 10 948). This script checks, on the cells that optimizer trains, that CG reaches
the direction ``d = J^T u`` a direct solve gives, and what each costs.

For each selected cell of SPEC / PROFILE (optimizer OPT, the first seed), at the initial
parameters and after each of ``--after`` steps of the cell's own training rule
(``theta <- theta - eta d`` with the cell's solver, learning rate and damping), the direction is
computed three ways:

* ``reference``: Cholesky of the structured Gram in float64 (x64);
* ``cholesky``: the same in float32, the precision the cells train in;
* ``cg``: the cell's CG settings (iteration cap, tolerance) in float32, as trained.

Printed per checkpoint: each float32 direction's relative error ``||d - d_ref|| / ||d_ref||``,
CG's iterations and final relative residual, and the median time of each solve (``--repeats``
calls after the first) with the ratio cholesky / cg. The float32 Cholesky's own error is the
yardstick: CG is "the same direction" when its error is of the same order (the acceptance rule
``cg_error <= max(10 * cholesky_error, 1e-4)`` is printed per row; 1e-4 is about 100 float32
epsilons times the condition numbers seen here, the level below which two float32 solves of one
system cannot be told apart).

Run from the repository root::

    python benchmarks/lm_solvers.py [SPEC] [--profile paper] [--optimizer lm] \\
        [--where loss.scale=0.5] [--after 50 200] [--json PATH]

``--quick`` uses the smoke profile (seconds; what the test runs).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import sys
from pathlib import Path
from typing import Any

from common import ROOT, run_main, time_calls  # benchmarks/common.py (no numpy / jax yet)

TOLERANCE_FLOOR = 1e-4  # see the module docstring: float32 solves agree to about this


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", default=str(ROOT / "specs" / "modular_mlp.yaml"))
    parser.add_argument("--profile", default="paper")
    parser.add_argument("--optimizer", default="lm")
    parser.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="keep cells whose sweep point has this value (repeatable: values of one key are "
        "alternatives, different keys must all match); default: every point",
    )
    parser.add_argument("--after", type=int, nargs="*", default=[50, 200])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--cg-max-iterations",
        type=int,
        default=None,
        help="CG's iteration cap instead of the cell's (to see what a starved CG gives)",
    )
    parser.add_argument("--quick", action="store_true", help="smoke profile, checkpoints 0 and 5")
    parser.add_argument("--json", default=None, help="write the rows as JSON here ('-': stdout)")
    args = parser.parse_args(argv)
    if args.quick:
        args.profile, args.after, args.repeats = "smoke", [5], 1
    return args


def selected_cells(args: argparse.Namespace) -> list[Any]:
    """The first-seed cells of ``args.optimizer`` whose sweep point matches every ``--where``."""
    import yaml

    from runner.load import load_spec
    from runner.plan import plan

    loaded = load_spec(args.spec, profile=args.profile)
    wanted: dict[str, list[Any]] = {}
    for item in args.where:
        key, _, value = item.partition("=")
        wanted.setdefault(key, []).append(yaml.safe_load(value))
    cells = [
        cell
        for cell in plan(loaded.spec, loaded.resolved)
        if cell.optimizer == args.optimizer
        and cell.seed == loaded.spec.sweep.seeds[0]
        and all(cell.point.get(k) in values for k, values in wanted.items())
    ]
    if not cells:
        raise SystemExit(f"no cell of optimizer {args.optimizer!r} matches {wanted or 'any point'}")
    return cells


def measure_cell(
    cell: Any, after: list[int], repeats: int, cg_cap: int | None = None
) -> list[dict[str, Any]]:
    """One row per checkpoint (step 0, then each of ``after``) of ``cell``; ``cg_cap`` replaces
    the cell's CG iteration cap in the measured CG solve (not in the training steps)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from core.optim import collect_info, scale_by_levenberg_marquardt
    from runner.cell import build

    kinds, problem, objective, params = build(cell.params)
    lm = kinds.optimizer
    if lm.kind != "lm":
        raise SystemExit(f"optimizer {cell.optimizer!r} is {lm.kind!r}, not lm")
    damping = float(lm.damping)
    cast = lambda tree, dtype: jax.tree.map(lambda a: jnp.asarray(a, dtype), tree)  # noqa: E731
    batch32 = cast(problem.train_data, jnp.float32)
    batch64 = cast(problem.train_data, jnp.float64)
    solvers = {
        "cholesky": scale_by_levenberg_marquardt(damping, solver="cholesky"),
        "cg": scale_by_levenberg_marquardt(
            damping,
            solver="cg",
            cg_max_iterations=cg_cap or lm.cg_max_iterations,
            cg_tol=lm.cg_tol,
            cg_tol_kind=lm.cg_tol_kind,
        ),
    }
    trained_with = scale_by_levenberg_marquardt(
        damping,
        solver=lm.solver,
        cg_max_iterations=lm.cg_max_iterations,
        cg_tol=lm.cg_tol,
        cg_tol_kind=lm.cg_tol_kind,
    )

    def direction_fn(tx):
        def direction(p, batch):
            state = tx.init(p)
            return tx.update(p, state, p, **objective.extra_args(p, batch))

        return jax.jit(direction)

    directions = {name: direction_fn(tx) for name, tx in solvers.items()}
    reference = directions["cholesky"]  # given float64 arrays, jit traces it again in float64
    train_step = jax.jit(
        lambda p, batch: jax.tree.map(
            lambda w, d: w - lm.learning_rate * d,
            p,
            direction_fn(trained_with)(p, batch)[0],
        )
    )
    flat = lambda tree: np.concatenate(  # noqa: E731
        [np.asarray(a, np.float64).ravel() for a in jax.tree.leaves(tree)]
    )

    rows = []
    current, done = cast(params, jnp.float32), 0
    for checkpoint in sorted({0, *after}):
        for _ in range(checkpoint - done):
            current = train_step(current, batch32)
        done = checkpoint
        ref_direction, _ = reference(cast(current, jnp.float64), batch64)
        ref = flat(ref_direction)
        row: dict[str, Any] = {
            "cell": cell.cell_id,
            "point": cell.point,
            "step": checkpoint,
            "damping": damping,
            "m": int(np.asarray(objective.residual(current, batch32)).size),
            "p": int(flat(current).size),
        }
        for name, fn in directions.items():
            _, times, (direction, state) = time_calls(fn, (current, batch32), repeats)
            error = np.linalg.norm(flat(direction) - ref) / np.linalg.norm(ref)
            row[f"{name}_error"] = float(error)
            row[f"{name}_s"] = statistics.median(times)
            if name == "cg":
                info = collect_info(state)
                row["cg_iterations"] = int(info["lm/cg_iterations"])
                row["cg_residual"] = float(info["lm/cg_residual"])
        row["cholesky_over_cg"] = row["cholesky_s"] / row["cg_s"]
        row["same_direction"] = row["cg_error"] <= max(10 * row["cholesky_error"], TOLERANCE_FLOOR)
        rows.append(row)
    return rows


def print_rows(rows: list[dict[str, Any]], out: Any) -> None:
    head = (
        f"{'cell':44} {'step':>5} {'m':>6} {'chol err':>9} {'cg err':>9} {'cg it':>5} "
        f"{'cg res':>8} {'chol s':>8} {'cg s':>8} {'ratio':>6} same"
    )
    print(head, file=out)
    for r in rows:
        print(
            f"{r['cell'][:44]:44} {r['step']:5d} {r['m']:6d} {r['cholesky_error']:9.1e} "
            f"{r['cg_error']:9.1e} {r['cg_iterations']:5d} {r['cg_residual']:8.1e} "
            f"{r['cholesky_s']:8.3f} {r['cg_s']:8.4f} {r['cholesky_over_cg']:6.0f} "
            f"{'yes' if r['same_direction'] else 'NO'}",
            file=out,
        )


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    import jax

    jax.config.update("jax_enable_x64", True)  # the float64 reference; the cells stay float32
    rows = []
    for cell in selected_cells(args):
        rows += measure_cell(cell, args.after, args.repeats, args.cg_max_iterations)
    out = sys.stderr if args.json == "-" else sys.stdout
    print_rows(rows, out)
    result = {
        "benchmark": "lm_solvers",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "spec": str(Path(args.spec)),
        "profile": args.profile,
        "optimizer": args.optimizer,
        "machine": {"processor": platform.processor() or platform.machine()},
        "tolerance_floor": TOLERANCE_FLOOR,
        "rows": rows,
        "all_same_direction": all(r["same_direction"] for r in rows),
    }
    if args.json == "-":
        print(json.dumps(result))
    elif args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0 if result["all_same_direction"] else 1


if __name__ == "__main__":
    run_main(main)
