"""runner.data.mnist: the shipped digits (checksum, split), IDX and keras-npz readers on small
files built here, the search order, and clear errors for missing, truncated or corrupt files."""

from __future__ import annotations

import gzip
import importlib.util
import io
import json
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

from core.mnist import split_full, split_shipped
from runner.data import mnist

ROOT = Path(__file__).resolve().parents[2]


def _idx_bytes(array: np.ndarray) -> bytes:
    dims = array.ndim
    header = (0x800 + dims).to_bytes(4, "big") + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    return header + array.astype(np.uint8).tobytes()


def _digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, np.uint8)


def _write_idx_folder(folder: Path, gz: bool, n_train: int = 12, n_test: int = 5) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    (xtr, ytr), (xte, yte) = _digits(n_train, 0), _digits(n_test, 1)
    arrays = {
        "train_images": xtr,
        "train_labels": ytr,
        "test_images": xte,
        "test_labels": yte,
    }
    for key, array in arrays.items():
        data = _idx_bytes(array)
        name = mnist.IDX_FILES[key] + (".gz" if gz else "")
        (folder / name).write_bytes(gzip.compress(data) if gz else data)
    return arrays


def _write_npz(path: Path, n_train: int = 12, n_test: int = 5, drop: str | None = None) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    (xtr, ytr), (xte, yte) = _digits(n_train, 2), _digits(n_test, 3)
    arrays = {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte}
    np.savez_compressed(path, **{k: v for k, v in arrays.items() if k != drop})
    return arrays


# --- shipped digits ----------------------------------------------------------------------------


def test_shipped_digits_load_with_checksum():
    digits = mnist.load_shipped()
    assert digits.images.shape == (10_000, 784) and digits.images.dtype == np.uint8
    counts = np.bincount(digits.labels, minlength=10).tolist()
    assert counts == [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]
    assert digits.images.max() == 255 and digits.images.min() == 0
    # real digits: mostly background, a stroke in the middle
    assert 0.7 < np.mean(digits.images == 0) < 0.95


def test_damaged_shipped_file_is_refused(tmp_path):
    damaged = tmp_path / "mnist_npm_10k.npz"
    raw = bytearray(mnist.SHIPPED_PATH.read_bytes())
    raw[1000] ^= 0xFF
    damaged.write_bytes(bytes(raw))
    with pytest.raises(mnist.MnistDataError, match="sha256") as info:
        mnist.load_shipped(damaged)
    assert info.value.path == str(damaged)
    with pytest.raises(mnist.MnistDataError, match="missing"):
        mnist.load_shipped(tmp_path / "absent.npz")


def test_shipped_split_is_fixed_and_disjoint():
    digits = mnist.load_shipped()
    split = split_shipped(digits, 1000, None, split_seed=0)
    assert split.train.images.shape == (1000, 784) and split.test.images.shape == (9000, 784)
    # PCG64 gives the same permutation on every machine: pin its start
    order = np.random.default_rng(0).permutation(10_000)
    assert order[:6].tolist() == [3577, 8925, 1634, 485, 4753, 726]
    np.testing.assert_array_equal(split.train.images[0], digits.images[3577])
    rows = {row.tobytes() for row in split.train.images}
    assert not any(row.tobytes() in rows for row in split.test.images[:500])
    again = split_shipped(digits, 1000, 2000, split_seed=0)
    np.testing.assert_array_equal(again.train.labels, split.train.labels)
    assert again.test.images.shape[0] == 2000
    with pytest.raises(ValueError, match="cannot take"):
        split_shipped(digits, 9000, 2000, split_seed=0)


# --- full MNIST readers ------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_idx_folder_round_trip(tmp_path, gz):
    arrays = _write_idx_folder(tmp_path, gz)
    data = mnist.load_idx_folder(tmp_path)
    np.testing.assert_array_equal(data.train.images, arrays["train_images"].reshape(12, 784))
    np.testing.assert_array_equal(data.test.labels, arrays["test_labels"])
    split = split_full(data, 10, None)
    assert split.train.images.shape == (10, 784) and split.test.images.shape == (5, 784)
    np.testing.assert_array_equal(split.train.images, data.train.images[:10])  # the first ones


def test_truncated_idx_names_the_file(tmp_path):
    _write_idx_folder(tmp_path, gz=False)
    target = tmp_path / mnist.IDX_FILES["train_images"]
    target.write_bytes(target.read_bytes()[:-100])
    with pytest.raises(mnist.MnistDataError, match="truncated") as info:
        mnist.load_idx_folder(tmp_path)
    assert info.value.path == str(target)


def test_truncated_gzip_names_the_file(tmp_path):
    _write_idx_folder(tmp_path, gz=True)
    target = tmp_path / (mnist.IDX_FILES["test_images"] + ".gz")
    target.write_bytes(target.read_bytes()[:40])
    with pytest.raises(mnist.MnistDataError, match="gzip") as info:
        mnist.load_idx_folder(tmp_path)
    assert info.value.path == str(target)


