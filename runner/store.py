"""The run directory: plain files that can be copied anywhere and judged again.

```
reports/index.html                  every run below, newest first (runner.report.index)
reports/<utc>_<spec-name>_<spec-hash8>/
  manifest.json  spec.yaml  spec.resolved.yaml  overrides.txt  env.json  [spec.judged.yaml]
  cells/<cell_id>/  cell.json  metrics.npz  summary.json  [error.txt]  [snapshot.npz]
                    [checkpoint.npz checkpoint.json]   a cell paused at --time-limit
  claims.json  [claims.previous.json]  report.html  junit.xml
  [robustness/cells/<cell_id>/]   --check-robustness: re-run cells, perturbation in cell.json
  [determinism/cells/<cell_id>/]  --check-determinism: re-run cells
```

``snapshot.npz`` holds a cell's parameters at the steps where the switch cells that continue it
start (``first: NAME``); ``claims.previous.json`` the judgement that the last ``runner judge``
replaced. ``spec.judged.yaml`` appears when ``runner judge --spec PATH`` re-judged the run with
an edited spec: its claims and observables are the ones in ``claims.json``; ``spec.yaml`` stays
the spec the cells were trained with.

``checkpoint.npz`` / ``checkpoint.json`` hold a cell that ``runner run --time-limit`` stopped
between two chunks (its summary says ``paused``): per training phase of the cell, the
parameters and optimizer state where it stopped, its records and evaluations so far, and any
phase it had finished; ``--resume`` continues it from there and removes them when the cell ends.

Every file is written atomically (a temporary file in the same directory, then ``os.replace``),
so a killed run never leaves a half-written file. A cell is *finished* when its
``summary.json`` exists; it is written last, after ``metrics.npz``.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import platform
import subprocess
import tempfile
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from runner.plan import Cell
from runner.results import CellResult, ClaimResult, jsonable

PACKAGES = (
    "pgdlab",
    "jax",
    "jaxlib",
    "equinox",
    "optax",
    "numpy",
    "scipy",
    "pydantic",
    "matplotlib",
)


_UMASK = os.umask(0)
os.umask(_UMASK)


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp creates 0600; a report is meant to be shared
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def write_json(path: Path, data: Any) -> None:
    atomic_write_text(path, json.dumps(jsonable(data), indent=2, sort_keys=False) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def run_dir_name(spec_name: str, spec_hash: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}_{spec_name}_{spec_hash[:8]}"


def point_latest(out_root: Path, run_dir: Path) -> None:
    """``reports/latest`` -> the newest run (a symlink; a text file where links fail)."""
    link = out_root / "latest"
    run_dir = run_dir.resolve()
    try:
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(run_dir.name, target_is_directory=True)
    except OSError:
        atomic_write_text(link, run_dir.name + "\n")


# --- environment -------------------------------------------------------------------------------


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def machine() -> dict[str, Any]:
    """The CPU a run had: the processor's model name (Linux ``/proc/cpuinfo``; else
    ``platform.processor()``) and the cores the process may use, so that a verdict and a time can
    be traced to the machine that printed them (``runner results``)."""
    processor = platform.processor() or None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                processor = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count()
    return {"processor": processor, "cpus": cpus}


def environment(spec_path: Path) -> dict[str, Any]:
    """Provenance for ``env.json``: git state of the spec's repository, versions, devices."""
    import jax

    from runner.threads import applied

    cwd = spec_path.resolve().parent
    commit = _git(["rev-parse", "HEAD"], cwd)
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd)
    packages: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    return {
        "git": {"commit": commit, "dirty": None if status is None else bool(status)},
        "packages": packages,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": machine(),
        "jax_devices": [str(d) for d in jax.devices()],
        "threads": dict(applied),
        "env_vars": {
            k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "XLA_FLAGS", "PJRT_NPROC")
        },
        "data_sources": {},
    }


# --- cells -------------------------------------------------------------------------------------


def cell_dir(run_dir: Path, cell: Cell) -> Path:
    return run_dir / "cells" / cell.cell_id


