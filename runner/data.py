"""Which data a spec's task reads, checked before anything trains.

Only MNIST comes from files (everything else is generated from formulas and seeds). For an
``mnist`` task this finds the source (:func:`core.mnist.locate`), reads it once to check it (the
shipped digits' sha256, the IDX headers and lengths, the npz keys), and describes it for
``runner data``, ``env.json`` and the report. A missing, truncated or corrupt file is a
:class:`runner.load.SpecError` (exit 4) naming the file, raised before a run directory exists.
"""

from __future__ import annotations

from typing import Any

from runner.load import LoadedSpec, SpecError


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
    from core import mnist

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
    from core import mnist

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
