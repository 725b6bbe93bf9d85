"""pgdlab core: pure-JAX models, curvature, preconditioned optimizers, metrics and training loops.

Nothing in ``core`` reads YAML or writes files; every function takes plain arrays and pytrees so
that it can be used from a notebook.
"""

from core.threads import apply_thread_defaults

# Before jax / numpy / scipy load OpenBLAS (see core/threads.py for the measurement behind it).
apply_thread_defaults()

from importlib.metadata import PackageNotFoundError  # noqa: E402
from importlib.metadata import version as _dist_version  # noqa: E402

try:
    __version__ = _dist_version("pgdlab")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