def cell_arrays(outcome: Any) -> dict[str, Any]:
    """The arrays of ``metrics.npz``: ``eval/step``, ``eval/<metric>``, ``train/<record>``."""
    arrays = {"eval/step": outcome.eval_steps}
    arrays.update({f"eval/{k}": v for k, v in outcome.metrics.items()})
    arrays.update({f"train/{k}": v for k, v in outcome.records.items()})
    return arrays


def write_cell(
    directory: Path,
    cell: Cell,
    outcome: Any | None,
    error: str | None,
    *,
    perturbation: dict[str, Any] | None = None,
) -> dict:
    """Write a cell's files (summary last) and return its summary. ``perturbation`` (what
    :func:`runner.cell.run_cell` applied, ``--check-robustness``) goes into ``cell.json``."""
    data = cell.to_json()
    if perturbation is not None:
        data["perturbation"] = perturbation
    atomic_write_text(directory / "cell.json", json.dumps(jsonable(data), indent=2))
    if outcome is not None:
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **cell_arrays(outcome))
        atomic_write_bytes(directory / "metrics.npz", buffer.getvalue())
        if getattr(outcome, "snapshots", None):
            _write_snapshots(directory / SNAPSHOTS, cell.hash, outcome.snapshots)
    if error is not None:
        atomic_write_text(directory / "error.txt", error)
    if error is not None or outcome is None:
        status = "error"
    elif outcome.diverged_at is not None:
        status = "diverged"
    else:
        status = "finished"
    summary = {
        "cell_id": cell.cell_id,
        "hash": cell.hash,
        "status": status,
        "steps_done": None if outcome is None else outcome.steps_done,
        "diverged_at": None if outcome is None else outcome.diverged_at,
        "wall_seconds": None if outcome is None else outcome.wall_seconds,
        # core.training's timings: compile_s, compilations, train_s, eval_s, total_s, ...
        "timings": {} if outcome is None else dict(outcome.timings),
        "groups": {} if outcome is None else outcome.groups,
        "error": None if error is None else error.strip().splitlines()[-1][:500],
        "finished_at": utc_now(),
    }
    if getattr(outcome, "continued_from", None):
        summary["continued_from"] = outcome.continued_from
    write_json(directory / "summary.json", summary)
    return summary


SNAPSHOTS = "snapshot.npz"  # a cell's parameters at the steps its continuers start from
CHECKPOINT = "checkpoint"  # checkpoint.npz + checkpoint.json: a cell paused at its time limit


def write_paused(
    directory: Path, cell: Cell, phases: dict[str, Any], wall_seconds: float, steps_done: int
) -> dict:
    """Keep a paused cell (``phases``: name -> :class:`core.training.TrainResult`, the last one
    stopped) so that ``--resume`` can finish it, and return its summary (status ``paused``).

    ``checkpoint.npz`` holds, per phase ``P``, ``P/params/<i>``, ``P/opt_state/<i>`` (leaves in
    ``jax.tree.leaves`` order), ``P/records/<name>``, ``P/evaluations/<name>``,
    ``P/eval_steps`` and ``P/snapshots/<step>/<i>``; ``checkpoint.json`` the cell's hash, the
    code version, the wall seconds so far and each phase's steps, flags and timings."""
    import jax  # only a cell that trained calls this: jax is loaded already

    arrays: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    for name, result in phases.items():
        trees = {"params": result.params, "opt_state": result.opt_state}
        for part, tree in trees.items():
            for i, leaf in enumerate(jax.tree.leaves(tree)):
                arrays[f"{name}/{part}/{i:04d}"] = np.asarray(leaf)
        for part in ("records", "evaluations"):
            for key, values in getattr(result, part).items():
                arrays[f"{name}/{part}/{key}"] = np.asarray(values)
        arrays[f"{name}/eval_steps"] = np.asarray(result.eval_steps)
        for step, params in result.snapshots.items():
            for i, leaf in enumerate(jax.tree.leaves(params)):
                arrays[f"{name}/snapshots/{step}/{i:04d}"] = np.asarray(leaf)
        meta[name] = {
            "start_step": int(result.start_step),
            "steps_done": int(result.steps_done),
            "stopped": bool(result.stopped),
            "diverged_at": int(np.asarray(result.diverged_at)),
            "timings": dict(result.timings),
        }
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(directory / f"{CHECKPOINT}.npz", buffer.getvalue())
    write_json(
        directory / f"{CHECKPOINT}.json",
        {
            "hash": cell.hash,
            "code_version": code_version(),
            "wall_seconds": wall_seconds,
            "phases": meta,
        },
    )
    atomic_write_text(directory / "cell.json", json.dumps(jsonable(cell.to_json()), indent=2))
    summary = {
        "cell_id": cell.cell_id,
        "hash": cell.hash,
        "status": "paused",
        "steps_done": steps_done,
        "diverged_at": None,
        "wall_seconds": wall_seconds,
        "timings": {},
        "groups": {},
        "error": None,
        "finished_at": utc_now(),
    }
    write_json(directory / "summary.json", summary)
    return summary


