"""core.mnist: splits, features and one-hot targets on arrays built here (no files: reading the
digits is runner.data.mnist's job, tested in tests/runner/test_data_mnist.py)."""

from __future__ import annotations

import numpy as np
import pytest

from core import mnist


def _digits(n: int, seed: int = 0) -> mnist.Digits:
    rng = np.random.default_rng(seed)
    return mnist.Digits(
        rng.integers(0, 256, (n, 784), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)
    )


def test_split_shipped_is_a_fixed_permutation():
    digits = _digits(10_000)
    split = mnist.split_shipped(digits, 1000, None, split_seed=0)
    assert split.train.images.shape == (1000, 784) and split.test.images.shape == (9000, 784)
    # PCG64 gives the same permutation on every machine: pin its start
    order = np.random.default_rng(0).permutation(10_000)
    assert order[:6].tolist() == [3577, 8925, 1634, 485, 4753, 726]
    np.testing.assert_array_equal(split.train.images[0], digits.images[3577])
    np.testing.assert_array_equal(split.train.labels, digits.labels[order[:1000]])
    np.testing.assert_array_equal(split.test.images, digits.images[order[1000:]])
    again = mnist.split_shipped(digits, 1000, 2000, split_seed=0)
    np.testing.assert_array_equal(again.train.labels, split.train.labels)
    np.testing.assert_array_equal(again.test.images, split.test.images[:2000])
    other = mnist.split_shipped(digits, 1000, None, split_seed=1)
    assert not np.array_equal(other.train.labels, split.train.labels)
    for train, test in ((9000, 2000), (0, 10), (10, 0)):
        with pytest.raises(ValueError, match="cannot take"):
            mnist.split_shipped(digits, train, test, split_seed=0)


def test_split_full_takes_the_first_images():
    data = mnist.MnistSplit(_digits(12, 1), _digits(5, 2))
    split = mnist.split_full(data, 10, None)
    assert split.train.images.shape == (10, 784) and split.test.images.shape == (5, 784)
    np.testing.assert_array_equal(split.train.images, data.train.images[:10])
    np.testing.assert_array_equal(split.test.labels, data.test.labels)
    assert mnist.split_full(data, 3, 2).test.images.shape == (2, 784)
    with pytest.raises(ValueError, match="cannot take"):
        mnist.split_full(data, 13, None)


def test_features_scale_and_pool():
    images = np.zeros((2, 784), np.uint8)
    images[0, :28] = 255  # the first row of the first image
    x = mnist.features(images)
    assert x.shape == (2, 784) and x.dtype == np.float32 and x.max() == 1.0
    pooled = mnist.features(images, pool=2)
    assert pooled.shape == (2, 196)
    np.testing.assert_allclose(pooled[0, :14], 0.5)  # half of each 2 x 2 block is lit
    np.testing.assert_allclose(pooled[0, 14:], 0.0)
    assert mnist.features(images, pool=7).shape == (2, 16)
    with pytest.raises(ValueError):
        mnist.features(images, pool=3)


def test_one_hot():
    targets = mnist.one_hot(np.array([3, 0, 9], np.uint8))
    assert targets.shape == (3, 10) and targets.dtype == np.float32
    np.testing.assert_array_equal(targets.argmax(axis=1), [3, 0, 9])
    np.testing.assert_array_equal(targets.sum(axis=1), 1.0)
