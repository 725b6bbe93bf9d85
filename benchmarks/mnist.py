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

    python benchmarks/mnist.py [--quick] [--threads 1,2] [--from-run RUN_DIR] [--json PATH]
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
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="the CPU net only, fewer steps")
    parser.add_argument("--threads", default="1", help="OPENBLAS_NUM_THREADS values, e.g. 1,2")
    parser.add_argument("--from-run", type=Path, help="a finished run of the spec to summarise")
    parser.add_argument("--run-default", action="store_true", help="run the default profile")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args(argv)

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
