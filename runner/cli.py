"""The ``runner`` command line.

    runner validate SPEC...            every profile of each spec validates
    runner plan SPEC                   cells and hashes; nothing runs
    runner run SPEC [--profile P] [--set a.b=v ...] [--engine inline|local|submitit|ray]
                    [--jobs N] [--engine-opt KEY=VALUE ...] [--detach]
                    [--check-determinism] [--check-robustness]
                    [--out DIR] [--resume RUN_DIR] [--only OPT,...] [--strict]
                    (default: engine local, one worker per core; inline with --jobs 1)
    runner status RUN_DIR              cells finished, failed and still pending
    runner judge RUN_DIR [--spec PATH] [--check-robustness]
                                       re-judge stored results (after editing a claim)
    runner report RUN_DIR              re-render report.html and junit.xml
    runner ls [--out DIR]              past runs with their verdict counts
    runner schema                      JSON Schema of a spec, for editors
    runner claims [--markdown]         claim kinds, their parameters and sentences
                                       (--markdown: the reference docs/claims.md)
    runner kinds [--markdown]          task, model, loss, optimizer, metric and observable
                                       kinds with their fields (docs/kinds.md)
    runner new NAME [--from SPEC | --template T] [--dir DIR] [--schema]
                                       write a commented starter spec that validates

Exit codes (as pytest's): 0 every claim holds (a negative control that fails holds; INCONCLUSIVE
does not fail the run unless ``--strict``), 1 a claim failed, 2 interrupted, 3 a cell or a claim
errored (internal error), 4 bad spec or usage, 5 nothing selected. ``--debug`` shows tracebacks.
A spec with ``verdicts: informational`` (every shipped smoke profile) exits 0 whatever its
verdicts, unless a cell or a claim errored (3) or it was interrupted (2).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="runner",
        description="Run experiment specs for preconditioned gradient descent; judge claims.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    validate = commands.add_parser("validate", help="validate specs (every profile)")
    validate.add_argument("specs", nargs="+", type=Path)

    def spec_options(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("spec", type=Path)
        sub.add_argument("--profile", default="default", help="smoke | default | paper")
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
    run.add_argument("--resume", type=Path, metavar="RUN_DIR", help="reuse finished cells")
    run.add_argument("--only", help="comma-separated optimizer names to run")
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

    ls = commands.add_parser("ls", help="past runs and their verdict counts")
    ls.add_argument("--out", type=Path, default=Path("reports"))

    data = commands.add_parser("data", help="which data files a spec's task reads (MNIST source)")
    data.add_argument("specs", nargs="+", type=Path)
    data.add_argument("--profile", default="default", help="smoke | default | paper")

    commands.add_parser("schema", help="print the spec JSON Schema")
    claims = commands.add_parser("claims", help="describe the claim kinds")
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
    for path in args.specs:
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
    from runner.load import load_spec
    from runner.plan import plan

    loaded = load_spec(args.spec, profile=args.profile, overrides=args.overrides)
    cells = plan(loaded.spec, loaded.resolved)
    print(f"{loaded.spec.name}: {len(cells)} cells (profile {args.profile})")
    for cell in cells:
        point = " ".join(f"{k}={v}" for k, v in cell.point.items())
        print(f"  {cell.cell_id:48} {cell.optimizer:12} seed={cell.seed} {point}  {cell.hash[:16]}")
    return EXIT_OK if cells else EXIT_NOTHING_SELECTED


def cmd_run(args) -> int:
    from runner.load import load_spec
    from runner.plan import plan
    from runner.run import run_spec, select_cells

    started = time.monotonic()

    if args.jobs is not None and args.jobs < 1:
        raise UsageError(f"--jobs must be at least 1, got {args.jobs}")
    if args.resume is not None and not (args.resume / "manifest.json").exists():
        raise UsageError(f"--resume {args.resume}: not a run directory (no manifest.json)")
    loaded = load_spec(args.spec, profile=args.profile, overrides=args.overrides)
    only = [name.strip() for name in args.only.split(",")] if args.only else None
    if only:
        unknown = [name for name in only if name not in loaded.spec.optimizers]
        if unknown:
            raise UsageError(
                f"--only: unknown optimizer(s) {unknown}; "
                f"the spec has {list(loaded.spec.optimizers)}"
            )
    if not select_cells(plan(loaded.spec, loaded.resolved), only):
        print("nothing selected: no cell matches --only", file=sys.stderr)
        return EXIT_NOTHING_SELECTED
    from runner.data import data_sources

    sources = data_sources(loaded)  # a missing or corrupt data file: exit 4 before any run dir
    engine_options = _engine_options(args)
    if args.detach and args.engine != "submitit":
        raise UsageError("--detach needs --engine submitit (the other engines run here)")
    if args.detach and (args.check_robustness or args.check_determinism):
        raise UsageError("--detach runs nothing here: judge later, then run the checks")
    from runner.engines import resolve_engine

    engine, jobs = resolve_engine(args.engine, args.jobs)
    outcome = run_spec(
        loaded,
        out_root=args.out,
        engine=engine,
        engine_options=engine_options,
        jobs=jobs,
        resume=args.resume,
        detach=args.detach,
        only=only,
        data_sources=sources,
        check_robustness=args.check_robustness,
    )
    statuses = outcome.cell_statuses
    if outcome.submitted:
        print(
            f"{loaded.spec.name} [{args.profile}]: submitted {outcome.submitted} job(s) to "
            f"{args.engine}; follow with: runner status {outcome.run_dir}; "
            f"when done: runner judge {outcome.run_dir}"
        )
        return EXIT_OK
    counts = {s: list(statuses.values()).count(s) for s in sorted(set(statuses.values()))}
    print(
        f"{loaded.spec.name} [{args.profile}]: cells {counts}"
        + (f", {outcome.reused} reused" if outcome.reused else "")
    )
    _print_claims(outcome.claims)
    _print_not_evidence(loaded.spec)
    _print_robustness(outcome.robustness)
    print(f"report: {outcome.run_dir / 'report.html'}")
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
                outcome.run_dir, loaded, engine=engine, jobs=jobs, engine_options=engine_options
            )
        except Interrupted:
            print("interrupted: the determinism check did not finish", file=sys.stderr)
            return EXIT_INTERRUPTED
        differing = {cell: names for cell, names in differences.items() if names}
        if differing:
            for cell, names in differing.items():
                print(f"determinism: {cell} differs in {', '.join(names)}", file=sys.stderr)
            print(summary_line(outcome.claims, time.monotonic() - started))
            return EXIT_INTERNAL_ERROR
        print(f"determinism: {len(differences)} cell(s) re-run, every array identical")
    print(summary_line(outcome.claims, time.monotonic() - started))
    return code


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

    for path in args.specs:
        print(describe(load_spec(path, profile=args.profile)))
    return EXIT_OK


def _require_run_dir(path: Path) -> None:
    if not (path / "manifest.json").exists():
        raise UsageError(f"{path}: not a run directory (no manifest.json)")


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
    from runner.run import rerender

    _require_run_dir(args.run_dir)
    rerender(args.run_dir)
    print(f"report: {args.run_dir / 'report.html'}")
    return EXIT_OK


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
    return EXIT_OK


def cmd_schema(args) -> int:
    from runner.spec import Spec

    print(json.dumps(Spec.model_json_schema(), indent=2))
    return EXIT_OK


def cmd_claims(args) -> int:
    from runner.kinds.claims import describe_kinds

    if args.markdown:
        from runner.kinds.claims.reference import claims_markdown

        sys.stdout.write(claims_markdown())
        return EXIT_OK
    for kind in describe_kinds():
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


COMMANDS = {
    "validate": cmd_validate,
    "plan": cmd_plan,
    "run": cmd_run,
    "judge": cmd_judge,
    "status": cmd_status,
    "report": cmd_report,
    "ls": cmd_ls,
    "data": cmd_data,
    "schema": cmd_schema,
    "claims": cmd_claims,
    "kinds": cmd_kinds,
    "new": cmd_new,
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
        spec = getattr(args, "spec", None) or "runner"
        print(f"{spec}  sweep  {str(problem).splitlines()[0]}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as problem:
        print(f"runner: error: {problem}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:
        if args.debug:
            raise
        import traceback

        print("runner: internal error (run with --debug for the traceback):", file=sys.stderr)
        print(traceback.format_exc().strip().splitlines()[-1], file=sys.stderr)
        return EXIT_INTERNAL_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