def read_paused(directory: Path, cell_hash: str) -> tuple[dict[str, Any], float] | None:
    """A paused cell's phases (name -> :class:`core.training.TrainResult` with its parameters,
    optimizer state and snapshots as lists of leaves) and wall seconds so far; None when there
    is no checkpoint, or it belongs to another cell hash or another version of the code (it is
    then trained from the start)."""
    from core.training import TrainResult

    meta_path, npz_path = directory / f"{CHECKPOINT}.json", directory / f"{CHECKPOINT}.npz"
    if not (meta_path.exists() and npz_path.exists()):
        return None
    try:
        meta = read_json(meta_path)
        if meta.get("hash") != cell_hash or meta.get("code_version") != code_version():
            return None
        with np.load(npz_path) as stored:
            arrays = {key: stored[key] for key in stored.files}
    except (OSError, ValueError, json.JSONDecodeError):
        return None

    def part(name: str, kind: str) -> dict[str, np.ndarray]:
        prefix = f"{name}/{kind}/"
        return {k[len(prefix) :]: v for k, v in sorted(arrays.items()) if k.startswith(prefix)}

    phases = {}
    for name, info in meta["phases"].items():
        snapshots: dict[int, list[np.ndarray]] = {}
        for key, leaf in part(name, "snapshots").items():
            step = int(key.split("/")[0])
            snapshots.setdefault(step, []).append(leaf)
        phases[name] = TrainResult(
            params=list(part(name, "params").values()),
            opt_state=list(part(name, "opt_state").values()),
            records=part(name, "records"),
            eval_steps=arrays[f"{name}/eval_steps"],
            evaluations=part(name, "evaluations"),
            diverged_at=np.asarray(info["diverged_at"]),
            steps_done=info["steps_done"],
            timings=info["timings"],
            snapshots=snapshots,
            start_step=info["start_step"],
            stopped=info["stopped"],
        )
    return phases, float(meta.get("wall_seconds") or 0.0)


def remove_paused(directory: Path) -> None:
    """Drop a paused cell's checkpoint (the cell has ended)."""
    for suffix in (".npz", ".json"):
        (directory / f"{CHECKPOINT}{suffix}").unlink(missing_ok=True)


def _write_snapshots(path: Path, cell_hash: str, snapshots: dict[int, list[Any]]) -> None:
    """``snapshot.npz``: the cell's hash and, per kept step ``k``, the parameter leaves in
    ``jax.tree.leaves`` order as ``step<k>/<i>`` (uncompressed: they are read back whole)."""
    arrays: dict[str, Any] = {"hash": np.asarray(cell_hash)}
    for step, leaves in snapshots.items():
        arrays.update({f"step{step}/{i:04d}": np.asarray(leaf) for i, leaf in enumerate(leaves)})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def read_continuation(
    directory: Path, cell_hash: str, step: int
) -> tuple[list[np.ndarray], dict[str, np.ndarray]] | None:
    """What a continuing switch takes over from the donor cell in ``directory``: the parameter
    leaves kept after ``step`` and the donor's ``metrics.npz`` arrays; None unless the donor
    finished, with this ``cell_hash``, and kept that step."""
    summary = read_summary(directory)
    path = directory / SNAPSHOTS
    if not summary or summary.get("hash") != cell_hash or summary.get("status") != "finished":
        return None
    if not path.exists() or not (directory / "metrics.npz").exists():
        return None
    try:
        with np.load(path) as stored:
            if str(stored["hash"]) != cell_hash:
                return None
            prefix = f"step{step}/"
            names = sorted(n for n in stored.files if n.startswith(prefix))
            leaves = [stored[n] for n in names]
        with np.load(directory / "metrics.npz") as metrics:
            arrays = {name: metrics[name] for name in metrics.files}
    except (OSError, ValueError, KeyError):
        return None
    return (leaves, arrays) if leaves else None


