"""MNIST as arrays: splits, input features and one-hot targets.

Pure numpy, no files and no environment: :mod:`runner.data.mnist` finds and reads the digits (the
10 000 that ship with pgdlab, or the full set) and hands them here as uint8 images ``(n, 784)``
and uint8 labels ``(n,)``. Two splits (docs/paper-notes.md#mnist-data):

- :func:`split_shipped`, for the shipped digits: a permutation from
  ``numpy.random.default_rng(split_seed)`` (PCG64, identical on every machine), the first
  ``train`` digits train and the next ``test`` (default: the rest) test.
- :func:`split_full`, for the standard MNIST, as Omnigrok: the first ``train`` images of the
  official training set, the first ``test`` (default: all 10 000) of the official test set.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class Digits(NamedTuple):
    images: np.ndarray  # (n, 784) uint8
    labels: np.ndarray  # (n,) uint8


class MnistSplit(NamedTuple):
    train: Digits
    test: Digits


def split_shipped(digits: Digits, train: int, test: int | None, split_seed: int) -> MnistSplit:
    """A fixed split of ``digits``: ``default_rng(split_seed).permutation``, the first ``train``
    train, the next ``test`` (``None``: all the rest) test."""
    n = digits.images.shape[0]
    test = n - train if test is None else test
    if train < 1 or test < 1 or train + test > n:
        raise ValueError(
            f"the shipped set has {n} digits; cannot take {train} train and {test} test"
        )
    order = np.random.default_rng(split_seed).permutation(n)
    tr, te = order[:train], order[train : train + test]
    return MnistSplit(
        Digits(digits.images[tr], digits.labels[tr]), Digits(digits.images[te], digits.labels[te])
    )


def split_full(data: MnistSplit, train: int, test: int | None) -> MnistSplit:
    """Omnigrok's split: the first ``train`` training images, the first ``test`` (``None``: all)
    test images."""
    test = data.test.images.shape[0] if test is None else test
    if not 1 <= train <= data.train.images.shape[0] or not 1 <= test <= data.test.images.shape[0]:
        raise ValueError(
            f"full MNIST has {data.train.images.shape[0]} train and {data.test.images.shape[0]} "
            f"test images; cannot take {train} and {test}"
        )
    return MnistSplit(
        Digits(data.train.images[:train], data.train.labels[:train]),
        Digits(data.test.images[:test], data.test.labels[:test]),
    )


def features(images: np.ndarray, pool: int = 1) -> np.ndarray:
    """``images / 255`` (``ToTensor``), average-pooled ``pool x pool`` (28 must divide by it),
    flattened: ``(n, (28 / pool)^2)`` float32."""
    if 28 % pool:
        raise ValueError(f"pool must divide 28, got {pool}")
    x = images.reshape(-1, 28, 28).astype(np.float32) / 255.0
    if pool > 1:
        side = 28 // pool
        x = x.reshape(-1, side, pool, side, pool).mean(axis=(2, 4))
    return x.reshape(x.shape[0], -1)


def one_hot(labels: np.ndarray, classes: int = 10) -> np.ndarray:
    """``(n, classes)`` float32 rows with a single 1 at each label."""
    return np.eye(classes, dtype=np.float32)[labels]
