"""The ``runner`` command line.

    runner validate SPEC...            every profile of each spec validates
    runner plan SPEC...                cells and hashes; nothing runs
    runner run SPEC... [--profile P] [--set a.b=v ...] [--engine inline|local|submitit|ray]
                    [--jobs N] [--engine-opt KEY=VALUE ...] [--detach]
                    [--check-determinism] [--check-robustness]
                    [--out DIR] [--resume RUN_DIR] [--time-limit S] [--only OPT,...] [--strict]
                    (default: engine local, one worker per core; inline with --jobs 1)
                    SPEC... is one or more spec files or folders (a folder: its *.yaml, *.yml files,
                    sorted); several specs run one after another, every spec checked first
    runner status RUN_DIR              cells finished, failed and still pending
    runner judge RUN_DIR [--spec PATH] [--check-robustness]
                                       re-judge stored results (after editing a claim);
                                       prints the verdicts that changed, keeps the replaced
                                       claims.json as claims.previous.json
    runner report RUN_DIR [--figures DIR [--format pdf|png|svg]]
                                       re-render report.html and junit.xml; --figures: also
                                       write every figure, sized for a paper
    runner ls [--out DIR]              past runs with their verdict counts (and where the
                                       index of runs is: DIR/index.html)
    runner diff RUN_A RUN_B [--json] [--claims-only]
                                       two runs compared: each claim's verdict and margin,
                                       each cell's metrics, the specs, commit and machine
    runner export RUN_DIR --csv [PATH] [--metric NAME ...]
                                       the metrics as a tidy table (cell, optimizer, sweep
                                       values, seed, step, metric, group, value); no PATH:
                                       stdout
    runner schema                      JSON Schema of a spec, for editors
    runner claims [KIND] [--markdown]  claim kinds (or one), their parameters and sentences
                                       (--markdown: the reference docs/claims.md)
    runner kinds [--markdown]          task, model, loss, optimizer, metric and observable
                                       kinds with their fields (docs/kinds.md)
    runner results [--collect RUN_DIR ...] [--check]
                                       every claim's verdict per profile: docs/results.md,
                                       built from the run summaries in results/
    runner new NAME [--from SPEC | --template T] [--dir DIR] [--schema]
                                       write a commented starter spec that validates

Exit codes (as pytest's): 0 every claim holds (a negative control that fails holds; INCONCLUSIVE
does not fail the run unless ``--strict``), 1 a claim failed, 2 interrupted, 3 a cell or a claim
errored (internal error), 4 bad spec or usage, 5 nothing selected. ``--debug`` shows tracebacks.
``runner diff`` answers whether verdicts changed, to gate a CI job: 0 no verdict changed (margins
may have moved), 1 a verdict changed (a claim added or removed counts), 4 an argument is not a
run directory.
``runner run`` with several specs exits with the worst of theirs: 3 > 2 > 1 > 5 > 0 (4 only
before anything runs: every spec is read and checked first; Ctrl-C stops the remaining specs).
``runner report --figures`` exits 3 when a figure cannot be drawn (the others are written).
A spec with ``verdicts: informational`` (every shipped smoke profile) exits 0 whatever its
verdicts, unless a cell or a claim errored (3) or it was interrupted (2).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

# Nothing above (nor runner/__init__.py, nor core/__init__.py) imports numpy or jax, so main() can
# still set the OpenBLAS thread default through the environment before BLAS loads.
from runner.threads import applied, apply_thread_defaults

EXIT_OK = 0
EXIT_CLAIM_FAILED = 1
EXIT_INTERRUPTED = 2
EXIT_INTERNAL_ERROR = 3
EXIT_USAGE = 4
EXIT_NOTHING_SELECTED = 5


class UsageError(Exception):
    """A user mistake outside the spec file (bad run directory, unknown engine...): exit 4."""


def _version_text() -> str:
    import platform

    import jax

    from core import __version__

    threads = ", ".join(f"{name}={value}" for name, value in applied.items()) or "none set"
    return (
        f"pgdlab {__version__} (jax {jax.__version__}, python {platform.python_version()}; "
        f"threads: {threads})"
    )


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on usage errors; pgdlab documents 4."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


SPECS_HELP = "spec files or folders (a folder: its *.yaml and *.yml files, sorted)"
PROFILE_HELP = (
    "a profile the spec defines (e.g. smoke, default, paper); default: the default profile, "
    "or the base spec where none is defined"
)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="runner",
        description="Run experiment specs for preconditioned gradient descent; judge claims.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    validate = commands.add_parser("validate", help="validate specs (every profile)")
    validate.add_argument("specs", nargs="+", type=Path, help=SPECS_HELP)

    def spec_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("specs", nargs="+", type=Path, metavar="SPEC", help=SPECS_HELP)
        sub.add_argument("--profile", default="default", help=PROFILE_HELP)
        sub.add_argument(
            "--set",
            dest="overrides",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="override a spec value (dotted path; value parsed as YAML)",
        )

    plan = commands.add_parser("plan", help="list cells and hashes without running")
    spec_options(plan)

    run = commands.add_parser("run", help="train every cell, judge the claims, write the report")
    spec_options(run)
    run.add_argument(
        "--engine",
        choices=["inline", "local", "submitit", "ray"],
        default=None,
        help="where cells run (default: local, one worker per core; inline for --jobs 1 or a "
        "single cell)",
    )
    run.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="worker processes of engine local (default: one per core)",
    )
    run.add_argument(
        "--engine-opt",
        dest="engine_options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an engine parameter, e.g. for submitit cluster=local, slurm_partition=gpu, "
        "timeout_min=60, gpus_per_node=1, mem_gb=16; for ray address=auto, num_cpus=2, "
        "cpus_per_cell=1, gpus_per_cell=0",
    )
    run.add_argument(
        "--detach",
        action="store_true",
        help="submit and return (engine submitit); then runner status / runner judge RUN_DIR",
    )
    run.add_argument("--out", type=Path, default=Path("reports"), help="runs go here")
    run.add_argument(
        "--resume", type=Path, metavar="RUN_DIR", help="reuse finished cells (one spec only)"
    )
    run.add_argument(
        "--time-limit",
        type=float,
        metavar="SECONDS",
        help="stop training after this many seconds (engines inline and local): finished "
        "cells are kept, running cells pause after their current chunk; exit 2, not judged; "
        "--resume RUN_DIR continues (a machine lent for a few minutes at a time)",
    )
    run.add_argument("--only", help="comma-separated optimizer names to run (one spec only)")
    run.add_argument("--strict", action="store_true", help="INCONCLUSIVE claims fail the run")
    run.add_argument(
        "--check-determinism",
        action="store_true",
        help="then re-run one cell per optimizer here and compare every array bit for bit "
        "(exit 3 if any differs)",
    )
    run.add_argument(
        "--check-robustness",
        action="store_true",
        help="then re-run the cells of the smallest seed with the initial parameters perturbed "
        "at rounding level, judge again and list the claims whose verdict flips (the exit code "
        "stays the run's)",
    )

    status = commands.add_parser("status", help="a run's cells: finished, failed, pending")
    status.add_argument("run_dir", type=Path)

    judge = commands.add_parser("judge", help="re-judge a stored run")
    judge.add_argument("run_dir", type=Path)
    judge.add_argument("--spec", type=Path, help="judge with this spec file's claims")
    judge.add_argument("--strict", action="store_true")
    judge.add_argument(
        "--check-robustness",
        action="store_true",
        help="judge the run's robustness cells again (a run made with --check-robustness)",
    )

    report = commands.add_parser("report", help="re-render a stored run's report")
    report.add_argument("run_dir", type=Path)
    report.add_argument(
        "--figures",
        type=Path,
        metavar="DIR",
        help="also write every overview and claim figure into DIR, sized for a paper "
        "(one file per figure: overview-N-<title>, claim-<id>, claim-<id>-2)",
    )
    report.add_argument(
        "--format",
        dest="figure_format",
        metavar="FORMAT",
        help="figure file format with --figures: pdf (default), png (300 dpi) or svg",
    )

    ls = commands.add_parser("ls", help="past runs and their verdict counts")
    ls.add_argument("--out", type=Path, default=Path("reports"))

    diff = commands.add_parser(
        "diff", help="compare two runs: verdicts, metrics, specs (exit 1: a verdict changed)"
    )
    diff.add_argument("run_a", type=Path, metavar="RUN_A")
    diff.add_argument("run_b", type=Path, metavar="RUN_B")
    diff.add_argument("--json", action="store_true", help="print the differences as JSON")
    diff.add_argument(
        "--claims-only", action="store_true", help="only the claims (the cells are not read)"
    )

    export = commands.add_parser("export", help="a run's metrics as a tidy CSV table")
    export.add_argument("run_dir", type=Path)
    export.add_argument(
        "--csv",
        nargs="?",
        const="-",
        required=True,
        metavar="PATH",
        help="write CSV to PATH (no PATH: to stdout)",
    )
    export.add_argument(
        "--metric",
        dest="metrics",
        action="append",
        default=[],
        metavar="NAME",
        help="only this metric (repeatable; default: every evaluation metric; per-step records "
        "as loss, train/<record>)",
    )

    data = commands.add_parser("data", help="which data files a spec's task reads (MNIST source)")
    data.add_argument("specs", nargs="+", type=Path, help=SPECS_HELP)
    data.add_argument("--profile", default="default", help=PROFILE_HELP)

    commands.add_parser("schema", help="print the spec JSON Schema")
    claims = commands.add_parser("claims", help="describe the claim kinds")
    claims.add_argument("kind", nargs="?", help="describe only this claim kind")
    claims.add_argument(
        "--markdown",
        action="store_true",
        help="print the claim reference (runner claims --markdown > docs/claims.md)",
    )

    kinds = commands.add_parser(
        "kinds", help="describe the task, model, loss, optimizer, metric and observable kinds"
    )
    kinds.add_argument(
        "--markdown",
        action="store_true",
        help="print the kinds reference (runner kinds --markdown > docs/kinds.md)",
    )
    results = commands.add_parser(
        "results", help="every claim's verdict across profiles (docs/results.md from results/)"
    )
    results.add_argument(
        "--collect", nargs="+", type=Path, metavar="RUN_DIR", help="add these runs' summaries first"
    )
    results.add_argument("--results", type=Path, default=Path("results"), help="the summaries")
    results.add_argument("--page", type=Path, default=Path("docs/results.md"), help="page to write")
    results.add_argument(
        "--reports",
        type=Path,
        default=Path("reports"),
        help="a reports folder: its results.html twin of the page is written when it holds an "
        "index.html",
    )
    results.add_argument(
        "--check", action="store_true", help="exit 1 when the page is out of date; write nothing"
    )

    new = commands.add_parser("new", help="write a commented starter spec")
    new.add_argument("name", help="the spec's name (file DIR/NAME.yaml), or a path ending in .yaml")
    start = new.add_mutually_exclusive_group()
    start.add_argument("--from", dest="source", type=Path, metavar="SPEC", help="copy this spec")
    start.add_argument(
        "--template", help="starter template: regression (default), linear or grokking"
    )
    new.add_argument("--dir", type=Path, default=Path("specs"), help="folder for NAME.yaml")
    new.add_argument(
        "--schema", action="store_true", help="write spec.schema.json next to the new spec"
    )
    return parser


# --- commands ----------------------------------------------------------------------------------


def _claim_mark(claim) -> str:
    """``holds``, ``DOES NOT HOLD`` (a claim that fails the run), ``inconclusive`` or
    ``errored``; a fragile verdict adds ``(fragile: margin 0.004 inside noise 0.012)``."""
    if claim.verdict == "INCONCLUSIVE":
        mark = "inconclusive (not judged; fails the run only with --strict)"
    elif claim.verdict == "ERROR":
        mark = "errored"
    else:
        mark = "holds" if claim.holds else "DOES NOT HOLD"
    if getattr(claim, "fragile", False):
        mark += f" (fragile: {claim.fragile_reason})"
    return mark


def _print_claims(claims, stream=None) -> None:
    stream = stream or sys.stdout
    for claim in claims:
        control = " (negative control)" if claim.expected == "fail" else ""
        print(f"  {claim.verdict:12} {claim.id}{control}: {_claim_mark(claim)}", file=stream)
        print(f"               {claim.observed_sentence}", file=stream)


def summary_line(claims, seconds: float) -> str:
    """The last console line, in pytest's manner: ``3 failed, 7 passed, 1 inconclusive, 1
    fragile in 41 s`` (a negative control that holds counts as passed; counts of 0 left out)."""
    counts = [
        (sum(c.verdict in ("PASS", "FAIL") and not c.holds for c in claims), "failed"),
        (sum(c.holds for c in claims), "passed"),
        (sum(c.verdict == "INCONCLUSIVE" for c in claims), "inconclusive"),
        (sum(c.verdict == "ERROR" for c in claims), "error"),
        (sum(bool(getattr(c, "fragile", False)) for c in claims), "fragile"),
    ]
    parts = [f"{n} {word}" + ("s" if word == "error" and n != 1 else "") for n, word in counts if n]
    took = f"{seconds:.1f}" if seconds < 10 else f"{seconds:.0f}"
    return f"{', '.join(parts) or 'no claims'} in {took} s"


def exit_code(
    claims,
    cell_statuses: dict[str, str],
    *,
    interrupted: bool,
    strict: bool,
    informational: bool = False,
) -> int:
    """The documented exit code; ``informational`` (``verdicts: informational``, a smoke run):
    verdicts never fail the run, errors and interrupts still do."""
    if interrupted:
        return EXIT_INTERRUPTED
    if any(status == "error" for status in cell_statuses.values()):
        return EXIT_INTERNAL_ERROR
    if any(c.verdict == "ERROR" for c in claims):
        return EXIT_INTERNAL_ERROR
    if informational:
        return EXIT_OK
    if any(c.verdict in ("PASS", "FAIL") and not c.holds for c in claims):
        return EXIT_CLAIM_FAILED
    if strict and any(c.verdict == "INCONCLUSIVE" for c in claims):
        return EXIT_CLAIM_FAILED
    return EXIT_OK


def _informational(spec) -> bool:
    return getattr(spec, "verdicts", "evidence") == "informational"


def _print_not_evidence(spec) -> None:
    if _informational(spec):
        print(
            "smoke: not evidence (verdicts: informational): these verdicts test the plumbing, "
            "not the claims; only an error fails this run"
        )


def _margin(value) -> str:
    from runner.text import number

    try:
        return number(float(value))
    except (TypeError, ValueError):
        return "n/a"


def _print_robustness(section) -> None:
    """``--check-robustness``: what was re-run, and each claim whose verdict flips."""
    if section is None:
        return
    eps = (section.get("perturbation") or {}).get("eps") or {}
    at = ", ".join(f"{dtype} eps {value:.3g}" for dtype, value in eps.items())
    flips = [entry for entry in section["claims"] if entry["flipped"]]
    total = len(section["claims"])
    print(
        f"robustness: {len(section['cells'])} cell(s) of seed {section['seed']} re-run with "
        f"their initial parameters perturbed at rounding level ({at}): "
        + (f"{len(flips)} of {total} verdicts flip" if flips else f"none of {total} verdicts flip")
    )
    for entry in flips:
        print(
            f"  FLIP         {entry['id']}: {entry['verdict']} (margin {_margin(entry['margin'])})"
            f" -> {entry['perturbed_verdict']} (margin {_margin(entry['perturbed_margin'])})"
        )


def _print_interrupted(run_dir: Path, phase: str | None, claims) -> None:
    if phase == "judging":
        judged = sum(not (c.observed or {}).get("not_judged") for c in claims)
        print(
            f"interrupted while judging: {judged} of {len(claims)} claims judged (the others "
            f"are marked not judged in report.html and junit.xml); continue with --resume "
            f"{run_dir} (every cell is reused), or: runner judge {run_dir}",
            file=sys.stderr,
        )
    elif phase == "time limit":
        print(
            f"stopped at the time limit: finished cells are kept, paused cells continue where "
            f"they stopped; not judged yet. Continue with --resume {run_dir}",
            file=sys.stderr,
        )
    elif phase == "robustness":
        print(
            f"interrupted during the robustness check: the run's claims are judged; continue "
            f"with --resume {run_dir} --check-robustness",
            file=sys.stderr,
        )
    else:
        print(
            f"interrupted: finished cells are kept; continue with --resume {run_dir}",
            file=sys.stderr,
        )


@contextlib.contextmanager
def _ctrl_c_restored():
    """Ctrl-C (SIGINT) interrupts ``runner`` even when the process started with SIGINT ignored.
    A shell starts a script's background job (``runner run ... &``) that way, and so may a CI
    runner; Python then keeps it ignored, and the runner's own handler respects an ignored
    SIGINT (:func:`runner.engines.ctrl_c_caught`), so ``kill -INT`` did nothing and the run went
    on through every cell (issue 15). The ignored disposition comes back afterwards."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
    ):
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def cmd_validate(args) -> int:
    """Every profile of each spec validates, its sweep included (every point); problems exit 4,
    warnings (an observable nothing uses) are printed the same way and exit 0."""
    from runner.load import cell_count, check_profiles

    code = EXIT_OK
    for path in _spec_paths(args.specs):
        problems, warnings, base = check_profiles(path)
        for problem in [*problems, *warnings]:
            print(problem.format(), file=sys.stderr)
        if problems or base is None:
            code = EXIT_USAGE
            continue
        profiles = ", ".join(base.profiles) or "none"
        print(f"ok  {path}  ({cell_count(base)} cells; profiles: {profiles})")
    return code


