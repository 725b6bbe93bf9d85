"""How much faster can two worker processes be than one, on this machine, for a spec's cells?

``runner run`` trains cells in one process per core. With two cores the ideal is 2x, but two
processes share the caches and the memory bus, so each may run slower than it does alone. This
script measures that directly: the same work timed alone, then in two processes at once (each
with one BLAS and one XLA thread, as the runner's workers), both warmed up first so that no
compilation is timed. Per workload it prints the time alone, the mean time of the two together,
the slowdown (together / alone) and the speed-up two workers can reach at most on it,
``2 / slowdown``. It also times the work alone with the threads ``runner run --jobs 1`` uses
(XLA's own pool, which spreads some operations over both cores) and prints the speed-up two
workers can reach at most over that, ``2 x jobs-1 time / time together``: the ceiling of the
``--jobs 1`` comparison of ``benchmarks/suite.py``. Workloads:

* ``matmul[:N]``: a jitted loop of N (20 000) 256 x 256 float32 matrix products (the
  hardware's own ceiling for small dense work, no pgdlab code);
* ``<spec>:<profile>:<optimizer>``: the first cell of that optimizer in a spec's profile,
  trained by :func:`runner.cell.run_cell` as a worker does.

Run from the repository root::

    python benchmarks/parallel_ceiling.py [--cells specs/grokking_mnist.yaml:default:lm ...] \\
        [--repeats 2] [--json PATH]

The default cells are grokking_mnist's first LM cell and its first AdamW cell (the two kinds of
work in the main job) and regression_1d's first GD cell.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from common import ROOT, run_main

DEFAULT_CELLS = (
    "specs/grokking_mnist.yaml:default:lm",
    "specs/grokking_mnist.yaml:default:adamw",
    "specs/regression_1d.yaml:default:gd",
)


def _matmul_work(iterations: int) -> Any:
    import jax
    import jax.numpy as jnp

    a = jax.random.normal(jax.random.PRNGKey(0), (256, 256), jnp.float32) / 16

    @jax.jit
    def loop(x):
        return jax.lax.fori_loop(0, iterations, lambda _, y: jnp.tanh(y @ a), x)

    return lambda: jax.block_until_ready(loop(a))


def _cell_work(target: str) -> Any:
    from runner.cell import run_cell
    from runner.load import load_spec
    from runner.plan import plan

    spec, profile, optimizer = target.split(":")
    loaded = load_spec(ROOT / spec, profile=profile)
    cell = next(c for c in plan(loaded.spec, loaded.resolved) if c.optimizer == optimizer)
    return lambda: run_cell(cell.params)


def _worker(target: str, repeats: int, barrier: Any, results: Any, as_worker: bool) -> None:
    from runner.threads import apply_thread_defaults, apply_worker_thread_defaults

    if as_worker:
        apply_worker_thread_defaults()  # one BLAS and one XLA thread, as runner's workers
    else:
        apply_thread_defaults()  # as `runner run --jobs 1`: XLA's own thread pool
    if target.startswith("matmul"):
        work = _matmul_work(int(target.partition(":")[2] or 20_000))
    else:
        work = _cell_work(target)
    work()  # compile, and warm the caches
    times = []
    for _ in range(repeats):
        barrier.wait()  # the processes of one measurement start each repeat together
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    results.put(statistics.median(times))


def measure(target: str, processes: int, repeats: int, as_worker: bool = True) -> list[float]:
    """Median seconds of ``target`` in each of ``processes`` spawned workers run at once, with
    the threads of runner's workers (``as_worker``) or of ``runner run --jobs 1``."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes), context.Queue()
    workers = [
        context.Process(target=_worker, args=(target, repeats, barrier, results, as_worker))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    times = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
    return times


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", nargs="*", default=list(DEFAULT_CELLS))
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-matmul", action="store_true")
    parser.add_argument("--matmul-iterations", type=int, default=20_000)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    matmul = [] if args.no_matmul else [f"matmul:{args.matmul_iterations}"]
    targets = matmul + list(args.cells)
    rows = []
    print(
        f"{'workload':40} {'jobs-1 s':>8} {'alone s':>8} {'two s':>8} {'slowdown':>8} "
        f"{'max vs alone':>12} {'max vs jobs-1':>13}"
    )
    for target in targets:
        inline = measure(target, 1, args.repeats, as_worker=False)[0]
        alone = measure(target, 1, args.repeats)[0]
        together = statistics.mean(measure(target, 2, args.repeats))
        slowdown = together / alone
        row = {
            "workload": target,
            "jobs1_s": inline,  # alone, with the threads of runner run --jobs 1
            "alone_s": alone,  # alone, one worker's threads
            "together_s": together,  # two workers at once, the mean of the two
            "slowdown": slowdown,
            "max_speedup": 2 / slowdown,
            "max_speedup_over_jobs1": 2 * inline / together,
        }
        rows.append(row)
        print(
            f"{target[:40]:40} {inline:8.2f} {alone:8.2f} {together:8.2f} {slowdown:8.3f} "
            f"{row['max_speedup']:12.2f} {row['max_speedup_over_jobs1']:13.2f}",
            flush=True,
        )
    result = {
        "benchmark": "parallel_ceiling",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "cpu_count": multiprocessing.cpu_count(),
        "repeats": args.repeats,
        "rows": rows,
    }
    if args.json == "-":
        print(json.dumps(result))
    elif args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    run_main(main)
