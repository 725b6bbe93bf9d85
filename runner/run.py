"""Orchestration: plan -> execute -> store -> judge -> report, and re-judging a stored run.

The CLI (:mod:`runner.cli`) parses arguments and maps outcomes to exit codes; everything a run
does to the disk happens here and in :mod:`runner.store` / :mod:`runner.engines`.
"""

from __future__ import annotations

import contextlib
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core import __version__
from runner import store
from runner.engines import (
    Detached,
    Interrupted,
    Progress,
    StopRequest,
    compilation_cache,
    ctrl_c_caught,
    execute,
)
from runner.load import LoadedSpec, load_spec
from runner.plan import Cell, content_hash, plan
from runner.results import CellResult, ClaimResult, RunView

#: ``--check-robustness``: the initial parameters of the re-run cells are perturbed at rounding
#: level (:func:`runner.cell.perturb_at_rounding`) with this fixed key.
ROBUSTNESS = {"kind": "rounding", "key": 15}


@dataclass
class RunOutcome:
    run_dir: Path
    claims: list[ClaimResult]
    cell_statuses: dict[str, str]
    interrupted: bool = False
    reused: int = 0
    notes: list[str] = field(default_factory=list)
    submitted: int = 0  # --detach: jobs left running; judge later
    interrupted_while: str | None = None  # "training", "robustness" or "judging"
    robustness: dict[str, Any] | None = None  # claims.json "robustness" (--check-robustness)


def reproduce_command(
    loaded: LoadedSpec, engine: str, jobs: int, engine_options: dict[str, Any] | None = None
) -> str:
    """The command that runs the same cells again; ``inline`` and ``local`` (the defaults, which
    give identical cells) are left out, the cluster engines kept with their options."""
    parts = ["runner", "run", str(loaded.path)]
    if loaded.profile is not None:
        parts += ["--profile", loaded.profile]
    for override in loaded.overrides:
        parts += ["--set", override]
    if engine not in ("inline", "local"):
        parts += ["--engine", engine]
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
                **store.manifest_timings(summary),
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
        # which code trained the cells (runner.store.code_version): pytest reuses a run only
        # when its spec and this match
        "code_version": store.code_version(),
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
    check_robustness: bool = False,
    deadline: float | None = None,
) -> RunOutcome:
    """Train the cells (``engine``: see :mod:`runner.engines`; :func:`runner.engines.
    resolve_engine` gives the CLI's defaults), judge the claims and write the run directory.

    Ctrl-C while training keeps the finished cells and judges them; Ctrl-C while judging keeps
    the claims judged so far (the others are written as not judged); either way the report and
    junit are written and ``interrupted`` is set. ``check_robustness``: then re-run the cells of
    the run's smallest seed with perturbed initial parameters and judge again
    (:func:`run_robustness`, :func:`judge_robustness`).

    ``deadline`` (``time.time()`` seconds; ``runner run --time-limit``): training stops there
    (:func:`runner.engines.execute`). When cells are left, the run is not judged: its manifest
    says ``paused``, ``interrupted_while`` is ``time limit``, and ``--resume`` continues it,
    paused cells from where they stopped."""
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
    if engine == "local":
        from runner.threads import WORKER_DEFAULTS

        env["worker_threads"] = {"OPENBLAS_NUM_THREADS": "1", **WORKER_DEFAULTS, "jobs": jobs}
    store.write_json(run_dir / "env.json", env)
    reuse = reusable_summaries(run_dir, cells) if resume is not None else {}
    manifest_of = _manifest_writer(loaded, run_dir, cells, engine, jobs, created, engine_options)
    store.write_json(run_dir / "manifest.json", manifest_of(reuse, "running"))
    seconds = store.previous_seconds(run_dir.parent, loaded.spec.name)
    interrupted_while = None
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
            seconds=seconds,
            cache=compilation_cache(out_root),
            deadline=deadline,
        )
    except Interrupted as stop:
        summaries, interrupted_while = stop.summaries, "training"
    except Detached as submitted:
        manifest = manifest_of(submitted.summaries, "submitted")
        latest = out_root if resume is None else run_dir.parent
        return _ended_before_judging(
            manifest, run_dir, latest, len(reuse), submitted=len(submitted.job_ids)
        )
    left = [
        c.cell_id for c in cells if summaries.get(c.cell_id, {}).get("status") in (None, "paused")
    ]
    if deadline is not None and interrupted_while is None and left:
        manifest = {**manifest_of(summaries, "paused"), "interrupted_while": "time limit"}
        latest = out_root if resume is None else run_dir.parent
        return _ended_before_judging(
            manifest, run_dir, latest, len(reuse), interrupted=True, interrupted_while="time limit"
        )
    # From here Ctrl-C is remembered, not raised, except while cells run or claims are judged:
    # whatever happens, the manifest, claims.json and the report are written whole.
    with ctrl_c_caught(raising=False) as stop:
        manifest = manifest_of(summaries, "finished")
        if interrupted_while is not None:
            manifest["status"], manifest["interrupted_while"] = "interrupted", interrupted_while
        store.write_json(run_dir / "manifest.json", manifest)
        robustness = False
        if check_robustness and interrupted_while is None and not stop.requested:
            try:
                run_robustness(
                    run_dir,
                    loaded,
                    manifest,
                    engine=engine,
                    jobs=jobs,
                    engine_options=engine_options,
                    progress_stream=progress_stream,
                    stop=stop,
                )
                robustness = True
            except Interrupted:
                stop.requested = False  # the run's claims are judged still; Ctrl-C again stops
                interrupted_while = "robustness"
                manifest["status"], manifest["interrupted_while"] = "interrupted", interrupted_while
                store.write_json(run_dir / "manifest.json", manifest)
        judged = judge_and_report(run_dir, loaded, manifest, robustness=robustness, stop=stop)
        if judged.interrupted and interrupted_while is None:
            interrupted_while = "judging"
        store.point_latest(out_root if resume is None else run_dir.parent, run_dir)
    return RunOutcome(
        run_dir=run_dir,
        claims=judged.claims,
        cell_statuses={c["cell_id"]: c["status"] for c in manifest["cells"]},
        interrupted=interrupted_while is not None,
        reused=len(reuse),
        interrupted_while=interrupted_while,
        robustness=judged.robustness,
    )