def read_summary(directory: Path) -> dict | None:
    path = directory / "summary.json"
    if not path.exists():
        return None
    try:
        return read_json(path)
    except (OSError, json.JSONDecodeError):
        return None


def load_cell(directory: Path) -> CellResult:
    """A stored cell as a :class:`CellResult` (status ``missing`` if it never finished)."""
    info = read_json(directory / "cell.json")
    summary = read_summary(directory)
    base = dict(
        cell_id=info["cell_id"], optimizer=info["optimizer"], seed=info["seed"], point=info["point"]
    )
    if summary is None:
        return CellResult(**base, status="missing")
    result = CellResult(
        **base,
        status=summary["status"],
        diverged_at=summary.get("diverged_at"),
        error=summary.get("error"),
        wall_seconds=summary.get("wall_seconds") or 0.0,
        steps_done=summary.get("steps_done") or 0,
        groups=summary.get("groups") or {},
    )
    metrics_path = directory / "metrics.npz"
    if metrics_path.exists():
        with np.load(metrics_path) as arrays:
            for name in arrays.files:
                kind, _, metric = name.partition("/")
                if name == "eval/step":
                    result.eval_steps = arrays[name]
                elif kind == "eval":
                    result.metrics[metric] = arrays[name]
                else:
                    result.records[metric] = arrays[name]
    return result


def load_cells(run_dir: Path, manifest: dict) -> list[CellResult]:
    cells = []
    for entry in manifest.get("cells", []):
        directory = run_dir / "cells" / entry["cell_id"]
        if (directory / "cell.json").exists():
            cells.append(load_cell(directory))
        else:
            cells.append(
                CellResult(
                    cell_id=entry["cell_id"],
                    optimizer=entry["optimizer"],
                    seed=entry["seed"],
                    point=entry.get("point", {}),
                    status="missing",
                )
            )
    return cells


# --- claims ------------------------------------------------------------------------------------


def write_claims(
    run_dir: Path, claims: list[ClaimResult], robustness: dict[str, Any] | None = None
) -> None:
    """``claims.json``: ``claims``, and ``robustness`` when the run was checked
    (``--check-robustness``: :func:`runner.run.judge_robustness`)."""
    data: dict[str, Any] = {"claims": [c.to_dict() for c in claims]}
    if robustness is not None:
        data["robustness"] = robustness
    write_json(run_dir / "claims.json", data)


def read_claims(run_dir: Path) -> list[ClaimResult]:
    path = run_dir / "claims.json"
    if not path.exists():
        return []
    return [ClaimResult.from_dict(c) for c in read_json(path)["claims"]]


def read_robustness(run_dir: Path) -> dict[str, Any] | None:
    """The ``robustness`` section of ``claims.json`` (None: the run was not checked)."""
    path = run_dir / "claims.json"
    return read_json(path).get("robustness") if path.exists() else None


def manifest_timings(summary: dict[str, Any]) -> dict[str, float]:
    """A cell's ``compile_seconds`` (tracing and compiling) and ``eval_seconds`` (evaluations,
    their compilation excluded) from its summary's ``timings``, for its manifest entry; empty
    when the cell recorded none (an error before training, a run from an older version)."""
    timings = summary.get("timings") or {}
    return {
        key: float(timings[source])
        for key, source in (("compile_seconds", "compile_s"), ("eval_seconds", "eval_s"))
        if timings.get(source) is not None
    }


