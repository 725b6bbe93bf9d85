"""runner.threads: the BLAS thread default is applied when asked (by ``runner``'s main, its
workers, the benchmarks), never over a value the user set, and never by importing core
(fresh interpreters)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

PROBE = (
    "import json, os, {first}\n"
    "import runner.threads\n"
    "runner.threads.apply_thread_defaults()\n"
    "again = runner.threads.apply_thread_defaults()\n"
    "from threadpoolctl import threadpool_info\n"
    "import jax.numpy as jnp; jnp.linalg.cholesky(jnp.eye(2)).block_until_ready()\n"
    "blas = [p['num_threads'] for p in threadpool_info() if p['internal_api'] == 'openblas']\n"
    "print(json.dumps({{'env': os.environ.get('OPENBLAS_NUM_THREADS'),"
    " 'applied': runner.threads.applied, 'again': again, 'blas': blas}}))\n"
)


def _env(env_value: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if env_value is not None:
        env["OPENBLAS_NUM_THREADS"] = env_value
    return env


def _run(code: str, env_value: str | None = None) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", code], env=_env(env_value), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _probe(env_value: str | None, first: str = "sys") -> dict:
    return _run(PROBE.format(first=first), env_value)


def test_default_is_one_thread():
    result = _probe(None)
    assert result["env"] == "1"
    assert result["applied"]["OPENBLAS_NUM_THREADS"] == "1 (default)"
    assert result["again"] == result["applied"]  # a second call changes nothing
    assert result["blas"] and set(result["blas"]) == {1}


def test_user_value_is_kept():
    result = _probe("2")
    assert result["env"] == "2"
    assert result["applied"]["OPENBLAS_NUM_THREADS"] == "2 (user)"
    assert "blas_runtime_limit" not in result["applied"]


def test_numpy_imported_first_is_capped_at_run_time():
    result = _probe(None, first="numpy, scipy.linalg")
    assert result["applied"].get("blas_runtime_limit") == "1"
    assert set(result["blas"]) == {1}


def test_importing_core_changes_nothing():
    code = (
        "import json, os, sys\n"
        "before = dict(os.environ)\n"
        "import core, core.mnist, core.models, core.optim, runner.threads\n"
        "print(json.dumps({'same': dict(os.environ) == before, 'applied': runner.threads.applied,"
        " 'env': os.environ.get('OPENBLAS_NUM_THREADS')}))\n"
    )
    result = _run(code)
    assert result == {"same": True, "applied": {}, "env": None}


def test_runner_main_applies_the_default_before_blas_loads():
    """The console script reaches main() before numpy or jax is imported, so the default goes in
    through the environment (no run-time cap needed) and ``--version`` reports it."""
    exe = shutil.which("runner") or f"{sys.prefix}/bin/runner"
    for command in ([exe, "--version"], [sys.executable, "-m", "runner.cli", "--version"]):
        done = subprocess.run(command, env=_env(None), capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "threads: OPENBLAS_NUM_THREADS=1 (default))" in done.stdout, done.stdout
    done = subprocess.run([exe, "--version"], env=_env("3"), capture_output=True, text=True)
    assert "threads: OPENBLAS_NUM_THREADS=3 (user))" in done.stdout, done.stdout


def test_engine_worker_initialiser_applies_the_default():
    code = (
        "import json\n"
        "from runner import engines, threads\n"
        "engines._worker_init()\n"
        "print(json.dumps(threads.applied))\n"
    )
    assert _run(code)["OPENBLAS_NUM_THREADS"] == "1 (default)"
    assert _run(code, "2")["OPENBLAS_NUM_THREADS"] == "2 (user)"


def test_engine_worker_runs_one_xla_thread():
    """A local-engine worker sets PJRT_NPROC=1 (never over the user's value) before jax starts:
    a matmul then keeps one thread busy (CPU time per thread), where XLA would use every core."""
    code = (
        "import json, os\n"
        "from runner import engines\n"
        "engines._worker_init()\n"
        "import jax, jax.numpy as jnp\n"
        "x = jnp.ones((1000, 1000)); f = jax.jit(lambda a: (a @ a).sum())\n"
        "f(x).block_until_ready()\n"
        "def ticks():\n"
        "    out = {}\n"
        "    for t in os.listdir('/proc/self/task'):\n"
        "        f_ = open(f'/proc/self/task/{t}/stat').read().rsplit(')', 1)[1].split()\n"
        "        out[t] = int(f_[11]) + int(f_[12])\n"
        "    return out\n"
        "before = ticks()\n"
        "for _ in range(20): f(x).block_until_ready()\n"
        "after = ticks()\n"
        "busy = sorted((after[t] - before.get(t, 0) for t in after), reverse=True)\n"
        "print(json.dumps({'env': os.environ.get('PJRT_NPROC'), 'busy': busy}))\n"
    )
    if not os.path.isdir("/proc/self/task"):
        return
    result = _run(code)
    assert result["env"] == "1"
    busy = result["busy"]
    assert busy[0] > 0 and busy[1] <= 0.1 * busy[0], busy  # one thread did the work
    env = {**_env(None), "PJRT_NPROC": "2"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert json.loads(out.stdout.strip().splitlines()[-1])["env"] == "2"  # the user's value
