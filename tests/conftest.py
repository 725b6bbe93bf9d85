"""Shared test configuration: Hypothesis profiles and a float64 fixture."""

from __future__ import annotations

import importlib
import os

import jax
import pytest
from hypothesis import HealthCheck, settings

# JAX compiles each new shape once, so the first examples are slow: no per-example deadline.
settings.register_profile(
    "ci", max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# submitit and ray attach logging handlers to whatever sys.stderr is when they are first imported.
# Imported inside a test, that is the test's capsys stream, closed after the test: a later log
# record then crashes the interpreter ("lost sys.stderr"). Import them once, up front.
for _engine_package in ("submitit", "ray"):
    try:
        importlib.import_module(_engine_package)
    except ImportError:
        pass


@pytest.fixture
def x64():
    """Run the test body with 64-bit JAX arrays (the lemma checks need float64)."""
    with jax.enable_x64(True):
        yield
