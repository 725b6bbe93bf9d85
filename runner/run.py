"""Orchestration: plan -> execute -> store -> judge -> report, and re-judging a stored run.

The CLI (:mod:`runner.cli`) parses arguments and maps outcomes to exit codes; everything a run
does to the disk happens here and in :mod:`runner.store` / :mod:`runner.engines`.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import __version__
from runner import store
from runner.engines import Detached, Interrupted, Progress, execute
from runner.load import LoadedSpec, load_spec
from runner.plan import Cell, content_hash, plan
from runner.results import ClaimResult, RunView


@dataclass
class RunOutcome:
    run_dir: Path
    claims: list[ClaimResult]
    cell_statuses: dict[str, str]
    interrupted: bool = False
    reused: int = 0
    notes: list[str] = field(default_factory=list)
    submitted: int = 0  # --detach: jobs left running; judge later


def reproduce_command(
    loaded: LoadedSpec, engine: str, jobs: int, engine_options: dict[str, Any] | None = None
) -> str:
    parts = ["runner", "run", str(loaded.path)]
    if loaded.profile is not None:
        parts += ["--profile", loaded.profile]
    for override in loaded.overrides:
        parts += ["--set", override]
    if engine != "inline":
        parts += ["--engine", engine, "--jobs", str(jobs)]
    for key, value in (engine_options or {}).items():
        parts += ["--engine-opt", f"{key}={value}"]
    return shlex.join(parts)


def select_cells(cells: list[Cell], only: list[str] | None) -> list[Cell]:
    if not only:
        return cells
    return [c for c in cells if c.optimizer in only]


def _manifest(
    loaded: LoadedSpec,
    run_dir: Path,
    cells: list[Cell],
    summaries: dict[str, dict],
    *,
    engine: str,
    jobs: int,
    status: str,
    created: str,
    engine_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    entries = []
    for cell in cells:
        summary = summaries.get(cell.cell_id) or {}
        entries.append(
            {
                "cell_id": cell.cell_id,
                "optimizer": cell.optimizer,
                "seed": cell.seed,
                "point": cell.point,
                "hash": cell.hash,
                "status": summary.get("status", "missing"),
                "wall_seconds": summary.get("wall_seconds"),
                "steps_done": summary.get("steps_done"),
                "diverged_at": summary.get("diverged_at"),
                "error": summary.get("error"),
            }
        )
    return {
        "run_id": run_dir.name,
        "spec_name": loaded.spec.name,
        "spec_path": str(loaded.path),
        "spec_hash": content_hash({"resolved": loaded.resolved}),
        "profile": loaded.profile,
        "overrides": list(loaded.overrides),
        "command": reproduce_command(loaded, engine, jobs, engine_options),
        "created": created,
        "finished": store.utc_now(),
        "status": status,
        "engine": engine,
        "engine_options": engine_options or {},
        "jobs": jobs,
        "pgdlab_version": __version__,
        "cells": entries,
    }


def reusable_summaries(run_dir: Path, cells: list[Cell]) -> dict[str, dict]:
    """Stored cells whose hash matches and that finished (or diverged: a result, not a crash)."""
    reuse = {}
    for cell in cells:
        summary = store.read_summary(store.cell_dir(run_dir, cell))
        if (
            summary
            and summary.get("hash") == cell.hash
            and summary["status"]
            in (
                "finished",
                "diverged",
            )
        ):
            reuse[cell.cell_id] = summary
    return reuse


def run_spec(
    loaded: LoadedSpec,
    *,
    out_root: Path,
    engine: str = "inline",
    engine_options: dict[str, Any] | None = None,
    jobs: int = 1,
    resume: Path | None = None,
    detach: bool = False,
    only: list[str] | None = None,
    progress_stream: Any = None,
    data_sources: dict[str, Any] | None = None,
) -> RunOutcome:
    cells = select_cells(plan(loaded.spec, loaded.resolved), only)
    if resume is not None:
        run_dir = resume.resolve()  # reports/latest -> the run it points at
        previous = (
            store.read_json(run_dir / "manifest.json")
            if (run_dir / "manifest.json").exists()
            else {}
        )
        created = previous.get("created", store.utc_now())
    else:
        spec_hash = content_hash({"resolved": loaded.resolved})
        run_dir = out_root / store.run_dir_name(loaded.spec.name, spec_hash)
        created = store.utc_now()
    run_dir.mkdir(parents=True, exist_ok=True)
    if resume is not None:
        # a killed run can leave the temporary half of an atomic write; nothing reads them
        for stale in run_dir.rglob(".*.tmp"):
            stale.unlink(missing_ok=True)
    store.atomic_write_text(run_dir / "spec.yaml", loaded.text)
    store.atomic_write_text(run_dir / "spec.resolved.yaml", store.dump_yaml(loaded.resolved))
    store.atomic_write_text(run_dir / "overrides.txt", "".join(f"{o}\n" for o in loaded.overrides))
    env = store.environment(loaded.path)
    env["data_sources"] = data_sources or {}
    store.write_json(run_dir / "env.json", env)
    reuse = reusable_summaries(run_dir, cells) if resume is not None else {}
    store.write_json(
        run_dir / "manifest.json",
        _manifest(
            loaded,
            run_dir,
            cells,
            reuse,
            engine=engine,
            jobs=jobs,
            status="running",
            created=created,
            engine_options=engine_options,
        ),
    )
    interrupted = False
    progress = Progress(len(cells), jobs, progress_stream)
    try:
        summaries = execute(
            cells,
            run_dir,
            engine=engine,
            jobs=jobs,
            reuse=reuse,
            progress=progress,
            engine_options=engine_options,
            detach=detach,
        )
    except Interrupted as stop:
        summaries, interrupted = stop.summaries, True
    except Detached as submitted:
        manifest = _manifest(
            loaded,
            run_dir,
            cells,
            submitted.summaries,
            engine=engine,
            jobs=jobs,
            status="submitted",
            created=created,
            engine_options=engine_options,
        )
        store.write_json(run_dir / "manifest.json", manifest)
        store.point_latest(out_root if resume is None else run_dir.parent, run_dir)
        return RunOutcome(
            run_dir=run_dir,
            claims=[],
            cell_statuses={c["cell_id"]: c["status"] for c in manifest["cells"]},
            interrupted=False,
            reused=len(reuse),
            submitted=len(submitted.job_ids),
        )
    status = "interrupted" if interrupted else "finished"
    manifest = _manifest(
        loaded,
        run_dir,
        cells,
        summaries,
        engine=engine,
        jobs=jobs,
        status=status,
        created=created,
        engine_options=engine_options,
    )
    store.write_json(run_dir / "manifest.json", manifest)
    claims = judge_and_report(run_dir, loaded, manifest)
    store.point_latest(out_root if resume is None else run_dir.parent, run_dir)
    return RunOutcome(
        run_dir=run_dir,
        claims=claims,
        cell_statuses={c["cell_id"]: c["status"] for c in manifest["cells"]},
        interrupted=interrupted,
        reused=len(reuse),
    )


def judge_and_report(run_dir: Path, loaded: LoadedSpec, manifest: dict) -> list[ClaimResult]:
    from runner.kinds.claims import judge

    cells = store.load_cells(run_dir, manifest)
    claims = judge(loaded.spec, cells)
    store.write_claims(run_dir, claims)
    write_report(run_dir, loaded, manifest, claims, cells)
    return claims


def write_report(run_dir: Path, loaded: LoadedSpec, manifest: dict, claims, cells) -> None:
    from runner.report import render_junit, render_report

    view = RunView(
        spec=loaded.spec,
        spec_text=loaded.text,
        resolved_text=store.dump_yaml(loaded.resolved),
        manifest=manifest,
        env=store.read_json(run_dir / "env.json") if (run_dir / "env.json").exists() else {},
        cells=cells,
        claims=claims,
    )
    store.atomic_write_text(run_dir / "report.html", render_report(view))
    store.atomic_write_text(run_dir / "junit.xml", render_junit(view))


def load_run_spec(run_dir: Path, spec_path: Path | None = None) -> LoadedSpec:
    """The spec of a stored run with its profile and overrides: from ``spec_path`` (e.g. the
    original file after editing a claim) or the run's own ``spec.yaml``."""
    manifest = store.read_json(run_dir / "manifest.json")
    judged = run_dir / "spec.judged.yaml"
    path = spec_path or (judged if judged.exists() else run_dir / "spec.yaml")
    return load_spec(path, profile=manifest.get("profile"), overrides=manifest.get("overrides", []))


