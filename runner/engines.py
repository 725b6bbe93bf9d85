"""Engines: run the planned cells and write each one's directory.

* ``inline``: one cell after the other in this process (compiled programs are shared across
  cells of one shape). The default for a single cell or ``--jobs 1``.
* ``local``: a process pool with the *spawn* start method (JAX is not fork-safe), ``--jobs N``
  workers (default: one per core this process may use, :func:`available_cores`), each with one
  BLAS and one XLA thread (:func:`runner.threads.apply_worker_thread_defaults`); each worker
  keeps its compiled programs across the cells it runs. The default engine. Cells are handed
  out longest first (:func:`longest_first`) so that the last core does not idle at the end.
* ``submitit``: one Slurm job array through submitit (``pip install 'pgdlab[slurm]'``), one job
  per cell; ``engine_options`` are submitit's parameters (``slurm_partition``, ``timeout_min``,
  ``gpus_per_node``, ``mem_gb``, ...) and ``cluster`` (``slurm``, or ``local`` to run the jobs
  as subprocesses of this machine, which is how the tests run it). Job logs go to
  ``RUN_DIR/submitit/``.
* ``ray``: one Ray task per cell (``pip install 'pgdlab[ray]'``); options ``address`` (an
  existing cluster; default: start a local one), ``num_cpus`` (of the local one),
  ``cpus_per_cell`` (default 1) and ``gpus_per_cell`` (default 0).

Cells travel to workers as JSON (their resolved parameters), never as pickled closures; a worker
writes only inside its own cell directory; the parent alone writes the manifest, claims and report.
Cells with the same content hash (e.g. GD repeated under a sweep of LM's damping) run once; the
others get a copy of its files.

Failures: a cell that raises is recorded with its traceback (``error.txt``, status ``error``) and
the others go on. Ctrl-C stops the run: finished cells stay on disk, the rest are not written,
and :class:`Interrupted` carries what finished.

A cell's JSON may carry a ``perturbation`` (``--check-robustness``): :func:`run_one` passes it
to :func:`runner.cell.run_cell` and records what was applied in the cell's ``cell.json``; the
cell's hash is unchanged.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import multiprocessing
import os
import shutil
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, TextIO

from runner.plan import Cell
from runner.store import (
    SNAPSHOTS,
    cell_dir,
    read_json,
    read_paused,
    read_summary,
    remove_paused,
    write_cell,
    write_json,
    write_paused,
)

ENGINES = ("inline", "local", "submitit", "ray")
RAY_OPTIONS = ("address", "num_cpus", "cpus_per_cell", "gpus_per_cell")


class Detached(Exception):
    """The cells were submitted and the caller should not wait (``--detach``): ``job_ids`` by
    cell id, also written to ``RUN_DIR/submitit/jobs.json``."""

    def __init__(self, summaries: dict[str, dict], job_ids: dict[str, str]):
        super().__init__("detached")
        self.summaries = summaries
        self.job_ids = job_ids


class EngineUnavailable(Exception):
    """An engine whose package is not installed, or options it does not accept (exit 4)."""


class Interrupted(Exception):
    def __init__(self, summaries: dict[str, dict]):
        super().__init__("interrupted")
        self.summaries = summaries


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform has one, else
    ``os.cpu_count()``): the default number of ``local`` workers."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):  # no affinity on this platform
        return max(os.cpu_count() or 1, 1)


def resolve_engine(engine: str | None, jobs: int | None) -> tuple[str, int]:
    """The engine and worker count of a run. No engine asked for: ``local`` with ``jobs``
    workers (default: :func:`available_cores`), or ``inline`` for ``--jobs 1`` and on one core;
    ``local`` alone: one worker per core; ``inline``: one. (:func:`execute` also runs a single
    cell inline.)"""
    if engine is None:
        workers = jobs or available_cores()
        return ("inline", 1) if workers <= 1 else ("local", workers)
    if engine == "local":
        return engine, jobs or available_cores()
    if engine == "inline":
        return engine, 1
    return engine, jobs or 1


#: a step of these optimizer kinds, in first-order steps (gd, adam, adamw: 1). LM, GN and GGN
#: solve in the residual space every step: 57 ms against 0.55 ms for AdamW on the MNIST MLP,
#: 39x Adam for GGN on the transformer (README, "Performance"); the estimate only orders cells.
STEP_COST = {"lm": 50.0, "gn": 50.0, "ggn": 50.0}
#: a step of these model kinds, in steps of an MLP (the transformer of the default profile:
#: 20 ms an Adam step against ~1 ms for the MLPs).
MODEL_COST = {"transformer": 20.0}
EVAL_COST = 5.0  # one evaluation of the metrics, in steps


def estimated_cost(cell: Cell) -> float:
    """A cell's cost in first-order MLP steps, to order cells (never shown as a time): steps
    weighted by the optimizer kind (:data:`STEP_COST`; a ``switch`` counts each side's steps),
    plus the evaluations, times the model kind's weight (:data:`MODEL_COST`)."""
    train, optimizer = cell.params["train"], cell.params["optimizer"]
    steps = int(train["steps"])
    if cell.continues:  # the first phase is its donor's (when the donor ran first)
        steps -= int(optimizer["at"])
        weighted = steps * _step_cost(optimizer["second"])
    elif optimizer.get("kind") == "switch":
        first = min(int(optimizer["at"]), steps)
        weighted = first * _step_cost(optimizer["first"]) + (steps - first) * _step_cost(
            optimizer["second"]
        )
    else:
        weighted = steps * _step_cost(optimizer)
    evaluations = steps / int(train["eval_every"]) + 1
    model = MODEL_COST.get(cell.params["model"].get("kind"), 1.0)
    return (weighted + EVAL_COST * evaluations) * model


def _step_cost(optimizer: dict[str, Any]) -> float:
    if optimizer.get("kind") == "switch":  # a switch inside a switch: its dearer side
        return max(_step_cost(optimizer["first"]), _step_cost(optimizer["second"]))
    return STEP_COST.get(optimizer.get("kind"), 1.0)


def longest_first(
    cells: list[Cell], seconds: dict[str, float] | None = None, workers: int = 1
) -> list[Cell]:
    """``cells`` in the order a pool should take them, longest first, so that no worker starts
    a long cell when the others are done: by ``seconds`` (a previous run's wall time, by cell
    hash) where known, else by :func:`estimated_cost` in seconds (scaled by the median ratio of
    the cells that have both); a cell that others continue counts with theirs, since they wait
    for it. Stable: equal costs keep the plan order. The first ``workers``
    cells are of different programs where the run has several (:func:`_program`), so that the
    workers compile different programs first and then load the others' from the shared
    compilation cache instead of all compiling the same one at once."""
    seconds = {digest: s for digest, s in (seconds or {}).items() if s and s > 0}
    ratios = sorted(seconds[c.hash] / estimated_cost(c) for c in cells if c.hash in seconds)
    scale = ratios[len(ratios) // 2] if ratios else 1.0
    own = {c.cell_id: seconds.get(c.hash, estimated_cost(c) * scale) for c in cells}
    chain = dict(own)  # a donor counts with the cells that continue it: they wait for it
    for cell in cells:
        if cell.continues in chain:
            chain[cell.continues] += own[cell.cell_id]
    ordered = sorted(cells, key=lambda c: chain[c.cell_id], reverse=True)
    first: list[Cell] = []
    programs: set[str] = set()
    for cell in ordered:
        if len(first) < workers and _program(cell) not in programs:
            first.append(cell)
            programs.add(_program(cell))
    return first + [cell for cell in ordered if cell not in first]


def _program(cell: Cell) -> str:
    """What decides a cell's compiled programs, roughly: everything but the seed and the
    optimizer's numbers (its traced scalars: learning rate, damping, ...)."""

    def shape(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: shape(v) for k, v in value.items() if k != "name"}
        return value if isinstance(value, (str, bool)) else None

    params = {k: v for k, v in cell.params.items() if k not in ("seed", "optimizer")}
    return json.dumps([params, shape(cell.params["optimizer"])], sort_keys=True, default=str)


def _cell_from_json(data: dict[str, Any]) -> Cell:
    return Cell(
        data["index"],
        data["optimizer"],
        data["seed"],
        data["point"],
        data["params"],
        data["hash"],
        continues=data.get("continues"),
        snapshots=tuple(data.get("snapshots", ())),
    )


def _cell_json(cell: Cell, perturbation: dict[str, Any] | None) -> dict[str, Any]:
    data = cell.to_json()
    if perturbation is not None:
        data["perturbation"] = dict(perturbation)
    return data


def run_one(
    cell_json: dict[str, Any],
    directory: str,
    on_chunk: Callable[[int], None] | None = None,
    stopping: Callable[[], bool] | None = None,
    deadline: float | None = None,
) -> dict:
    """Train one cell and write its directory; never raises for a failing cell (except Ctrl-C).

    The entry point of every cell on submitit and ray workers, so it applies the BLAS thread
    default first (a no-op after the first call in a process, e.g. the inline engine's), before
    :mod:`runner.cell` loads jax and scipy's OpenBLAS. ``cell_json["perturbation"]`` (optional)
    goes to :func:`runner.cell.run_cell`. ``stopping()`` says whether Ctrl-C was pressed: an
    exception raised while it was is the interrupt in another type (raised inside a callback of
    compiled code), not the cell's failure, and is raised as KeyboardInterrupt.

    ``deadline`` (``time.time()`` seconds, ``--time-limit``): past it the cell stops after its
    current chunk and is kept as ``paused`` (:func:`runner.store.write_paused`); a paused cell
    found in ``directory`` continues where it stopped."""
    from runner.threads import apply_thread_defaults

    apply_thread_defaults()
    from runner.cell import Paused, run_cell

    cell = _cell_from_json(cell_json)
    perturbation = cell_json.get("perturbation")
    path = Path(directory)
    donor_dir = path.parent / cell.continues if cell.continues else None  # a sibling folder
    try:
        outcome = run_cell(
            cell.params,
            on_chunk=on_chunk,
            perturbation=perturbation,
            snapshots=cell.snapshots,
            donor_dir=donor_dir,
            deadline=deadline,
            paused=None if perturbation is not None else read_paused(path, cell.hash),
        )
    except KeyboardInterrupt:
        raise
    except Paused as paused:
        return write_paused(path, cell, paused.phases, paused.wall_seconds, paused.steps_done)
    except Exception:  # the cell's failure is data: recorded, judged as an error
        if stopping is not None and stopping():
            raise KeyboardInterrupt from None
        return write_cell(path, cell, None, traceback.format_exc(), perturbation=perturbation)
    summary = write_cell(path, cell, outcome, None, perturbation=outcome.perturbation)
    remove_paused(path)
    return summary


def _worker_init(parent: int | None = None, cache: str | None = None) -> None:
    # One BLAS thread and one XLA thread per worker (runner/threads.py): a pool has one worker
    # per core. The variables are set before this worker's first cell loads jax and OpenBLAS;
    # threadpoolctl caps an OpenBLAS already loaded.
    from runner.threads import apply_worker_thread_defaults

    apply_worker_thread_defaults()
    # Workers ignore Ctrl-C; the parent decides (it terminates them when interrupted).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if parent is not None:
        _die_with(parent)
    if cache is not None:
        use_compilation_cache(cache)


def compilation_cache(out_root: Path) -> Path | None:
    """``OUT/.jax-cache/jax-<jaxlib version>-<cpu>``: the compiled programs the ``local`` workers
    share (:func:`use_compilation_cache`), kept inside the output folder like everything a run
    writes, so later runs into the same folder reuse them; one folder per jaxlib version and CPU
    model (an executable compiled for one CPU's instruction set must not load on another sharing
    the folder). None where it cannot be made: no cache then."""
    import hashlib
    import platform
    from importlib.metadata import version

    try:
        cpu = Path("/proc/cpuinfo").read_text(errors="replace").splitlines()
        flags = sorted({line for line in cpu if line.startswith(("flags", "model name"))})
    except OSError:
        flags = [platform.processor()]
    key = hashlib.sha256("\n".join([platform.machine(), *flags]).encode()).hexdigest()[:10]
    folder = Path(out_root) / ".jax-cache" / f"jax-{version('jaxlib')}-{key}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return folder


#: the cache's limit; a limit also makes jax lock the folder while it reads or writes an entry,
#: so that workers never read a half-written one (without it jax writes unlocked).
CACHE_BYTES = 2**30


def use_compilation_cache(directory: str | Path) -> None:
    """JAX's persistent compilation cache in ``directory``, for every program however quick to
    compile: each worker of a pool compiles the programs of its own cells (compilation is most
    of a short cell: the first GD cell of regression_1d 10 s, then 0.5 s), so without it two
    workers compile every shape twice; with it one loads what the other (or an earlier run)
    compiled. Called in a worker before its first cell (the cache is set up on first use)."""
    import jax

    jax.config.update("jax_compilation_cache_dir", str(directory))
    jax.config.update("jax_compilation_cache_max_size", CACHE_BYTES)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def _die_with(parent: int) -> None:
    """Linux: the kernel kills this worker when the process that started it dies (a run killed
    with SIGKILL), rather than the worker finishing its cell into a run directory that a
    resumed run may be writing. Elsewhere nothing happens."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


class Progress:
    """Cells done / total, the current cell's step and an ETA: one rewritten line on a terminal,
    plain lines otherwise. ``label`` prefixes every line (``robustness``, ``determinism``)."""

    def __init__(self, total: int, jobs: int, stream: TextIO | None = None, label: str = ""):
        self.total, self.jobs = total, max(jobs, 1)
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.done = 0
        self.started = time.perf_counter()
        self.current = ""
        self.prefix = f"{label}: " if label else ""

    def _eta(self) -> str:
        if self.done == 0:
            return "?"
        elapsed = time.perf_counter() - self.started
        remaining = elapsed / self.done * (self.total - self.done)
        return f"{remaining:.0f}s"

    def _line(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r\033[K" + self.prefix + text)
        else:
            self.stream.write(self.prefix + text + "\n")
        self.stream.flush()

    def start(self, cell: Cell) -> None:
        self.current = cell.cell_id
        if self.tty:
            self._line(f"[{self.done}/{self.total}] {self.current} starting  ETA {self._eta()}")

    def step(self, cell: Cell, steps_done: int) -> None:
        if self.tty:
            total = cell.params["train"]["steps"]
            self._line(
                f"[{self.done}/{self.total}] {cell.cell_id} step {steps_done}/{total}  "
                f"ETA {self._eta()}"
            )

    def finish(self, cell: Cell, summary: dict, reused: bool = False) -> None:
        self.done += 1
        how = (
            "reused"
            if reused
            else f"{summary['status']} in {summary.get('wall_seconds') or 0:.1f}s"
        )
        line = f"[{self.done}/{self.total}] {cell.cell_id} {how}"
        if self.tty:
            self.stream.write("\r\033[K" + self.prefix + line + "\n")
            self.stream.flush()
        else:
            self._line(line)

    def close(self) -> None:
        if self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()


def _copy_cell(source: Path, target: Path, cell: Cell) -> dict:
    """Results of an identical cell (same hash) under another cell id."""
    target.mkdir(parents=True, exist_ok=True)
    for name in ("metrics.npz", "error.txt", SNAPSHOTS):
        if (source / name).exists():
            shutil.copyfile(source / name, target / name)
    data = cell.to_json()
    perturbation = read_json(source / "cell.json").get("perturbation")
    if perturbation is not None:
        data["perturbation"] = perturbation
    write_json(target / "cell.json", data)
    summary = read_json(source / "summary.json")
    summary["cell_id"] = cell.cell_id
    summary["same_as"] = source.name
    write_json(target / "summary.json", summary)
    return summary


def execute(
    cells: list[Cell],
    run_dir: Path,
    *,
    engine: str = "inline",
    jobs: int = 1,
    reuse: dict[str, dict] | None = None,
    progress: Progress | None = None,
    engine_options: dict[str, Any] | None = None,
    detach: bool = False,
    perturbation: dict[str, Any] | None = None,
    seconds: dict[str, float] | None = None,
    cache: Path | None = None,
    deadline: float | None = None,
) -> dict[str, dict]:
    """Run every cell not in ``reuse`` (cell id -> stored summary); return all summaries.

    ``deadline`` (``time.time()`` seconds; engines inline and local): no cell starts after it,
    and a cell running when it passes stops after its current chunk, kept as ``paused``
    (:func:`run_one`). Cells that did not start have no summary.

    ``perturbation`` goes to every cell (:func:`runner.cell.run_cell`); ``seconds`` (a previous
    run's wall time by cell hash) orders the pool's cells (:func:`longest_first`); ``cache``: the
    folder of the ``local`` workers' shared compilation cache (:func:`compilation_cache`). The
    ``local`` engine runs a single cell, or any cells with ``jobs=1``, inline."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")
    if deadline is not None and engine not in ("inline", "local"):
        raise ValueError(f"a time limit needs engine inline or local, not {engine!r}")
    reuse = reuse or {}
    progress = progress or Progress(len(cells), jobs)
    summaries: dict[str, dict] = {}
    first_by_hash: dict[str, Cell] = {}
    todo: list[Cell] = []
    duplicates: list[tuple[Cell, Cell]] = []
    for cell in cells:
        if cell.cell_id in reuse:
            summaries[cell.cell_id] = reuse[cell.cell_id]
            progress.finish(cell, reuse[cell.cell_id], reused=True)
        elif cell.hash in first_by_hash:
            duplicates.append((cell, first_by_hash[cell.hash]))
        else:
            first_by_hash[cell.hash] = cell
            todo.append(cell)
    todo = _linked_to_runners(todo, duplicates)
    try:
        if engine == "submitit":
            _run_submitit(
                todo,
                run_dir,
                summaries,
                progress,
                dict(engine_options or {}),
                detach,
                perturbation,
            )
        elif engine == "ray":
            _run_ray(
                longest_first(todo, seconds, jobs),
                run_dir,
                summaries,
                progress,
                dict(engine_options or {}),
                perturbation,
            )
        elif engine == "inline" or jobs <= 1 or len(todo) <= 1:
            _run_inline(todo, run_dir, summaries, progress, perturbation, deadline)
        else:
            ordered = longest_first(todo, seconds, jobs)
            _run_local(ordered, run_dir, summaries, progress, jobs, perturbation, cache, deadline)
    except KeyboardInterrupt:
        progress.close()
        raise Interrupted(summaries) from None
    for cell, source in duplicates:
        source_dir = cell_dir(run_dir, source)
        if source.cell_id in summaries and (source_dir / "summary.json").exists():
            summaries[cell.cell_id] = _copy_cell(source_dir, cell_dir(run_dir, cell), cell)
            progress.finish(cell, summaries[cell.cell_id], reused=True)
    progress.close()
    return summaries


class StopRequest:
    """Whether Ctrl-C was pressed (``requested``), and whether the handler raises
    KeyboardInterrupt at once (``raising``) or only remembers it for the caller to act on."""

    def __init__(self, raising: bool = True):
        self.requested = False
        self.raising = raising


@contextlib.contextmanager
def ctrl_c_caught(*, raising: bool = True) -> Iterator[StopRequest]:
    """Ctrl-C sets ``stop.requested`` and, while ``stop.raising``, raises KeyboardInterrupt.

    Remembering it matters where Python cannot deliver the exception: a KeyboardInterrupt
    raised inside a finaliser is printed ("Exception ignored") and dropped, one raised inside a
    callback of compiled code may come back as another exception; the flag still stops the run
    at the next chunk or cell. With ``raising=False`` (or after setting it) the handler only
    remembers, so that what is being written (the report of an interrupted run) is written
    whole. Outside the main thread, or where SIGINT is ignored in this process, nothing is
    installed (``runner`` itself never runs with SIGINT ignored: :func:`runner.cli.main`)."""
    stop = StopRequest(raising)
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:  # the caller chose to ignore Ctrl-C
        yield stop
        return

    def handler(signum: int, frame: Any) -> None:
        stop.requested = True
        if stop.raising:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _linked_to_runners(todo: list[Cell], duplicates: list[tuple[Cell, Cell]]) -> list[Cell]:
    """``todo`` with each continuing cell pointed at the folder that will hold its donor's
    results (the donor's, or that of the cell with the same hash that runs in its place), and
    each such cell keeping every step its duplicates' continuers start from."""
    runner_of = {cell.cell_id: source.cell_id for cell, source in duplicates}
    extra: dict[str, set[int]] = {}
    for cell, source in duplicates:
        if cell.snapshots:
            extra.setdefault(source.cell_id, set()).update(cell.snapshots)
    linked = []
    for cell in todo:
        if cell.continues in runner_of:
            cell = dataclasses.replace(cell, continues=runner_of[cell.continues])
        if cell.cell_id in extra:
            steps = tuple(sorted(set(cell.snapshots) | extra[cell.cell_id]))
            cell = dataclasses.replace(cell, snapshots=steps)
        linked.append(cell)
    return linked


def _donors_first(cells: list[Cell]) -> list[Cell]:
    """``cells`` with every continuing cell after the cells it may continue (stable)."""
    return sorted(cells, key=lambda cell: cell.continues is not None)


def _run_inline(
    todo: list[Cell],
    run_dir: Path,
    summaries: dict,
    progress: Progress,
    perturbation: dict[str, Any] | None = None,
    deadline: float | None = None,
) -> None:
    with ctrl_c_caught() as stop:
        for number, cell in enumerate(_donors_first(todo)):
            if number and _past(deadline):
                break
            _run_inline_cell(cell, run_dir, summaries, progress, stop, perturbation, deadline)


def _past(deadline: float | None) -> bool:
    """Whether the time limit has passed. The first cell of a call starts even then (and trains
    at least one chunk), so that every call makes progress however short its limit."""
    return deadline is not None and time.time() >= deadline


def _run_inline_cell(
    cell: Cell,
    run_dir: Path,
    summaries: dict,
    progress: Progress,
    stop: StopRequest,
    perturbation: dict[str, Any] | None,
    deadline: float | None = None,
) -> None:
    if stop.requested:
        raise KeyboardInterrupt
    progress.start(cell)

    def report_step(done: int, current: Cell = cell) -> None:
        if stop.requested:
            raise KeyboardInterrupt
        progress.step(current, done)

    summary = run_one(
        _cell_json(cell, perturbation),
        str(cell_dir(run_dir, cell)),
        on_chunk=report_step,
        stopping=lambda: stop.requested,
        deadline=deadline,
    )
    summaries[cell.cell_id] = summary
    progress.finish(cell, summary)
    if stop.requested:  # Ctrl-C was swallowed inside the cell, which finished: keep it, stop
        raise KeyboardInterrupt


def _run_local(
    todo: list[Cell],
    run_dir: Path,
    summaries: dict,
    progress: Progress,
    jobs: int,
    perturbation: dict[str, Any] | None = None,
    cache: Path | None = None,
    deadline: float | None = None,
) -> None:
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=min(jobs, len(todo)),
        mp_context=context,
        initializer=_worker_init,
        initargs=(os.getpid(), None if cache is None else str(cache)),
    )
    # a summary already there (a failed cell of the run being resumed) is not this run's
    before = {cell.cell_id: _stamp(cell_dir(run_dir, cell) / "summary.json") for cell in todo}
    futures: dict[Future, Cell] = {}
    waiting = list(todo)  # in the order given (longest first)
    unfinished = {cell.cell_id for cell in todo}
    workers = min(jobs, len(todo))

    def ready(cell: Cell) -> bool:  # a continuing cell waits for its donor
        return cell.continues not in unfinished

    def submit_ready(pending: set[Future]) -> None:
        while waiting and len(pending) < workers and not (futures and _past(deadline)):
            cell = next((c for c in waiting if ready(c)), None)
            if cell is None:
                if pending:
                    return
                cell = waiting[0]  # cannot happen (a donor never waits); never stall
            waiting.remove(cell)
            directory = str(cell_dir(run_dir, cell))
            future = pool.submit(
                run_one, _cell_json(cell, perturbation), directory, deadline=deadline
            )
            futures[future] = cell
            pending.add(future)

    try:
        pending: set[Future] = set()
        submit_ready(pending)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                cell = futures[future]
                unfinished.discard(cell.cell_id)
                try:
                    summary = future.result()
                except Exception:  # a worker that died (e.g. killed): record, go on
                    summary = write_cell(
                        cell_dir(run_dir, cell), cell, None, traceback.format_exc()
                    )
                summaries[cell.cell_id] = summary
                progress.finish(cell, summary)
            submit_ready(pending)
    except KeyboardInterrupt:
        # a second Ctrl-C must not leave workers running: they ignore SIGINT
        with ctrl_c_caught(raising=False):
            _stop_pool(pool)
            for cell in todo:  # cells a worker finished that were not collected yet
                directory = cell_dir(run_dir, cell)
                summary = read_summary(directory)
                fresh = _stamp(directory / "summary.json") != before[cell.cell_id]
                if cell.cell_id not in summaries and summary and fresh:
                    summaries[cell.cell_id] = summary
                    progress.finish(cell, summary)
                for stale in directory.glob(".*.tmp"):  # a write the termination cut short
                    stale.unlink(missing_ok=True)
        raise
    pool.shutdown(wait=True)


def _stamp(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel what has not started, terminate the workers (they ignore SIGINT) and wait until
    they are gone. The processes and the pool's manager thread are taken before ``shutdown``,
    which forgets them; the manager thread reaps the terminated workers (joining them from here
    too would race it: a worker it reaped reads as alive here)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    manager = getattr(pool, "_executor_manager_thread", None)
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    if manager is not None:
        manager.join(timeout=60)
    for process in processes:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
            process.join(timeout=10)


def check_options(engine: str, options: dict[str, Any]) -> None:
    """Raise :class:`EngineUnavailable` if ``engine`` is missing its package or refuses one of
    ``options`` (checked before a run directory exists)."""
    if engine == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise EngineUnavailable(
                "engine 'ray' needs the ray package: pip install 'pgdlab[ray]'"
            ) from None
        unknown = sorted(set(options) - set(RAY_OPTIONS))
        if unknown:
            raise EngineUnavailable(
                f"engine 'ray': unknown option(s) {unknown}; known: {', '.join(RAY_OPTIONS)}"
            )
        return
    if engine != "submitit":
        return
    import tempfile

    try:
        import submitit
    except ImportError:
        raise EngineUnavailable(
            "engine 'submitit' needs the submitit package: pip install 'pgdlab[slurm]'"
        ) from None
    options = dict(options)
    with tempfile.TemporaryDirectory() as folder:
        executor = submitit.AutoExecutor(folder=folder, cluster=options.pop("cluster", None))
        try:
            executor.update_parameters(**options)
        except (NameError, ValueError, TypeError) as error:
            raise EngineUnavailable(f"engine 'submitit': {error}") from None


def _run_submitit(
    todo: list[Cell],
    run_dir: Path,
    summaries: dict,
    progress: Progress,
    options: dict[str, Any],
    detach: bool = False,
    perturbation: dict[str, Any] | None = None,
) -> None:
    """One job array; each job runs :func:`run_one` on a cell's JSON and writes its directory."""
    try:
        import submitit
    except ImportError:
        raise EngineUnavailable(
            "engine 'submitit' needs the submitit package: pip install 'pgdlab[slurm]'"
        ) from None
    if not todo:
        return
    cluster = options.pop("cluster", None)
    executor = submitit.AutoExecutor(folder=run_dir / "submitit" / "%j", cluster=cluster)
    try:
        executor.update_parameters(**options)
    except (NameError, ValueError, TypeError) as error:  # submitit names the ones it knows
        raise EngineUnavailable(f"engine 'submitit': {error}") from None
    jobs = executor.map_array(
        run_one,
        [_cell_json(cell, perturbation) for cell in todo],
        [str(cell_dir(run_dir, c)) for c in todo],
    )
    cells = {job.job_id: cell for job, cell in zip(jobs, todo, strict=True)}
    if detach:
        job_ids = {cell.cell_id: job_id for job_id, cell in cells.items()}
        write_json(run_dir / "submitit" / "jobs.json", job_ids)
        progress.close()
        raise Detached(summaries, job_ids)
    try:
        for job in submitit.helpers.as_completed(jobs):
            cell = cells[job.job_id]
            try:
                summary = job.result()
            except Exception as error:  # the job died or raised: its error is the cell's
                summary = write_cell(cell_dir(run_dir, cell), cell, None, f"{error}")
            summaries[cell.cell_id] = summary
            progress.finish(cell, summary)
    except KeyboardInterrupt:
        for job in jobs:
            job.cancel(check=False)
        raise


def _run_ray(
    todo: list[Cell],
    run_dir: Path,
    summaries: dict,
    progress: Progress,
    options: dict[str, Any],
    perturbation: dict[str, Any] | None = None,
) -> None:
    """One Ray task per cell (cell JSON in, summary out); a local Ray is started and stopped here
    unless ``address`` names a running cluster."""
    check_options("ray", options)
    import ray

    if not todo:
        return
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(
            address=options.get("address"),
            num_cpus=options.get("num_cpus"),
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    task = ray.remote(
        num_cpus=options.get("cpus_per_cell", 1), num_gpus=options.get("gpus_per_cell", 0)
    )(run_one)
    refs = {
        task.remote(_cell_json(cell, perturbation), str(cell_dir(run_dir, cell))): cell
        for cell in todo
    }
    pending = list(refs)
    try:
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                cell = refs[ref]
                try:
                    summary = ray.get(ref)
                except Exception as error:  # the worker died or the task raised
                    summary = write_cell(cell_dir(run_dir, cell), cell, None, f"{error}")
                summaries[cell.cell_id] = summary
                progress.finish(cell, summary)
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
    finally:
        if started_here:
            ray.shutdown()