def _ended_before_judging(
    manifest: dict[str, Any], run_dir: Path, latest: Path, reused: int, **why: Any
) -> RunOutcome:
    """The outcome of a run that ends before judging (submitted to a cluster, or paused at its
    time limit; ``why``: the :class:`RunOutcome` fields that say so): its ``manifest`` written,
    ``latest`` (a folder of runs) pointing at it."""
    store.write_json(run_dir / "manifest.json", manifest)
    store.point_latest(latest, run_dir)
    statuses = {c["cell_id"]: c["status"] for c in manifest["cells"]}
    return RunOutcome(run_dir=run_dir, claims=[], cell_statuses=statuses, reused=reused, **why)


def _manifest_writer(
    loaded: LoadedSpec,
    run_dir: Path,
    cells: list[Cell],
    engine: str,
    jobs: int,
    created: str,
    engine_options: dict[str, Any] | None,
):
    def manifest_of(summaries: dict[str, dict], status: str) -> dict[str, Any]:
        return _manifest(
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

    return manifest_of


@dataclass
class Judged:
    """What :func:`judge_and_report` wrote."""

    claims: list[ClaimResult]
    cells: list[CellResult]
    interrupted: bool = False  # Ctrl-C while judging: some claims are not judged
    robustness: dict[str, Any] | None = None


def judge_and_report(
    run_dir: Path,
    loaded: LoadedSpec,
    manifest: dict,
    *,
    robustness: bool = False,
    stop: StopRequest | None = None,
) -> Judged:
    """Judge every claim on the stored cells; write ``claims.json``, ``report.html`` and
    ``junit.xml``. Ctrl-C while judging stops it: the claims judged so far are written with the
    others marked not judged (INCONCLUSIVE, ``observed["not_judged"]``), and ``interrupted`` is
    set. ``robustness``: also judge with the cells of ``RUN_DIR/robustness/`` in their place
    (:func:`judge_robustness`). ``stop``: the caller's Ctrl-C record (else one is made here)."""
    with contextlib.ExitStack() as stack:
        if stop is None:
            stop = stack.enter_context(ctrl_c_caught(raising=False))
        cells = store.load_cells(run_dir, manifest)
        claims = judge_until_stopped(loaded.spec, cells, stop)
        section = None
        if robustness and not stop.requested:
            section = judge_robustness(run_dir, loaded, manifest, cells, claims, stop)
        interrupted = stop.requested
        if interrupted and manifest.get("status") != "interrupted":
            manifest["status"], manifest["interrupted_while"] = "interrupted", "judging"
            store.write_json(run_dir / "manifest.json", manifest)
        store.write_claims(run_dir, claims, section)
        write_report(run_dir, loaded, manifest, claims, cells, section)
    return Judged(claims, cells, interrupted, section)


def judge_until_stopped(spec: Any, cells: list[CellResult], stop: StopRequest) -> list[ClaimResult]:
    """:func:`runner.kinds.claims.judge`, a claim at a time, until Ctrl-C (``stop``): the claims
    not judged then are INCONCLUSIVE with ``observed["not_judged"] = True``."""
    from runner.kinds.claims import judge

    judged: dict[str, ClaimResult] = {}
    stop.raising = True
    try:
        for claim in spec.claims:
            if stop.requested:
                break
            (judged[claim.id],) = judge(spec.model_copy(update={"claims": [claim]}), cells)
    except KeyboardInterrupt:
        stop.requested = True
    finally:
        stop.raising = False
    return [judged.get(claim.id) or _not_judged(claim, spec) for claim in spec.claims]


def _not_judged(claim: Any, spec: Any) -> ClaimResult:
    from runner.kinds.metrics import metric_key

    try:
        expected = claim.expected_sentence(
            spec.observables, {metric_key(m): m for m in spec.metrics}
        )
    except Exception:  # noqa: BLE001 - the sentence is a courtesy here
        expected = claim.statement or claim.id
    return ClaimResult(
        id=claim.id,
        kind=str(claim.kind),
        verdict="INCONCLUSIVE",
        expected=claim.expected,
        expected_sentence=expected,
        observed_sentence="Not judged: the run was interrupted (Ctrl-C) before this claim.",
        statement=claim.statement,
        observed={"not_judged": True},
        reason="not judged: interrupted (Ctrl-C); judge it with runner judge RUN_DIR or --resume",
    )


def write_report(
    run_dir: Path,
    loaded: LoadedSpec,
    manifest: dict,
    claims,
    cells,
    robustness: dict[str, Any] | None = None,
) -> None:
    from runner.report import render_junit, render_report
    from runner.report.index import since_previous, write_index

    view = RunView.of(
        loaded,
        manifest=manifest,
        env=store.read_json(run_dir / "env.json") if (run_dir / "env.json").exists() else {},
        cells=cells,
        claims=claims,
        robustness=robustness,
    )
    since = since_previous(run_dir, claims)  # the verdict changes against the previous run
    store.atomic_write_text(run_dir / "report.html", render_report(view, since))
    store.atomic_write_text(run_dir / "junit.xml", render_junit(view))
    write_index(run_dir.parent)  # <out>/index.html lists this run (runner.report.index)


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
            entry.update(store.manifest_timings(summary))
            changed = True
    if manifest.get("status") == "submitted" and all(
        c.get("status") != "missing" for c in manifest.get("cells", [])
    ):
        manifest["status"] = "finished"
        changed = True
    if changed:
        store.write_json(run_dir / "manifest.json", manifest)
    return manifest


def rejudge(
    run_dir: Path, spec_path: Path | None = None, *, robustness: bool = False
) -> tuple[Judged, list[str]]:
    """Judge a stored run again (``spec_path``: with that spec's claims); a run whose judging
    was interrupted is ``finished`` once every claim is judged. ``robustness``: with the
    robustness section (the run must have its cells, :func:`has_robustness_cells`). The
    ``claims.json`` replaced is kept as ``claims.previous.json`` (:mod:`runner.diff`)."""
    from runner.diff import keep_previous_claims

    loaded = load_run_spec(run_dir, spec_path)
    manifest = refresh_manifest(run_dir)
    changed = changed_cells(run_dir, loaded)
    if spec_path is not None:
        # spec.yaml stays the spec the cells were trained with; the claims now come from this one
        store.atomic_write_text(run_dir / "spec.judged.yaml", loaded.text)
        manifest["judged_with"] = str(spec_path)
        store.write_json(run_dir / "manifest.json", manifest)
    keep_previous_claims(run_dir)  # claims.previous.json: what `runner judge` compares with
    if manifest.get("interrupted_while") == "judging":  # this judging completes it (else
        manifest["status"] = "finished"  # judge_and_report marks it interrupted again)
        del manifest["interrupted_while"]
        store.write_json(run_dir / "manifest.json", manifest)
    return judge_and_report(run_dir, loaded, manifest, robustness=robustness), changed


def rerender(run_dir: Path) -> None:
    view = load_view(run_dir)
    write_report(
        run_dir, load_run_spec(run_dir), view.manifest, view.claims, view.cells, view.robustness
    )


def load_view(run_dir: Path, loaded: LoadedSpec | None = None) -> RunView:
    """The :class:`RunView` of a stored run, as ``runner report`` renders it (``loaded``: its
    spec, when already loaded, e.g. with another spec file's claims)."""
    manifest = store.read_json(run_dir / "manifest.json")
    env_path = run_dir / "env.json"
    return RunView.of(
        loaded or load_run_spec(run_dir),
        manifest=manifest,
        env=store.read_json(env_path) if env_path.exists() else {},
        cells=store.load_cells(run_dir, manifest),
        claims=store.read_claims(run_dir),
        robustness=store.read_robustness(run_dir),
    )


def _rerun(
    run_dir: Path,
    cells: list[Cell],
    *,
    label: str,
    engine: str,
    jobs: int,
    engine_options: dict[str, Any] | None,
    progress_stream: Any,
    perturbation: dict[str, Any] | None = None,
    stop: StopRequest | None = None,
) -> dict[str, dict]:
    """Run ``cells`` again into ``RUN_DIR/<label>/cells/`` with the run's engine (the same
    thread settings as the originals), reusing what an earlier check of this run stored there.
    Ctrl-C raises :class:`Interrupted` (also when only remembered in ``stop``)."""
    base = run_dir / label
    # determinism runs afresh every time; a robustness cell stored by an earlier check of this
    # run (same hash, same fixed perturbation) is reused
    reuse = {} if perturbation is None else reusable_summaries(base, cells)
    options = engine_options if engine in ("submitit", "ray") else None
    spec_name = store.read_json(run_dir / "manifest.json").get("spec_name", "")
    raising = None if stop is None else stop.raising
    if stop is not None:
        stop.raising = True  # while cells run, Ctrl-C stops them at once
    try:
        if stop is not None and stop.requested:
            raise Interrupted({})
        return execute(
            cells,
            base,
            engine=engine,
            jobs=jobs,
            reuse=reuse,
            progress=Progress(len(cells), jobs, progress_stream, label=label),
            engine_options=options,
            perturbation=perturbation,
            seconds=store.previous_seconds(run_dir.parent, spec_name),
            cache=compilation_cache(run_dir.parent),
        )
    finally:
        if stop is not None:
            stop.raising = bool(raising)


def robustness_cells(loaded: LoadedSpec, manifest: dict) -> list[Cell]:
    """The cells ``--check-robustness`` runs again: every cell of the run's smallest seed that
    has a result (finished or diverged)."""
    with_result = {
        c["cell_id"] for c in manifest["cells"] if c["status"] in ("finished", "diverged")
    }
    cells = [c for c in plan(loaded.spec, loaded.resolved) if c.cell_id in with_result]
    if not cells:
        return []
    seed = min(c.seed for c in cells)
    return [c for c in cells if c.seed == seed]


def run_robustness(
    run_dir: Path,
    loaded: LoadedSpec,
    manifest: dict,
    *,
    engine: str = "inline",
    jobs: int = 1,
    engine_options: dict[str, Any] | None = None,
    progress_stream: Any = None,
    stop: StopRequest | None = None,
) -> dict[str, dict]:
    """Run :func:`robustness_cells` again with their initial parameters perturbed at rounding
    level (:data:`ROBUSTNESS`) into ``RUN_DIR/robustness/cells/`` (same ids and hashes; the
    perturbation applied is in each ``cell.json``). Ctrl-C raises :class:`Interrupted`."""
    cells = robustness_cells(loaded, manifest)
    return _rerun(
        run_dir,
        cells,
        label="robustness",
        engine=engine,
        jobs=jobs,
        engine_options=engine_options,
        progress_stream=progress_stream,
        perturbation=ROBUSTNESS,
        stop=stop,
    )


def has_robustness_cells(run_dir: Path) -> bool:
    cells = run_dir / "robustness" / "cells"
    return cells.is_dir() and any((d / "summary.json").exists() for d in cells.iterdir())


def judge_robustness(
    run_dir: Path,
    loaded: LoadedSpec,
    manifest: dict,
    cells: list[CellResult],
    claims: list[ClaimResult],
    stop: StopRequest,
) -> dict[str, Any] | None:
    """Judge the claims again with the cells of ``RUN_DIR/robustness/cells/`` (those whose hash
    is the run's) in place of the originals; the ``robustness`` section of ``claims.json``: per
    claim the verdict and margin with and without the perturbation, and ``flips`` (the claims
    whose verdict changes). None when Ctrl-C stopped it or there are no such cells."""
    hashes = {c["cell_id"]: c["hash"] for c in manifest.get("cells", [])}
    base = run_dir / "robustness" / "cells"
    perturbed: dict[str, CellResult] = {}
    perturbation = None
    for directory in sorted(base.iterdir()) if base.is_dir() else []:
        summary = store.read_summary(directory)
        if summary is None or hashes.get(directory.name) != summary.get("hash"):
            continue
        perturbed[directory.name] = store.load_cell(directory)
        perturbation = perturbation or store.read_json(directory / "cell.json").get("perturbation")
    if not perturbed:
        return None
    replaced = [perturbed.get(cell.cell_id, cell) for cell in cells]
    again = judge_until_stopped(loaded.spec, replaced, stop)
    if stop.requested:
        return None
    entries = []
    for before, after in zip(claims, again, strict=True):
        entries.append(
            {
                "id": before.id,
                "verdict": before.verdict,
                "margin": before.margin,
                "value": (before.observed or {}).get("value"),
                "perturbed_verdict": after.verdict,
                "perturbed_margin": after.margin,
                "perturbed_value": (after.observed or {}).get("value"),
                "flipped": before.verdict != after.verdict,
            }
        )
    return {
        "seed": min(cell.seed for cell in perturbed.values()),
        "perturbation": perturbation,
        "cells": sorted(perturbed),
        "claims": entries,
        "flips": [entry["id"] for entry in entries if entry["flipped"]],
    }


def check_determinism(
    run_dir: Path,
    loaded: LoadedSpec,
    *,
    engine: str = "inline",
    jobs: int = 1,
    engine_options: dict[str, Any] | None = None,
    progress_stream: Any = None,
) -> dict[str, list[str]]:
    """Re-run the first finished cell of each optimizer with the run's engine (so with the same
    thread settings) into ``RUN_DIR/determinism/cells/`` and compare every stored array bit for
    bit; ``{cell_id: [names that differ]}`` (empty lists: identical)."""
    import numpy as np

    manifest = store.read_json(run_dir / "manifest.json")
    finished = {c["cell_id"] for c in manifest["cells"] if c["status"] == "finished"}
    chosen: dict[str, Cell] = {}
    for cell in plan(loaded.spec, loaded.resolved):
        if cell.cell_id in finished and cell.optimizer not in chosen:
            chosen[cell.optimizer] = cell
    _rerun(
        run_dir,
        list(chosen.values()),
        label="determinism",
        engine=engine,
        jobs=jobs,
        engine_options=engine_options,
        progress_stream=progress_stream,
    )
    result: dict[str, list[str]] = {}
    for cell in chosen.values():
        stored_path = run_dir / "cells" / cell.cell_id / "metrics.npz"
        fresh_path = run_dir / "determinism" / "cells" / cell.cell_id / "metrics.npz"
        if not fresh_path.exists():
            result[cell.cell_id] = ["(the re-run failed: determinism/cells/.../error.txt)"]
            continue
        with np.load(stored_path) as stored, np.load(fresh_path) as fresh:
            names = sorted(set(stored.files) | set(fresh.files))
            result[cell.cell_id] = [
                name
                for name in names
                if name not in stored.files
                or name not in fresh.files
                or not np.array_equal(stored[name], fresh[name], equal_nan=True)
            ]
    return result