def cmd_plan(args) -> int:
    """The cells of each spec (every spec read first: a bad one exits 4 before any is listed);
    5 when a spec has no cell."""
    from runner.load import load_spec
    from runner.many import worst_exit_code
    from runner.plan import plan

    paths = _spec_paths(args.specs)
    specs = [load_spec(path, profile=args.profile, overrides=args.overrides) for path in paths]
    codes = []
    for loaded in specs:
        cells = plan(loaded.spec, loaded.resolved)
        print(f"{loaded.spec.name}: {len(cells)} cells (profile {args.profile})")
        for cell in cells:
            point = " ".join(f"{k}={v}" for k, v in cell.point.items())
            continues = f"  continues {cell.continues}" if cell.continues else ""
            print(
                f"  {cell.cell_id:48} {cell.optimizer:12} seed={cell.seed} {point}  "
                f"{cell.hash[:16]}{continues}"
            )
        codes.append(EXIT_OK if cells else EXIT_NOTHING_SELECTED)
    return worst_exit_code(codes)


class _Prepared(NamedTuple):
    """One spec of ``runner run``, read and checked, ready to train."""

    path: Path
    loaded: Any  # runner.load.LoadedSpec
    only: list[str] | None
    sources: Any  # runner.data.data_sources(loaded)


