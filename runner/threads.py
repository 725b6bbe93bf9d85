"""Thread defaults for BLAS on small CPU machines.

JAX's CPU Cholesky, eigh and SVD call LAPACK from the OpenBLAS that ships with scipy. OpenBLAS
starts one thread per core; XLA's own thread pool is busy on the same cores, and the two fight.
Measured on the 2-core development machine (README, "Performance"; ``benchmarks/curvature.py
--compare-threads``): the default LM step on the MNIST MLP (structured Gram + Cholesky of a
2000 x 2000 matrix) took 0.062 s with one BLAS thread and 0.089 s with two (and once 1.4 s, a
collapse the issue tracker had also seen: 14x); the eigh variant was 1.35x faster with two. The
Cholesky path is the default and the collapse is the larger risk, so pgdlab asks for
``OPENBLAS_NUM_THREADS=1`` unless the user already chose a value.

Two mechanisms, because the environment variable only works before OpenBLAS is loaded:

* before numpy/scipy are imported, set the variable (``os.environ.setdefault``);
* if they were imported first, cap the already-loaded OpenBLAS pools with ``threadpoolctl``.

A value the user set in the environment is never overridden.

This is the runner's policy, not part of the numerical library: importing :mod:`core` changes
nothing. :func:`apply_thread_defaults` is called explicitly, first thing in ``runner``'s
``main`` (before anything imports numpy or jax), in each ``local``-engine worker and at the start
of every cell a submitit or ray worker runs (:func:`runner.engines.run_one`). A notebook or
script that wants the same default calls it before importing numpy or jax.
"""

from __future__ import annotations

import os
import sys

#: environment variables this module may set, and their defaults.
THREAD_DEFAULTS: dict[str, str] = {"OPENBLAS_NUM_THREADS": "1"}

#: what :func:`apply_thread_defaults` decided, for ``env.json`` and ``runner --version``.
applied: dict[str, str] = {}


def apply_thread_defaults() -> dict[str, str]:
    """Apply :data:`THREAD_DEFAULTS` without overriding user settings; return what was decided.

    The result maps each variable to ``"<value> (default)"`` or ``"<value> (user)"``; when OpenBLAS
    was already loaded, ``"blas_runtime_limit"`` says how many threads threadpoolctl allowed.
    Only the first call in a process decides; later calls return the same record (the variable
    the first call set is not mistaken for the user's).
    """
    if applied:
        return dict(applied)
    blas_loaded = any(name in sys.modules for name in ("numpy", "scipy"))
    for name, value in THREAD_DEFAULTS.items():
        if name in os.environ:
            applied[name] = f"{os.environ[name]} (user)"
        else:
            os.environ[name] = value
            applied[name] = f"{value} (default)"
    user_chose = "(user)" in applied.get("OPENBLAS_NUM_THREADS", "")
    if blas_loaded and not user_chose:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:  # pragma: no cover - threadpoolctl is a declared dependency
            return dict(applied)
        # A process-wide cap, kept for the life of the process (the returned object is not used as
        # a context manager on purpose).
        threadpool_limits(limits=int(THREAD_DEFAULTS["OPENBLAS_NUM_THREADS"]), user_api="blas")
        applied["blas_runtime_limit"] = THREAD_DEFAULTS["OPENBLAS_NUM_THREADS"]
    return dict(applied)


#: what each worker process of the ``local`` engine adds to :data:`THREAD_DEFAULTS`: one XLA
#: thread. XLA's CPU client sizes its intra-op pool from ``PJRT_NPROC`` when set (else from the
#: cores the process may use), read when the client starts, i.e. before the worker's first cell.
#: Measured on jax 0.10.2 (a 2000 x 2000 matmul, CPU time per thread): two threads busy by
#: default, one with ``PJRT_NPROC=1``; ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false`` left two
#: busy, and ``intra_op_parallelism_threads=1`` is not an XLA flag (the parser skips it).
WORKER_DEFAULTS: dict[str, str] = {"PJRT_NPROC": "1"}


def apply_worker_thread_defaults() -> dict[str, str]:
    """:func:`apply_thread_defaults`, then :data:`WORKER_DEFAULTS` (never over a value the user
    set): one BLAS and one XLA thread per process, for a pool with one process per core."""
    decided = apply_thread_defaults()
    for name, value in WORKER_DEFAULTS.items():
        if name in os.environ:
            decided[name] = f"{os.environ[name]} (user)"
        else:
            os.environ[name] = value
            decided[name] = f"{value} (default)"
    return decided
