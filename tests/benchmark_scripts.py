"""Load a script of benchmarks/ as a module, or run a repository script in a fresh interpreter,
for the tests of the scripts (one loader and one runner for all).

The scripts are not a package: ``python benchmarks/<name>.py`` puts benchmarks/ first on
``sys.path``, where they find their shared ``common`` module. Loaded here, they get the same path.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"


def load(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` as a fresh module named ``bench_<name>``."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``python SCRIPT ARGS...`` from the repository root in a fresh interpreter (a script that
    turns on float64 or spawns workers importing it), its output captured as text."""
    return subprocess.run(
        [sys.executable, script, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