def test_wrong_magic_and_mismatched_labels(tmp_path):
    arrays = _write_idx_folder(tmp_path, gz=False)
    labels = tmp_path / mnist.IDX_FILES["train_labels"]
    labels.write_bytes(_idx_bytes(arrays["train_images"]))  # images where labels belong
    with pytest.raises(mnist.MnistDataError, match="magic number"):
        mnist.load_idx_folder(tmp_path)
    labels.write_bytes(_idx_bytes(arrays["train_labels"][:7]))
    with pytest.raises(mnist.MnistDataError, match="labels for 12 images"):
        mnist.load_idx_folder(tmp_path)


def test_missing_idx_file_is_named(tmp_path):
    _write_idx_folder(tmp_path, gz=False)
    (tmp_path / mnist.IDX_FILES["test_labels"]).unlink()
    with pytest.raises(mnist.MnistDataError, match="t10k-labels-idx1-ubyte"):
        mnist.load_idx_folder(tmp_path)


def test_keras_npz_round_trip_and_errors(tmp_path):
    arrays = _write_npz(tmp_path / "mnist.npz")
    data = mnist.load_keras_npz(tmp_path / "mnist.npz")
    np.testing.assert_array_equal(data.train.images, arrays["x_train"].reshape(12, 784))
    _write_npz(tmp_path / "partial.npz", drop="y_test")
    with pytest.raises(mnist.MnistDataError, match="y_test"):
        mnist.load_keras_npz(tmp_path / "partial.npz")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes((tmp_path / "mnist.npz").read_bytes()[:200])
    with pytest.raises(mnist.MnistDataError, match="corrupt.npz"):
        mnist.load_keras_npz(corrupt)


# --- locating ----------------------------------------------------------------------------------


def test_locate_order(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    assert mnist.locate("auto", environ={}, home=home).kind == "shipped"
    with pytest.raises(mnist.MnistDataError, match="no MNIST found"):
        mnist.locate("full", environ={}, home=home)
    # a cache folder
    _write_npz(home / ".keras" / "datasets" / "mnist.npz")
    found = mnist.locate("auto", environ={}, home=home)
    assert (found.kind, found.found_by) == ("npz", "keras cache")
    # $PGDLAB_DATA beats the caches, with the torchvision layout below it
    data_root = tmp_path / "data"
    _write_idx_folder(data_root / "MNIST" / "raw", gz=True)
    found = mnist.locate("auto", environ={"PGDLAB_DATA": str(data_root)}, home=home)
    assert (found.kind, found.path, found.found_by) == (
        "idx",
        data_root / "MNIST" / "raw",
        "$PGDLAB_DATA",
    )
    # the spec's path beats both; shipped ignores everything
    found = mnist.locate("auto", tmp_path / "home/.keras/datasets/mnist.npz", environ={})
    assert found.found_by == "spec"
    assert mnist.locate("shipped", environ={"PGDLAB_DATA": str(data_root)}).kind == "shipped"


def test_explicit_location_without_mnist_is_an_error(tmp_path):
    with pytest.raises(mnist.MnistDataError, match="no such file") as info:
        mnist.locate("auto", tmp_path / "nowhere", environ={})
    assert str(tmp_path / "nowhere") in str(info.value)
    (tmp_path / "empty").mkdir()
    with pytest.raises(mnist.MnistDataError, match="no MNIST here"):
        mnist.locate("auto", environ={"PGDLAB_DATA": str(tmp_path / "empty")}, home=tmp_path)


def test_load_split_of_each_source(tmp_path):
    _write_idx_folder(tmp_path / "idx", gz=False)
    source = mnist.locate("full", tmp_path / "idx", environ={})
    split = mnist.load_split(source, 3, 2, split_seed=0)
    assert split.train.images.shape == (3, 784) and split.test.images.shape == (2, 784)
    shipped = mnist.load_split(mnist.locate("shipped"), 100, 50, split_seed=1)
    assert shipped.train.images.shape == (100, 784)


# --- the conversion script ---------------------------------------------------------------------


def test_conversion_script_recovers_pixels(tmp_path):
    spec = importlib.util.spec_from_file_location(
        "convert_npm_mnist", ROOT / "runner" / "data" / "convert_npm_mnist.py"
    )
    convert = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(convert)
    rng = np.random.default_rng(0)
    pixels = {d: rng.integers(0, 256, (2, 784)) for d in range(10)}
    tarball = tmp_path / "mnist-1.1.0.tgz"
    with tarfile.open(tarball, "w:gz") as archive:
        for digit, block in pixels.items():
            text = json.dumps({"data": np.round(block / 255.0, 3).ravel().tolist()}).encode()
            info = tarfile.TarInfo(f"package/src/digits/{digit}.json")
            info.size = len(text)
            archive.addfile(info, io.BytesIO(text))
    images, labels = convert.digits_from_tarball(tarball)
    np.testing.assert_array_equal(images, np.concatenate([pixels[d] for d in range(10)]))
    assert labels.tolist() == [d for d in range(10) for _ in range(2)]
    first = convert.write_npz(tmp_path / "a.npz", {"images": images, "labels": labels})
    second = convert.write_npz(tmp_path / "b.npz", {"images": images, "labels": labels})
    assert first == second  # fixed timestamps: reproducible bytes
    shutil.copy(tmp_path / "a.npz", tmp_path / "c.npz")
    loaded = mnist.load_shipped(tmp_path / "c.npz", sha256=first)
    np.testing.assert_array_equal(loaded.images, images)
