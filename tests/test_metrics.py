"""Metrics: FFT mode errors (1-D, 2-D, along a ray), accuracy, norms, spectrum."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from core import metrics


def test_fft_mode_error_of_a_pure_mode():
    n = 100
    x = jnp.arange(n) / n
    error = metrics.fft_mode_error(jnp.sin(2 * jnp.pi * 3 * x), jnp.zeros(n))
    np.testing.assert_allclose(error[3], 0.5, atol=1e-6)
    np.testing.assert_allclose(np.delete(np.asarray(error[:50]), 3), 0.0, atol=1e-6)
    np.testing.assert_allclose(
        metrics.fft_mode_error(jnp.ones(n), jnp.zeros(n), [0, 1]), [1.0, 0.0], atol=1e-6
    )


def test_fft_2d_and_lowest_modes():
    grid = jnp.arange(8) / 8
    gx, gy = jnp.meshgrid(grid, grid, indexing="ij")
    field = jnp.cos(2 * jnp.pi * gy)  # kx = 0, ky = +-1
    error = metrics.fft_mode_error_2d(field, jnp.zeros_like(field))
    rows, cols = metrics.lowest_modes_2d((8, 8), 5)
    assert (int(rows[0]), int(cols[0])) == (0, 0)
    # the four |k| = 1 bins follow, ordered by kx then ky: (-1,0), (0,-1), (0,1), (1,0)
    assert [(int(r), int(c)) for r, c in zip(rows[1:], cols[1:], strict=False)] == [
        (7, 0),
        (0, 7),
        (0, 1),
        (1, 0),
    ]
    np.testing.assert_allclose(error[0, 1], 0.5, atol=1e-6)
    half_rows, half_cols = metrics.lowest_modes_2d((8, 8), 3, half_plane=True)
    assert [(int(r), int(c)) for r, c in zip(half_rows, half_cols, strict=True)] == [
        (0, 0),
        (0, 1),
        (1, 0),
    ]
    np.testing.assert_allclose(error[0, 7], 0.5, atol=1e-6)


@pytest.mark.parametrize("shape", [(8, 8), (20, 21), (34, 34), (7, 12)])
def test_lowest_modes_2d_breaks_ties_exactly_and_matches_the_labels(shape):
    """On grids where ``fftfreq(n) * n`` is not exact in float32 (20 x 21, 34 x 34) ties of
    ``|k|`` still go to the smaller ``kx``, and the runner's labels name the selected bins."""
    from runner.kinds.metrics import fft_labels

    for n in shape:
        np.testing.assert_array_equal(
            metrics.signed_frequencies(n), np.rint(np.fft.fftfreq(n) * n).astype(int)
        )
    count = 12
    rows, cols = metrics.lowest_modes_2d(shape, count, half_plane=True)
    kx, ky = (np.asarray(metrics.signed_frequencies(n)) for n in shape)
    picked = [(int(kx[r]), int(ky[c])) for r, c in zip(rows, cols, strict=True)]
    assert [f"{x},{y}" for x, y in picked] == fft_labels(shape, count)
    keys = [(x * x + y * y, x, y) for x, y in picked]
    assert keys == sorted(keys) and len(set(picked)) == count
    assert all(x > 0 or (x == 0 and y >= 0) for x, y in picked)  # the half plane


def test_ray_error_tracks_endpoint_jump():
    """For a linear residual rho(c) = c along the ray, every DFT bin k > 0 has |FFT_k| / M equal
    to that of the sampled ramp."""
    direction = jnp.array([1.0, 2.0])
    ray = metrics.ray_fft_error(lambda xs: xs[:, 0], direction, num_points=64)
    ramp = jnp.linspace(0, 1, 64)
    np.testing.assert_allclose(ray, jnp.abs(jnp.fft.fft(ramp)) / 64, rtol=1e-5)
    assert (
        metrics.ray_fft_error(lambda xs: xs[:, 0], direction, num_points=64, modes=32).shape == ()
    )


def test_accuracy_and_norms():
    outputs = jnp.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])
    assert float(metrics.accuracy(outputs, jnp.array([1, 0, 0]))) == np.float32(2 / 3)
    assert float(metrics.accuracy(outputs, jnp.eye(2)[jnp.array([1, 0, 1])])) == 1.0
    params = {"w": jnp.array([3.0, 4.0]), "b": None}
    assert float(metrics.weight_norm(params)) == 5.0
    np.testing.assert_allclose(
        metrics.relative_distance({"w": jnp.array([3.0, 5.0])}, {"w": jnp.array([3.0, 4.0])}), 0.2
    )
    np.testing.assert_allclose(metrics.mean_squared_error(jnp.ones(4), jnp.zeros(4)), 1.0)


def test_ntk_spectrum_descending():
    spectrum = metrics.ntk_spectrum(jnp.diag(jnp.array([1.0, 3.0, 2.0])))
    np.testing.assert_allclose(spectrum, [3.0, 2.0, 1.0])


def test_sequence_accuracy_needs_every_position_right():
    """Outputs (n, L, c) against labels (n, L): a sample counts only if all L tokens are right."""
    logits = jnp.zeros((3, 2, 4))
    logits = logits.at[0, 0, 1].set(1).at[0, 1, 2].set(1)  # sample 0: predicts (1, 2)
    logits = logits.at[1, 0, 1].set(1).at[1, 1, 3].set(1)  # sample 1: predicts (1, 3)
    logits = logits.at[2, 0, 0].set(1).at[2, 1, 2].set(1)  # sample 2: predicts (0, 2)
    labels = jnp.array([[1, 2], [1, 2], [1, 2]])
    assert float(metrics.accuracy(logits, labels)) == pytest.approx(1 / 3)
    # one loss position: (n, 1, c) against (n, 1) is plain accuracy
    assert float(metrics.accuracy(logits[:, :1], labels[:, :1])) == pytest.approx(2 / 3)
