"""Engines: run the planned cells and write each one's directory.

* ``inline``: one cell after the other in this process (debugging; compiled programs are shared
  across cells of one shape).
* ``local``: a process pool with the *spawn* start method (JAX is not fork-safe), ``--jobs N``
  workers; each worker keeps its compiled programs across the cells it runs.
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
"""

from __future__ import annotations

import contextlib
import multiprocessing
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
from runner.store import cell_dir, read_json, write_cell, write_json

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


def _cell_from_json(data: dict[str, Any]) -> Cell:
    return Cell(
        data["index"], data["optimizer"], data["seed"], data["point"], data["params"], data["hash"]
    )


def run_one(
    cell_json: dict[str, Any], directory: str, on_chunk: Callable[[int], None] | None = None
) -> dict:
    """Train one cell and write its directory; never raises for a failing cell (except Ctrl-C).

    The entry point of every cell on submitit and ray workers, so it applies the BLAS thread
    default first (a no-op after the first call in a process, e.g. the inline engine's), before
    :mod:`runner.cell` loads jax and scipy's OpenBLAS."""
    from runner.threads import apply_thread_defaults

    apply_thread_defaults()
    from runner.cell import run_cell

    cell = _cell_from_json(cell_json)
    path = Path(directory)
    try:
        outcome = run_cell(cell.params, on_chunk=on_chunk)
    except KeyboardInterrupt:
        raise
    except Exception:  # the cell's failure is data: recorded, judged as an error
        return write_cell(path, cell, None, traceback.format_exc())
    return write_cell(path, cell, outcome, None)


def _worker_init() -> None:
    # The BLAS thread default, as in the parent (runner/threads.py): the variable main() set is
    # inherited; without it, the variable is set for BLAS libraries not loaded yet and
    # threadpoolctl caps the ones already loaded.
    from runner.threads import apply_thread_defaults

    apply_thread_defaults()
    # Workers ignore Ctrl-C; the parent decides (it terminates them when interrupted).
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Progress:
    """Cells done / total, the current cell's step and an ETA: one rewritten line on a terminal,
    plain lines otherwise."""

    def __init__(self, total: int, jobs: int, stream: TextIO | None = None):
        self.total, self.jobs = total, max(jobs, 1)
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.done = 0
        self.started = time.perf_counter()
        self.current = ""

    def _eta(self) -> str:
        if self.done == 0:
            return "?"
        elapsed = time.perf_counter() - self.started
        remaining = elapsed / self.done * (self.total - self.done)
        return f"{remaining:.0f}s"

    def _line(self, text: str) -> None:
        if self.tty:
            self.stream.write("\r\033[K" + text)
        else:
            self.stream.write(text + "\n")
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
            self.stream.write("\r\033[K" + line + "\n")
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
    for name in ("metrics.npz", "error.txt"):
        if (source / name).exists():
            shutil.copyfile(source / name, target / name)
    write_json(target / "cell.json", cell.to_json())
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
) -> dict[str, dict]:
    """Run every cell not in ``reuse`` (cell id -> stored summary); return all summaries."""
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {ENGINES}")
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
    try:
        if engine == "submitit":
            _run_submitit(todo, run_dir, summaries, progress, dict(engine_options or {}), detach)
        elif engine == "ray":
            _run_ray(todo, run_dir, summaries, progress, dict(engine_options or {}))
        elif engine == "inline" or jobs <= 1:
            _run_inline(todo, run_dir, summaries, progress)
        else:
            _run_local(todo, run_dir, summaries, progress, jobs)
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


class _StopRequest:
    requested = False


@contextlib.contextmanager
def _ctrl_c_remembered() -> Iterator[_StopRequest]:
    """Ctrl-C raises KeyboardInterrupt as usual and is also remembered, so that an interrupt
    swallowed inside compiled code (XLA) still stops the run at the next chunk or cell."""
    stop = _StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is signal.SIG_IGN:  # the caller chose to ignore Ctrl-C
        yield stop
        return

    def handler(signum: int, frame: Any) -> None:
        stop.requested = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGINT, previous)


def _run_inline(todo: list[Cell], run_dir: Path, summaries: dict, progress: Progress) -> None:
    with _ctrl_c_remembered() as stop:
        for cell in todo:
            _run_inline_cell(cell, run_dir, summaries, progress, stop)


def _run_inline_cell(
    cell: Cell, run_dir: Path, summaries: dict, progress: Progress, stop: _StopRequest
) -> None:
    if stop.requested:
        raise KeyboardInterrupt
    progress.start(cell)

    def report_step(done: int, current: Cell = cell) -> None:
        if stop.requested:
            raise KeyboardInterrupt
        progress.step(current, done)

    summary = run_one(cell.to_json(), str(cell_dir(run_dir, cell)), on_chunk=report_step)
    summaries[cell.cell_id] = summary
    progress.finish(cell, summary)
    if stop.requested:  # Ctrl-C was swallowed inside the cell, which finished: keep it, stop
        raise KeyboardInterrupt


def _run_local(
    todo: list[Cell], run_dir: Path, summaries: dict, progress: Progress, jobs: int
) -> None:
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_worker_init)
    futures: dict[Future, Cell] = {}
    try:
        for cell in todo:
            futures[pool.submit(run_one, cell.to_json(), str(cell_dir(run_dir, cell)))] = cell
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                cell = futures[future]
                try:
                    summary = future.result()
                except Exception:  # a worker that died (e.g. killed): record, go on
                    summary = write_cell(
                        cell_dir(run_dir, cell), cell, None, traceback.format_exc()
                    )
                summaries[cell.cell_id] = summary
                progress.finish(cell, summary)
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        raise
    pool.shutdown(wait=True)


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
        run_one, [cell.to_json() for cell in todo], [str(cell_dir(run_dir, c)) for c in todo]
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
    todo: list[Cell], run_dir: Path, summaries: dict, progress: Progress, options: dict[str, Any]
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
    refs = {task.remote(cell.to_json(), str(cell_dir(run_dir, cell))): cell for cell in todo}
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