def cmd_run(args) -> int:
    """One spec as always; several (files or folders) one after another, every spec read and
    checked before the first trains, then one summary line and the worst exit code
    (:mod:`runner.many`)."""
    started = time.monotonic()
    paths = _spec_paths(args.specs)
    if len(paths) > 1:
        for option, given in (("--resume", args.resume is not None), ("--only", args.only)):
            if given:
                raise UsageError(f"{option} is for one spec; {len(paths)} specs were given")
    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    if args.resume is not None and not (args.resume / "manifest.json").exists():
        raise UsageError(f"--resume {args.resume}: not a run directory (no manifest.json)")
    args.deadline = _deadline(args)
    prepared = []
    for path in paths:
        ready = _prepare_run(args, path)
        if ready is None:
            print("nothing selected: no cell matches --only", file=sys.stderr)
            return EXIT_NOTHING_SELECTED
        prepared.append(ready)
    engine_options = _engine_options(args)
    if args.detach and args.engine != "submitit":
        raise UsageError("--detach needs --engine submitit (the other engines run here)")
    if args.detach and (args.check_robustness or args.check_determinism):
        raise UsageError("--detach runs nothing here: judge later, then run the checks")
    from runner.engines import resolve_engine

    engine = resolve_engine(args.engine, args.jobs)
    if len(prepared) == 1:
        return _run_one(args, prepared[0], engine, engine_options, started)[0]
    from runner.many import SpecOutcome, batch_summary, worst_exit_code

    outcomes = []
    for number, ready in enumerate(prepared):
        if number:
            print()
        try:
            code, claims = _run_one(args, ready, engine, engine_options, time.monotonic())
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception:  # one spec's unexpected error: the others still run (exit 3)
            if args.debug:
                raise
            import traceback

            print(
                f"runner: internal error in {ready.path} (--debug for the traceback):",
                file=sys.stderr,
            )
            print(traceback.format_exc().strip().splitlines()[-1], file=sys.stderr)
            code, claims = EXIT_INTERNAL_ERROR, []
        outcomes.append(SpecOutcome(ready.path, code, claims))
        if code == EXIT_INTERRUPTED:  # Ctrl-C stops the batch, not just this spec
            break
    not_run = len(prepared) - len(outcomes)
    print(batch_summary(outcomes, time.monotonic() - started, not_run=not_run))
    return worst_exit_code(outcome.code for outcome in outcomes)


