"""Thread defaults: applied at start-up, never over a value the user set (fresh interpreters)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROBE = (
    "import json, os, {first}\n"
    "import core, core.threads\n"
    "from threadpoolctl import threadpool_info\n"
    "import jax.numpy as jnp; jnp.linalg.cholesky(jnp.eye(2)).block_until_ready()\n"
    "blas = [p['num_threads'] for p in threadpool_info() if p['internal_api'] == 'openblas']\n"
    "print(json.dumps({{'env': os.environ.get('OPENBLAS_NUM_THREADS'),"
    " 'applied': core.threads.applied, 'blas': blas}}))\n"
)


def _probe(env_value: str | None, first: str = "sys") -> dict:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if env_value is not None:
        env["OPENBLAS_NUM_THREADS"] = env_value
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(first=first)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_default_is_one_thread():
    result = _probe(None)
    assert result["env"] == "1"
    assert result["applied"]["OPENBLAS_NUM_THREADS"] == "1 (default)"
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