def changed_cells(run_dir: Path, loaded: LoadedSpec) -> list[str]:
    """Cells whose parameters under ``loaded`` differ from the stored ones (judging them with the
    stored metrics would mislead: the caller warns)."""
    manifest = store.read_json(run_dir / "manifest.json")
    stored = {c["cell_id"]: c["hash"] for c in manifest.get("cells", [])}
    current = {c.cell_id: c.hash for c in plan(loaded.spec, loaded.resolved)}
    return sorted(cell_id for cell_id, digest in stored.items() if current.get(cell_id) != digest)


def refresh_manifest(run_dir: Path) -> dict[str, Any]:
    """The manifest with each cell's status read from its directory (cells of a ``--detach``
    run finish after the manifest was written); a submitted run whose cells have all ended is
    ``finished``. Written back when something changed."""
    manifest = store.read_json(run_dir / "manifest.json")
    changed = False
    for entry in manifest.get("cells", []):
        summary = store.read_summary(run_dir / "cells" / entry["cell_id"])
        if summary is not None and entry.get("status") != summary.get("status"):
            for key in ("status", "wall_seconds", "steps_done", "diverged_at", "error"):
                entry[key] = summary.get(key)
            changed = True
    if manifest.get("status") == "submitted" and all(
        c.get("status") != "missing" for c in manifest.get("cells", [])
    ):
        manifest["status"] = "finished"
        changed = True
    if changed:
        store.write_json(run_dir / "manifest.json", manifest)
    return manifest