def _deadline(args) -> float | None:
    """``--time-limit`` as a ``time.time()`` deadline for the whole command (None: no limit)."""
    limit = getattr(args, "time_limit", None)
    if limit is None:
        return None
    if not limit > 0:
        raise UsageError(f"--time-limit must be a positive number of seconds, got {limit:g}")
    if args.engine not in (None, "inline", "local") or args.detach:
        raise UsageError("--time-limit needs engine inline or local (the cells run here)")
    if args.check_robustness or args.check_determinism:
        raise UsageError("--time-limit trains only: run the checks on the finished run")
    return time.time() + limit


def _prepare_run(args, path: Path) -> _Prepared | None:
    """``path`` read with the profile and overrides, ``--only`` checked, its data files found
    (a missing one: exit 4 before any run directory); None when ``--only`` selects no cell."""
    from runner.data import data_sources
    from runner.load import load_spec
    from runner.plan import plan
    from runner.run import select_cells

    loaded = load_spec(path, profile=args.profile, overrides=args.overrides)
    only = [name.strip() for name in args.only.split(",")] if args.only else None
    if only:
        unknown = [name for name in only if name not in loaded.spec.optimizers]
        if unknown:
            raise UsageError(
                f"--only: unknown optimizer(s) {unknown}; "
                f"the spec has {list(loaded.spec.optimizers)}"
            )
    if not select_cells(plan(loaded.spec, loaded.resolved), only):
        return None
    return _Prepared(path, loaded, only, data_sources(loaded))


