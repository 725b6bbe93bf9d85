"""Run specs' profiles (the ``paper`` ones by default) within a time budget per call, resuming
across calls, and collect each finished run's summaries for the results page.

Made for a machine lent a few minutes at a time (a GPU job with a 10-minute limit per command):
every call trains for at most ``--budget`` seconds in all, then stops; the next call continues
where the last stopped, down to the training step (``runner run --time-limit`` pauses a running
cell after its current chunk and ``--resume`` continues it bit for bit). Specs run one after
another, in the order given.

    python scripts/run_in_chunks.py [SPEC ...] [--profile paper] [--out reports/chunks] \\
        [--budget 540] [--collect results] [--jobs N]

Without SPEC: every spec under ``specs/`` that defines the profile. State is kept in
``OUT/chunks.json`` (per spec: run directory, status, calls, seconds), so the call is the same
every time. When a spec's run has been judged, its summaries are copied to ``--collect`` (as
``runner results --collect`` does); rebuild the page there with ``runner results``.

Exit codes: 0 every spec is done; 2 time ran out, call again; 3 a spec ended in an error (the
others go on; see ``chunks.json``); 4 bad input (no such spec or profile).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXIT_DONE, EXIT_MORE, EXIT_FAILED, EXIT_USAGE = 0, 2, 3, 4
# runner run's exit codes (docs/cli.md): judged (0 claims hold, 1 a claim failed), interrupted
# or paused at its time limit (2), a cell or claim errored (3), bad input (4), nothing to run (5)
RUN_JUDGED, RUN_PAUSED, RUN_ERROR, RUN_USAGE = (0, 1), 2, 3, 4


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*", type=Path, help="spec files (default: specs/*.yaml)")
    parser.add_argument("--profile", default="paper")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "chunks")
    parser.add_argument(
        "--budget", type=float, default=540.0, help="seconds this call may take in all"
    )
    parser.add_argument(
        "--reserve",
        type=float,
        default=60.0,
        help="seconds kept back from each training chunk for judging and the report",
    )
    parser.add_argument(
        "--min-chunk",
        type=float,
        default=60.0,
        help="no chunk starts with less training time than this left",
    )
    parser.add_argument(
        "--chunk",
        type=float,
        default=None,
        help="training seconds of one runner call at most (default: what the budget leaves)",
    )
    parser.add_argument("--collect", type=Path, default=None, help="results folder to fill")
    parser.add_argument("--jobs", type=int, default=None, help="runner run --jobs")
    return parser.parse_args(argv)


def specs_with_profile(paths: list[Path], profile: str) -> list[Path]:
    """``paths``, or every ``specs/*.yaml`` that defines ``profile``."""
    import yaml

    if paths:
        return paths
    found = []
    for path in sorted((ROOT / "specs").glob("*.yaml")):
        data = yaml.safe_load(path.read_text()) or {}
        if profile in (data.get("profiles") or {}):
            found.append(path)
    return found


def read_state(out: Path) -> dict[str, Any]:
    path = out / "chunks.json"
    return json.loads(path.read_text()) if path.exists() else {}


def write_state(out: Path, state: dict[str, Any]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".chunks.json.tmp"
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    os.replace(tmp, out / "chunks.json")


def runner_command(args: argparse.Namespace, spec: Path, entry: dict, limit: float) -> list[str]:
    command = [sys.executable, "-m", "runner.cli", "run", str(spec), "--profile", args.profile]
    command += ["--time-limit", f"{limit:g}"]
    if entry.get("run_dir"):
        command += ["--resume", entry["run_dir"]]
    else:
        command += ["--out", str(args.out)]
    if args.jobs is not None:
        command += ["--jobs", str(args.jobs)]
    return command


def run_chunk(args: argparse.Namespace, spec: Path, entry: dict, limit: float) -> int:
    """One ``runner run`` of ``spec`` for at most ``limit`` seconds of training; updates
    ``entry`` (run directory, status, calls, seconds) and returns runner's exit code."""
    started = time.monotonic()
    done = subprocess.run(runner_command(args, spec, entry, limit), cwd=ROOT)
    entry["calls"] = entry.get("calls", 0) + 1
    entry["seconds"] = round(entry.get("seconds", 0.0) + time.monotonic() - started, 1)
    if not entry.get("run_dir"):  # the run this first call made: runner points latest at it
        latest = args.out / "latest"
        if latest.exists():
            entry["run_dir"] = str(latest.resolve())
    if done.returncode in RUN_JUDGED:
        entry["status"] = "done"
    elif done.returncode == RUN_PAUSED:
        entry["status"] = "paused"
    elif done.returncode == RUN_ERROR and entry.get("run_dir"):
        entry["status"] = "error"  # judged, with a cell or claim in error: still a result
    else:
        entry["status"] = "failed"
    entry["exit_code"] = done.returncode
    return done.returncode


def collect(args: argparse.Namespace, entry: dict) -> None:
    """The finished run's summaries into ``--collect`` (as ``runner results --collect``)."""
    from runner import scales

    if args.collect is None or entry.get("collected"):
        return
    try:
        entry["collected"] = str(scales.collect(Path(entry["run_dir"]), args.collect))
    except scales.NotARunError as problem:
        entry["collect_error"] = str(problem)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    started = time.monotonic()
    specs = specs_with_profile(args.specs, args.profile)
    missing = [str(path) for path in specs if not path.is_file()]
    if missing or not specs:
        print(f"no spec to run: {missing or f'none defines profile {args.profile!r}'}")
        return EXIT_USAGE
    state = read_state(args.out)
    failed = False
    for spec in specs:
        entry = state.setdefault(str(spec), {})
        if entry.get("status") in ("done", "error"):
            collect(args, entry)
            continue
        if entry.get("status") == "failed":
            failed = True
            continue
        while entry.get("status") != "done":
            left = args.budget - (time.monotonic() - started) - args.reserve
            if left < args.min_chunk:
                write_state(args.out, state)
                print(f"time budget used: call again to continue ({args.out / 'chunks.json'})")
                return EXIT_MORE
            code = run_chunk(args, spec, entry, min(left, args.chunk or left))
            write_state(args.out, state)
            if code == RUN_USAGE:
                return EXIT_USAGE
            if entry["status"] in ("error", "failed"):
                failed = True
                break
        if entry["status"] in ("done", "error"):
            collect(args, entry)
            write_state(args.out, state)
    write_state(args.out, state)
    print(f"every spec ran its {args.profile} profile ({args.out / 'chunks.json'})")
    return EXIT_FAILED if failed else EXIT_DONE


if __name__ == "__main__":
    sys.exit(main())
