"""How to run several independent training runs of one shape on this machine.

Compares, for ``R`` runs (seeds) of the same cell shape:

* ``sequential``  -- one :func:`core.training.train` after the other in one process (one compile,
                     reused: the optimizer is a factory of array hyperparameters);
* ``vmap``        -- :func:`core.training.train_batched`, one vmapped program, one XLA device;
* ``vmap-2dev``   -- the same with ``XLA_FLAGS=--xla_force_host_platform_device_count=2``, the
                     run axis sharded over two host devices;
* ``2proc``       -- two spawned processes, each running ``R/2`` runs sequentially.

Each mode runs in a fresh interpreter (XLA flags must be set before JAX starts). Workloads:
``gd`` (1-80-80-1 tanh, 100 points, GD, cheap steps), ``lm`` (the same net, LM with the
structured Gram + Cholesky) and ``lm-mid`` (784-64-10 on 200 random points: m = 2 000, heavier
steps).

    python benchmarks/training.py [--runs 4] [--json PATH] [--workloads gd,lm,lm-mid]

Prints wall seconds per mode (total, and excluding the first chunk, which includes compilation) and
the speed-up against ``sequential`` measured in the same invocation.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from common import run_main  # benchmarks/common.py

MODES = ["sequential", "vmap", "vmap-2dev", "2proc"]
WORKLOADS = {
    # name: (sizes, points, optimizer, steps, eval_every)
    "gd": ((1, 80, 80, 1), 100, "gd", 4000, 1000),
    "lm": ((1, 80, 80, 1), 100, "lm", 600, 150),
    "lm-mid": ((784, 64, 10), 200, "lm", 60, 15),
}


def _child(workload: str, mode: str, seeds: list[int]) -> dict:
    """Run ``seeds`` of ``workload`` in this process with ``mode``; return timings."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp
    import optax

    from core import models, optim, tasks, training
    from core.objectives import MeanSquaredError

    sizes, points, method, steps, eval_every = WORKLOADS[workload]
    if sizes[0] == 1:
        data = tasks.regression_1d(points)
        batch = (data.inputs, data.targets)
    else:
        k_x, k_y = jax.random.split(jax.random.PRNGKey(123))
        labels = jax.random.randint(k_y, (points,), 0, sizes[-1])
        batch = (jax.random.normal(k_x, (points, sizes[0])), jax.nn.one_hot(labels, sizes[-1]))

    def build(key):
        return models.make_mlp(key, sizes, activation="tanh")

    def factory(h):
        if method == "gd":
            return optax.sgd(h["lr"])
        return optim.levenberg_marquardt(h["lr"], h["mu"], track_decrease=False)

    def fit(train, model, hparams, **options) -> float:
        """``train`` (``train`` or ``train_batched``) on ``model``; its first chunk's seconds."""
        params, static = models.partition_trainable(model)
        result = train(
            MeanSquaredError(static),
            factory,
            params,
            batch,
            steps=steps,
            eval_every=eval_every,
            hparams=hparams,
            **options,
        )
        jax.block_until_ready(result.params)
        return result.timings["first_chunk_s"]

    hparams = {"lr": jnp.asarray(1e-2 if method == "gd" else 0.1), "mu": jnp.asarray(1e-2)}
    keys = jnp.stack([jax.random.PRNGKey(s) for s in seeds])
    start = time.perf_counter()
    first_chunk = 0.0
    if mode in ("sequential", "2proc"):
        for i, key in enumerate(keys):
            chunk = fit(training.train, build(key), hparams)
            if i == 0:
                first_chunk = chunk
    else:
        stacked = eqx.filter_vmap(build)(keys)
        runs = len(seeds)
        batched_h = jax.tree.map(lambda v: jnp.full((runs,), v), hparams)
        devices = jax.devices() if mode == "vmap-2dev" else None
        first_chunk = fit(training.train_batched, stacked, batched_h, devices=devices)
    total = time.perf_counter() - start
    return {
        "total_s": total,
        "first_chunk_s": first_chunk,
        "devices": len(jax.devices()),
        "steps": steps,
        "runs": len(seeds),
    }


def _spawn(workload: str, mode: str, seeds: list[int]) -> subprocess.Popen:
    env = dict(os.environ)
    if mode == "vmap-2dev":
        env["XLA_FLAGS"] = (
            env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
        ).strip()
    command = [sys.executable, __file__, "--child", workload, mode, ",".join(map(str, seeds))]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)


class ChildHung(RuntimeError):
    pass


def _collect(process: subprocess.Popen, timeout: float) -> dict:
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise ChildHung(f"no result within {timeout:.0f} s") from None
    if process.returncode != 0:
        raise RuntimeError(f"child failed with exit code {process.returncode}")
    return json.loads(out.strip().splitlines()[-1])


def measure(workload: str, mode: str, runs: int, timeout: float) -> dict:
    seeds = list(range(runs))
    start = time.perf_counter()
    if mode == "2proc":
        halves = [seeds[: runs // 2], seeds[runs // 2 :]]
        children = [_collect(p, timeout) for p in [_spawn(workload, mode, h) for h in halves]]
        wall = time.perf_counter() - start
        steady = max(c["total_s"] - c["first_chunk_s"] for c in children)
        return {"wall_s": wall, "train_s": max(c["total_s"] for c in children), "steady_s": steady}
    child = _collect(_spawn(workload, mode, seeds), timeout)
    wall = time.perf_counter() - start
    return {
        "wall_s": wall,
        "train_s": child["total_s"],
        "steady_s": child["total_s"] - child["first_chunk_s"],
        "devices": child["devices"],
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=4)
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per child")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        workload, mode, seeds = args.child
        print(json.dumps(_child(workload, mode, [int(s) for s in seeds.split(",")])))
        return 0

    results: dict[str, dict] = {}
    header = ("workload", "mode", "wall s", "train s", "no-compile s", "speed-up")
    print("{:8} {:11} {:>8} {:>8} {:>13} {:>9}".format(*header))
    for workload in args.workloads.split(","):
        results[workload] = {}
        for mode in MODES:
            try:
                results[workload][mode] = measure(workload, mode, args.runs, args.timeout)
            except ChildHung as hung:
                results[workload][mode] = {"hung": str(hung)}
        base = results[workload]["sequential"]["train_s"]
        for mode, r in results[workload].items():
            if "hung" in r:
                print(f"{workload:8} {mode:11} hung: {r['hung']}", flush=True)
                continue
            r["speedup_vs_sequential"] = base / r["train_s"]
            print(
                f"{workload:8} {mode:11} {r['wall_s']:8.2f} {r['train_s']:8.2f} "
                f"{r['steady_s']:13.2f} {r['speedup_vs_sequential']:9.2f}",
                flush=True,
            )
    if args.json:
        import jax

        payload = {
            "benchmark": "training",
            "runs": args.runs,
            "workloads": {k: list(v) for k, v in WORKLOADS.items()},
            "results": results,
            "environment": {
                "jax": jax.__version__,
                "python": platform.python_version(),
                "cpu_count": os.cpu_count(),
                "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS"),
                "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    run_main(main)