def _run_one(
    args, ready: _Prepared, engine: tuple[str, int], engine_options: dict, started: float
) -> tuple[int, list]:
    """Trains and judges one prepared spec, printing what ``runner run SPEC`` prints; its exit
    code and claims."""
    from runner.run import run_spec

    loaded = ready.loaded
    engine_name, jobs = engine
    outcome = run_spec(
        loaded,
        out_root=args.out,
        engine=engine_name,
        engine_options=engine_options,
        jobs=jobs,
        resume=args.resume,
        detach=args.detach,
        only=ready.only,
        data_sources=ready.sources,
        check_robustness=args.check_robustness,
        deadline=getattr(args, "deadline", None),
    )
    statuses = outcome.cell_statuses
    if outcome.submitted:
        print(
            f"{loaded.spec.name} [{args.profile}]: submitted {outcome.submitted} job(s) to "
            f"{args.engine}; follow with: runner status {outcome.run_dir}; "
            f"when done: runner judge {outcome.run_dir}"
        )
        return EXIT_OK, []
    counts = {s: list(statuses.values()).count(s) for s in sorted(set(statuses.values()))}
    print(
        f"{loaded.spec.name} [{args.profile}]: cells {counts}"
        + (f", {outcome.reused} reused" if outcome.reused else "")
    )
    _print_claims(outcome.claims)
    _print_not_evidence(loaded.spec)
    _print_robustness(outcome.robustness)
    if outcome.interrupted_while != "time limit":  # a paused run has no report yet
        print(f"report: {outcome.run_dir / 'report.html'}")
    if (outcome.run_dir.parent / "index.html").exists():
        print(f"all runs: {outcome.run_dir.parent / 'index.html'}")
    if outcome.interrupted:
        _print_interrupted(outcome.run_dir, outcome.interrupted_while, outcome.claims)
    code = exit_code(
        outcome.claims,
        statuses,
        interrupted=outcome.interrupted,
        strict=args.strict,
        informational=_informational(loaded.spec),
    )
    if args.check_determinism and not outcome.interrupted:
        from runner.engines import Interrupted
        from runner.run import check_determinism

        try:
            differences = check_determinism(
                outcome.run_dir,
                loaded,
                engine=engine_name,
                jobs=jobs,
                engine_options=engine_options,
            )
        except Interrupted:
            print("interrupted: the determinism check did not finish", file=sys.stderr)
            return EXIT_INTERRUPTED, outcome.claims
        differing = {cell: names for cell, names in differences.items() if names}
        if differing:
            for cell, names in differing.items():
                print(f"determinism: {cell} differs in {', '.join(names)}", file=sys.stderr)
            print(summary_line(outcome.claims, time.monotonic() - started))
            return EXIT_INTERNAL_ERROR, outcome.claims
        print(f"determinism: {len(differences)} cell(s) re-run, every array identical")
    print(summary_line(outcome.claims, time.monotonic() - started))
    return code, outcome.claims


