"""pgdlab core: pure-JAX models, curvature, preconditioned optimizers, metrics and training loops.

Nothing in ``core`` reads or writes files, reads YAML or the environment, or changes it on import
(BLAS thread defaults are the runner's policy: :mod:`runner.threads`); every function takes plain
arrays and pytrees so that it can be used from a notebook.
"""

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _dist_version

try:
    __version__ = _dist_version("pgdlab")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
