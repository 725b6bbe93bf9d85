"""Damping schedules: the log-linear formula of docs/paper-notes.md#damping-schedule."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.optim import as_schedule, log_linear


@pytest.mark.parametrize(
    ("start", "end", "steps"), [(1e-2, 1e-4, 500), (1.0, 0.1, 200), (0.1, 1.0, 10)]
)
def test_log_linear_matches_formula(start, end, steps):
    schedule = log_linear(start, end, steps)
    for i in [0, 1, steps // 3, steps // 2, steps - 1, steps, steps + 1, 5 * steps]:
        expected = math.exp(
            math.log(start) + min(i / steps, 1.0) * (math.log(end) - math.log(start))
        )
        np.testing.assert_allclose(float(schedule(i)), expected, rtol=1e-5)


def test_paper_values():
    mnist = log_linear(1e-2, 1e-4, 500)
    np.testing.assert_allclose(float(mnist(250)), 1e-3, rtol=1e-5)
    transformer = log_linear(1.0, 0.1, 200)
    np.testing.assert_allclose(float(transformer(100)), 10**-0.5, rtol=1e-5)
    np.testing.assert_allclose(float(transformer(10_000)), 0.1, rtol=1e-6)


def test_rejects_non_positive_endpoints():
    with pytest.raises(ValueError, match="positive"):
        log_linear(0.0, 1e-4, 10)


def test_constant():
    assert float(as_schedule(0.3)(17)) == pytest.approx(0.3)