def _engine_options(args) -> dict:
    """``--engine-opt k=v`` as typed values (YAML scalars), checked by the engine before any
    run directory exists."""
    import yaml

    from runner.engines import EngineUnavailable, check_options

    options: dict = {}
    for text in args.engine_options:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--engine-opt {text!r}: expected KEY=VALUE")
        try:
            options[key.strip()] = yaml.safe_load(value) if value.strip() else None
        except yaml.YAMLError:
            options[key.strip()] = value
    if options and args.engine not in ("submitit", "ray"):
        raise UsageError(f"--engine-opt is for --engine submitit or ray, not {args.engine!r}")
    try:
        check_options(args.engine, options)
    except EngineUnavailable as problem:
        raise UsageError(str(problem).splitlines()[0]) from None
    return options


def cmd_status(args) -> int:
    """Cells by status, read from their directories (``pending``: not ended yet)."""
    from runner.run import refresh_manifest

    _require_run_dir(args.run_dir)
    manifest = refresh_manifest(args.run_dir)
    cells = manifest.get("cells", [])
    statuses = [("pending" if c["status"] == "missing" else c["status"]) for c in cells]
    counts = ", ".join(f"{statuses.count(s)} {s}" for s in sorted(set(statuses))) or "no cells"
    print(f"{manifest.get('run_id', args.run_dir.name)}: {manifest.get('status')}; {counts}")
    for cell, status in zip(cells, statuses, strict=True):
        if status != "finished":
            print(f"  {status:9} {cell['cell_id']}")
    return EXIT_OK


def cmd_data(args) -> int:
    from runner.data import describe
    from runner.load import load_spec

    for path in _spec_paths(args.specs):
        print(describe(load_spec(path, profile=args.profile)))
    return EXIT_OK


def _require_run_dir(path: Path) -> None:
    if not (path / "manifest.json").exists():
        raise UsageError(f"{path}: not a run directory (no manifest.json)")


def _spec_paths(arguments: Sequence[Path]) -> list[Path]:
    """The spec files named on the command line, a folder standing for its ``*.yaml``."""
    from runner.many import SpecPathError, spec_paths

    try:
        return spec_paths(arguments)
    except SpecPathError as problem:
        raise UsageError(str(problem)) from None


def cmd_judge(args) -> int:
    from runner import store
    from runner.run import load_run_spec, rejudge

    started = time.monotonic()
    _require_run_dir(args.run_dir)
    if args.check_robustness:
        from runner.run import has_robustness_cells

        if not has_robustness_cells(args.run_dir):
            raise UsageError(
                f"{args.run_dir}: no robustness cells; make them with: runner run SPEC "
                f"--resume {args.run_dir} --check-robustness"
            )
    judged, changed = rejudge(args.run_dir, args.spec, robustness=args.check_robustness)
    claims = judged.claims
    if changed:
        print(
            f"warning: {len(changed)} cell(s) would be different under this spec "
            f"(e.g. {changed[0]}); judged with the stored results",
            file=sys.stderr,
        )
    _print_claims(claims)
    loaded_spec = load_run_spec(args.run_dir, args.spec).spec
    _print_not_evidence(loaded_spec)
    _print_robustness(judged.robustness)
    from runner.diff import judged_again_lines, read_previous_claims

    for line in judged_again_lines(read_previous_claims(args.run_dir), claims):
        print(line)
    manifest = store.read_json(args.run_dir / "manifest.json")
    statuses = {c["cell_id"]: c["status"] for c in manifest["cells"]}
    if judged.interrupted:
        _print_interrupted(args.run_dir, "judging", claims)
    print(summary_line(claims, time.monotonic() - started))
    return exit_code(
        claims,
        statuses,
        interrupted=manifest.get("status") == "interrupted",
        strict=args.strict,
        informational=_informational(loaded_spec),
    )


def cmd_report(args) -> int:
    """Re-renders the report; ``--figures DIR``: then writes every figure of it as a file
    (:mod:`runner.report.export`), a path a line; a figure that cannot be drawn exits 3."""
    from runner.run import rerender

    _require_run_dir(args.run_dir)
    figure_format = _figure_format(args)
    rerender(args.run_dir)
    print(f"report: {args.run_dir / 'report.html'}")
    if args.figures is None:
        return EXIT_OK
    from runner.report.export import FigureExportError, export_figures
    from runner.run import load_view

    try:
        written = export_figures(load_view(args.run_dir), args.figures, figure_format)
    except FigureExportError as problem:
        for path in problem.written:
            print(f"figure: {path}")
        for name, error in problem.failures.items():
            print(f"figure {name}: could not be drawn: {error}", file=sys.stderr)
        return EXIT_INTERNAL_ERROR
    for path in written:
        print(f"figure: {path}")
    print(f"{len(written)} figure(s) written to {args.figures} ({figure_format})")
    return EXIT_OK


