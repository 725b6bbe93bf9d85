"""Load a script of benchmarks/ as a module, for the tests of the benchmarks (one loader for all).

The scripts are not a package: ``python benchmarks/<name>.py`` puts benchmarks/ first on
``sys.path``, where they find their shared ``common`` module. Loaded here, they get the same path.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` as a fresh module named ``bench_<name>``."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