def run_dirs(out_root: Path) -> list[Path]:
    """The run directories under ``out_root``, oldest first: folders with a ``manifest.json``
    (not ``latest``, a link, nor the workers' ``.jax-cache``)."""
    if not Path(out_root).is_dir():
        return []
    return sorted(
        p
        for p in Path(out_root).iterdir()
        if (p / "manifest.json").is_file() and not p.is_symlink()
    )


def previous_seconds(out_root: Path, spec_name: str) -> dict[str, float]:
    """Wall seconds of finished cells by hash, from the runs of ``spec_name`` under
    ``out_root`` (the newest run's time where several ran a cell): what orders a new run's cells
    longest first (:func:`runner.engines.longest_first`)."""
    seconds: dict[str, float] = {}
    for run_dir in run_dirs(out_root):  # oldest first: a newer time replaces an older one
        try:
            manifest = read_json(run_dir / "manifest.json")
        except (OSError, ValueError):
            continue
        if manifest.get("spec_name") != spec_name:
            continue
        for entry in manifest.get("cells", []):
            if entry.get("status") == "finished" and entry.get("wall_seconds"):
                seconds[entry["hash"]] = float(entry["wall_seconds"])
    return seconds


def wall_seconds(manifest: dict[str, Any]) -> float | None:
    """A run's wall time from its manifest (``created`` -> ``finished``); None when either is
    missing (a run still going, or interrupted before the manifest was finished)."""
    start, end = manifest.get("created"), manifest.get("finished")
    if not (start and end):
        return None

    def stamp(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    return (stamp(end) - stamp(start)).total_seconds()


def run_timing(run_dir: Path) -> dict[str, Any]:
    """A finished run's wall time (manifest ``created`` -> ``finished``), cell seconds summed by
    optimizer, and its verdicts when judged (what the benchmarks report for a default profile)."""
    manifest = read_json(run_dir / "manifest.json")
    claims_path = run_dir / "claims.json"
    claims = read_json(claims_path)["claims"] if claims_path.exists() else []

    by_optimizer: dict[str, float] = {}
    for cell in manifest["cells"]:
        name = cell["optimizer"]
        by_optimizer[name] = by_optimizer.get(name, 0.0) + (cell.get("wall_seconds") or 0.0)
    return {
        "run_dir": str(run_dir),
        "profile": manifest.get("profile"),
        "cells": len(manifest["cells"]),
        "wall_s": wall_seconds(manifest),
        "cell_seconds_by_optimizer": by_optimizer,
        "verdicts": {c["id"]: c["verdict"] for c in claims},
    }


def dump_yaml(data: Any) -> str:
    return yaml.safe_dump(jsonable(data), sort_keys=False, default_flow_style=None, width=100)


# --- code version ------------------------------------------------------------------------------

#: the packages whose sources :func:`code_version` hashes: everything between a spec and its
#: verdicts (the kinds, the engines, the training loops, the claims).
CODE_PACKAGES = ("core", "runner")


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A fingerprint of the code that turns a spec into cells and verdicts: the SHA-256 of every
    ``.py`` file of :data:`CODE_PACKAGES` as imported (relative path and bytes) and of the
    installed versions of :data:`PACKAGES` (JAX, numpy, ...). A stored run is reused in place of
    training only when its spec hash and this fingerprint match (``pytest`` on a spec,
    :mod:`runner.pytest_plugin`): any edit of those sources, a comment included, or another JAX
    makes a new run. Computed once per process (a few ms)."""
    import importlib

    digest = hashlib.sha256()
    for name in CODE_PACKAGES:
        root = Path(importlib.import_module(name).__file__ or "").parent
        for path in sorted(root.rglob("*.py")):
            digest.update(f"{name}/{path.relative_to(root).as_posix()}\0".encode())
            digest.update(path.read_bytes())
            digest.update(b"\0")
    for name in PACKAGES:
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = None
        digest.update(f"{name}=={installed}\0".encode())
    return digest.hexdigest()