def rejudge(run_dir: Path, spec_path: Path | None = None) -> tuple[list[ClaimResult], list[str]]:
    loaded = load_run_spec(run_dir, spec_path)
    manifest = refresh_manifest(run_dir)
    changed = changed_cells(run_dir, loaded)
    if spec_path is not None:
        # spec.yaml stays the spec the cells were trained with; the claims now come from this one
        store.atomic_write_text(run_dir / "spec.judged.yaml", loaded.text)
        manifest["judged_with"] = str(spec_path)
        store.write_json(run_dir / "manifest.json", manifest)
    claims = judge_and_report(run_dir, loaded, manifest)
    return claims, changed


def rerender(run_dir: Path) -> None:
    loaded = load_run_spec(run_dir)
    manifest = store.read_json(run_dir / "manifest.json")
    cells = store.load_cells(run_dir, manifest)
    write_report(run_dir, loaded, manifest, store.read_claims(run_dir), cells)


def check_determinism(run_dir: Path, loaded: LoadedSpec) -> dict[str, list[str]]:
    """Re-run the first finished cell of each optimizer here and compare every stored array
    bit for bit; ``{cell_id: [names that differ]}`` (empty lists: identical)."""
    import numpy as np

    from runner.cell import run_cell

    manifest = store.read_json(run_dir / "manifest.json")
    finished = {c["cell_id"] for c in manifest["cells"] if c["status"] == "finished"}
    chosen: dict[str, Cell] = {}
    for cell in plan(loaded.spec, loaded.resolved):
        if cell.cell_id in finished and cell.optimizer not in chosen:
            chosen[cell.optimizer] = cell
    result: dict[str, list[str]] = {}
    for cell in chosen.values():
        fresh = store.cell_arrays(run_cell(cell.params))
        with np.load(run_dir / "cells" / cell.cell_id / "metrics.npz") as stored:
            names = sorted(set(stored.files) | set(fresh))
            result[cell.cell_id] = [
                name
                for name in names
                if name not in stored.files
                or name not in fresh
                or not np.array_equal(stored[name], np.asarray(fresh[name]), equal_nan=True)
            ]
    return result
