"""Shared test configuration: Hypothesis profiles and a float64 fixture."""

from __future__ import annotations

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


@pytest.fixture
def x64():
    """Run the test body with 64-bit JAX arrays (the lemma checks need float64)."""
    with jax.enable_x64(True):
        yield