def _figure_format(args) -> str | None:
    """``--format`` checked against ``--figures`` (None: no figures asked for)."""
    if args.figures is None:
        if args.figure_format is not None:
            raise UsageError("--format is the format of --figures DIR; give --figures too")
        return None
    from runner.report.export import FORMATS

    chosen = (args.figure_format or "pdf").lower()
    if chosen not in FORMATS:
        raise UsageError(
            f"--format {args.figure_format!r}: not a figure format (choose from: "
            f"{', '.join(FORMATS)})"
        )
    if args.figures.exists() and not args.figures.is_dir():
        raise UsageError(f"--figures {args.figures}: a file, not a folder")
    return chosen


def cmd_ls(args) -> int:
    from runner import store

    if not args.out.is_dir():
        print(f"no runs under {args.out}")
        return EXIT_OK
    runs = store.run_dirs(args.out)
    for run_dir in runs:
        manifest = store.read_json(run_dir / "manifest.json")
        claims = store.read_claims(run_dir)
        verdicts = {
            v: sum(c.verdict == v for c in claims)
            for v in ("PASS", "FAIL", "INCONCLUSIVE", "ERROR")
        }
        holding = sum(c.holds for c in claims)
        counts = " ".join(f"{k}={v}" for k, v in verdicts.items() if v)
        print(
            f"{run_dir.name:60} {manifest.get('profile') or '-':8} {manifest.get('status'):11} "
            f"holds {holding}/{len(claims)}  {counts}"
        )
    if not runs:
        print(f"no runs under {args.out}")
    elif (args.out / "index.html").exists():
        print(f"index: {args.out / 'index.html'}")
    return EXIT_OK


def cmd_diff(args) -> int:
    """Two runs compared (:mod:`runner.diff`): exit 1 when a verdict changed, else 0."""
    from runner.diff import diff_runs

    _require_run_dir(args.run_a)
    _require_run_dir(args.run_b)
    diff = diff_runs(args.run_a, args.run_b, cells=not args.claims_only)
    if args.json:
        print(json.dumps(diff.to_json(claims_only=args.claims_only), indent=2))
    else:
        sys.stdout.write(diff.text(claims_only=args.claims_only))
    return EXIT_CLAIM_FAILED if diff.verdicts_changed else EXIT_OK


def cmd_export(args) -> int:
    """The tidy metrics table of :mod:`runner.tidy` (the one behind ``runner.api.Run.metrics``)
    as CSV; a run without any result exits 5."""
    from runner.tidy import TableError, export_csv, run_table

    _require_run_dir(args.run_dir)
    if args.csv != "-" and Path(args.csv).is_dir():
        raise UsageError(f"--csv {args.csv}: a directory; give a file name")
    try:
        table = run_table(args.run_dir, args.metrics or None)
    except TableError as problem:
        raise UsageError(f"{args.run_dir}: {problem}") from None
    if not table.rows:
        print(f"nothing to export: no cell of {args.run_dir} has results", file=sys.stderr)
        return EXIT_NOTHING_SELECTED
    export_csv(table, args.csv)
    if args.csv != "-":
        print(f"wrote {len(table.rows)} rows to {args.csv}")
    return EXIT_OK


def cmd_schema(args) -> int:
    from runner.spec import Spec

    print(json.dumps(Spec.model_json_schema(), indent=2))
    return EXIT_OK


def cmd_claims(args) -> int:
    from runner.kinds.claims import describe_kinds

    if args.markdown and args.kind is not None:
        raise UsageError("--markdown prints every claim kind; leave out the kind")
    if args.markdown:
        from runner.kinds.claims.reference import claims_markdown

        sys.stdout.write(claims_markdown())
        return EXIT_OK
    kinds = describe_kinds()
    if args.kind is not None:
        _print_claim_kind(_claim_kind(kinds, args.kind))
        return EXIT_OK
    for kind in kinds:
        print(f"{kind['kind']}")
        for param in kind.get("parameters", []):
            default = "" if param.get("required") else f" = {param.get('default')!r}"
            print(f"    {param['name']}: {param['type']}{default}")
        print(f"  expects: {kind.get('sentence', '')}")
        example = kind.get("example")
        if example:
            print("  example:")
            for line in str(example).rstrip().splitlines():
                print(f"    {line}")
        print()
    return EXIT_OK


def _claim_kind(kinds: list[dict], name: str) -> dict:
    """The description of claim kind ``name``; an unknown one is a usage error naming them."""
    import difflib

    for kind in kinds:
        if kind["kind"] == name:
            return kind
    names = [kind["kind"] for kind in kinds]
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise UsageError(f"unknown claim kind {name!r}{hint} (claim kinds: {', '.join(names)})")


