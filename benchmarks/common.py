"""What the benchmark scripts share: the start of a script (thread defaults before numpy / jax
load), a measurement in a fresh interpreter, the timing of a jitted call and the summary of a
finished run.

One copy here keeps the scripts measuring the same way. The scripts import it as ``common``
(``python benchmarks/<name>.py`` puts this folder first on ``sys.path``); it imports only the
standard library at load time, so importing it does not load numpy or jax.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def run_main(main: Callable[[list[str]], int]) -> None:
    """``sys.exit(main(argv))`` after the runner's OpenBLAS thread default, as runner's main():
    before numpy / jax load."""
    from runner.threads import apply_thread_defaults

    apply_thread_defaults()
    sys.exit(main(sys.argv[1:]))


def run_child(script: str, args: list[str], threads: str) -> tuple[dict | None, str]:
    """``python script *args`` in a fresh interpreter with ``OPENBLAS_NUM_THREADS=threads`` (from
    the repository root): its last line of output as JSON and ``""``, or ``None`` and the end of
    its stderr when it fails."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": threads}
    command = [sys.executable, script, *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        return None, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), ""


def run_summary(run_dir: Path) -> dict:
    """A finished run's wall time and cell times (``runner.store.run_timing``), its first line
    printed."""
    from runner.store import run_timing

    summary = run_timing(run_dir.resolve())
    print(f"run {summary['run_dir']}: {summary['cells']} cells in {summary['wall_s']:.0f} s")
    return summary


def time_calls(fn: Callable[..., Any], args: tuple, repeats: int) -> tuple[float, list[float], Any]:
    """``(first, times, output)``: the first call of ``fn(*args)`` (trace and compilation
    included) timed on its own, then ``repeats`` more calls; each blocked with
    ``jax.block_until_ready``."""
    import jax  # not at load time (see the module docstring)

    start = time.perf_counter()
    out = jax.block_until_ready(fn(*args))
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return first, times, out