def _print_claim_kind(kind: dict) -> None:
    """One claim kind in full: what it checks, its own parameters with their meanings, then the
    ones every claim takes, its margin, an example and the sentence the example expects."""
    from runner.kinds.claims import ClaimBase

    print(f"{kind['kind']}: {kind['summary']}")
    common = set(ClaimBase.model_fields)
    own = [p for p in kind["parameters"] if p["name"] not in common]
    shared = [p for p in kind["parameters"] if p["name"] in common]
    for title, params in (("parameters", own), ("parameters of every claim", shared)):
        if not params:
            continue
        print(f"\n{title}:")
        for param in params:
            default = "required" if param.get("required") else f"default {param.get('default')!r}"
            print(f"  {param['name']}: {param['type']} ({default})")
            if param.get("description"):
                print(f"      {param['description']}")
    if kind.get("margin"):
        print(f"\nmargin: {kind['margin']}")
    print("\nexample:")
    for line in str(kind["example"]).rstrip().splitlines():
        print(f"  {line}")
    print(f"expects: {kind['sentence']}")


def cmd_kinds(args) -> int:
    from runner.kinds.base import kind_name
    from runner.kinds.reference import FAMILIES, kinds_markdown, parameters, summary

    if args.markdown:
        sys.stdout.write(kinds_markdown())
        return EXIT_OK
    for title, where, kinds in FAMILIES:
        print(f"{title} ({where})")
        for kind in kinds:
            print(f"  {kind_name(kind)}: {summary(kind)}")
            for param in parameters(kind):
                default = "" if param["required"] else f" = {param['default']!r}"
                print(f"      {param['name']}: {param['type']}{default}  {param['description']}")
        print()
    return EXIT_OK


def cmd_new(args) -> int:
    from runner.new import NewSpecError, new_spec

    try:
        made = new_spec(
            args.name,
            source=args.source,
            template=args.template,
            directory=args.dir,
            write_schema=args.schema,
        )
    except NewSpecError as problem:
        raise UsageError(str(problem)) from None
    cells = ", ".join(f"{profile} {n}" for profile, n in made.cells.items())
    print(f"wrote {made.path} (from {made.source}); it validates (cells: {cells})")
    written = "written now" if made.schema_written else "existing"
    schema = made.schema
    if schema.is_absolute() and schema.is_relative_to(Path.cwd()):
        schema = schema.relative_to(Path.cwd())
    print(f"editor schema: {schema} ({written}; modeline on line 1)")
    if made.warning:
        print(f"warning: {made.warning}", file=sys.stderr)
    print(f"next: runner run {made.path} --profile smoke   (guide: docs/writing-specs.md)")
    return EXIT_OK


def cmd_results(args) -> int:
    from runner import scales

    for run_dir in args.collect or []:
        try:
            print(f"collected: {scales.collect(run_dir, args.results)}")
        except scales.NotARunError as problem:
            raise UsageError(str(problem)) from None
    try:
        page = scales.render_markdown(
            args.results, source=f"{args.results.as_posix().rstrip('/')}/"
        )
    except scales.AnswersError as problem:
        raise UsageError(str(problem)) from None
    current = args.page.read_text() if args.page.is_file() else None
    if args.check:
        if current == page:
            print(f"{args.page}: in step with {args.results}")
            return EXIT_OK
        print(f"{args.page}: out of date; rebuild with: runner results", file=sys.stderr)
        return EXIT_CLAIM_FAILED
    if current != page:
        args.page.parent.mkdir(parents=True, exist_ok=True)
        args.page.write_text(page)
    print(f"results: {args.page} ({len(scales.collected(args.results))} run(s) collected)")
    twin = scales.write_html_twin(page, args.reports)
    if twin is not None:
        from runner.report.index import write_index

        write_index(args.reports)  # its link to the twin
        print(f"results: {twin}")
    return EXIT_OK


COMMANDS = {
    "validate": cmd_validate,
    "plan": cmd_plan,
    "run": cmd_run,
    "judge": cmd_judge,
    "status": cmd_status,
    "report": cmd_report,
    "ls": cmd_ls,
    "diff": cmd_diff,
    "export": cmd_export,
    "data": cmd_data,
    "schema": cmd_schema,
    "claims": cmd_claims,
    "kinds": cmd_kinds,
    "new": cmd_new,
    "results": cmd_results,
}


def main(argv: Sequence[str] | None = None) -> int:
    apply_thread_defaults()  # first: before anything below imports numpy / jax (runner/threads.py)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:
        return int(stop.code) if isinstance(stop.code, int) else EXIT_USAGE
    if args.version:
        print(_version_text())
        return EXIT_OK
    if not args.command:
        parser.print_help()
        return EXIT_OK
    from runner.load import SpecError
    from runner.plan import SweepError

    try:
        with _ctrl_c_restored():
            return COMMANDS[args.command](args)
    except SpecError as problem:
        print(problem.format(), file=sys.stderr)
        return EXIT_USAGE
    except SweepError as problem:  # the loader checks every sweep point first: a fallback
        specs = getattr(args, "specs", None) or [getattr(args, "spec", None)]
        spec = (specs[0] if len(specs) == 1 else None) or "runner"
        print(f"{spec}  sweep  {str(problem).splitlines()[0]}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as problem:
        print(f"runner: error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `runner plan ... | head`: the reader has all it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit
        return EXIT_OK
    except Exception:
        if args.debug:
            raise
        import traceback

        print("runner: internal error (run with --debug for the traceback):", file=sys.stderr)
        print(traceback.format_exc().strip().splitlines()[-1], file=sys.stderr)
        return EXIT_INTERNAL_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
