"""The whole suite: every spec's profile run with the plain ``runner run`` command, one fresh
process per spec, and what it cost.

For each spec (every ``specs/*.yaml`` by default; ``--specs a,b`` takes names in ``specs/`` or
paths) it runs ``python -m runner.cli run SPEC --profile PROFILE --out DIR`` and records:

* ``wall_s``: the command's wall time;
* ``cpu_s`` and ``cpu_use``: user + system seconds of the command and every process it waited
  for (``os.wait4``, so the ``local`` engine's workers count), and ``cpu_s / wall_s`` (the cores
  kept busy on average); ``max_rss_mb`` the largest resident size among them;
* ``cells``, ``cell_seconds`` (the sum of the cells' wall times, from the run's manifest) and
  ``compile_seconds`` (the sum of the manifest's per-cell ``compile_seconds``: tracing and
  compiling inside ``core.training``, see :class:`core.training.CompileClock`; ``null`` for a
  run whose manifest has none, as an older version's);
* ``verdicts``: how many claims ended PASS, FAIL, INCONCLUSIVE, ERROR, ...; ``exit_code``.

``--compare BASELINE.json`` (a file this script wrote) prints, per spec, this run's wall time,
cell seconds, compile seconds and CPU seconds divided by the baseline's, and the verdict counts
that changed. Either way ``--json PATH`` writes the measurements.

    python benchmarks/suite.py [--specs a,b] [--profile default] [--out DIR] [--json PATH]
    python benchmarks/suite.py --compare BASELINE.json [--json PATH] ...
    python benchmarks/suite.py --compare BASELINE.json --from NEW.json   # compare two files

The full default suite takes about 19 minutes on the 2-core machine (an hour before the
speed work: one core, slower LM steps).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RATIOS = ("wall_s", "cell_seconds", "compile_seconds", "cpu_s")


def spec_paths(names: str | None) -> list[Path]:
    """``specs/*.yaml``, or the comma-separated names (in ``specs/``) or paths."""
    if not names:
        return sorted((ROOT / "specs").glob("*.yaml"))
    paths = []
    for name in (n.strip() for n in names.split(",") if n.strip()):
        path = Path(name)
        if path.suffix != ".yaml":
            path = ROOT / "specs" / f"{name}.yaml"
        if not path.exists():
            raise SystemExit(f"no spec {name!r} ({path})")
        paths.append(path)
    return paths


def _run_measured(command: list[str]) -> tuple[int, str, float, float, float]:
    """Run ``command``; its exit code, output, wall seconds, and from ``os.wait4`` the user +
    system seconds and the peak resident MB of it and every process it waited for (so the
    ``local`` engine's workers count; this command's alone, unlike ``RUSAGE_CHILDREN``, whose
    peak is the largest over every earlier spec too)."""
    with tempfile.TemporaryFile("w+") as output:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        output.seek(0)
        text = output.read()
    cpu = usage.ru_utime + usage.ru_stime
    return process.returncode, text, wall, cpu, usage.ru_maxrss / 1024  # Linux: kilobytes


def run_summary(run_dir: Path) -> dict:
    """Cells, cell seconds, compile seconds and verdict counts of a finished run directory."""
    manifest = json.loads((run_dir / "manifest.json").read_text())
    cells = manifest.get("cells", [])
    # the manifest's per-cell compile_seconds (None when any cell lacks it: an older version)
    compile_seconds = (
        sum(cell["compile_seconds"] for cell in cells)
        if all("compile_seconds" in cell for cell in cells)
        else None
    )
    verdicts: dict[str, int] = {}
    claims_path = run_dir / "claims.json"
    if claims_path.exists():
        for claim in json.loads(claims_path.read_text()).get("claims", []):
            verdicts[claim["verdict"]] = verdicts.get(claim["verdict"], 0) + 1
    return {
        "run_dir": str(run_dir),
        "cells": len(cells),
        "cell_seconds": sum(cell.get("wall_seconds") or 0.0 for cell in cells),
        "compile_seconds": compile_seconds,
        "verdicts": dict(sorted(verdicts.items())),
    }


def run_spec(spec: Path, profile: str, out: Path) -> dict:
    """``runner run`` of one spec in a fresh process, and what it cost."""
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "runner.cli", "run", str(spec), "--profile", profile]
    command += ["--out", str(out)]
    exit_code, output, wall, cpu, max_rss = _run_measured(command)
    row: dict = {
        "spec": spec.stem,
        "profile": profile,
        "exit_code": exit_code,
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_use": cpu / wall if wall > 0 else None,
        "max_rss_mb": max_rss,
    }
    runs = sorted(p for p in out.iterdir() if (p / "manifest.json").exists())
    if not runs:
        row["error"] = output[-2000:]
        return row
    row.update(run_summary(runs[-1]))
    return row


def _ratio(new: float | None, old: float | None) -> float | None:
    if new is None or old is None or old == 0:
        return None
    return new / old


def compare(new: dict, baseline: dict) -> dict:
    """Per spec: ``RATIOS`` of ``new`` over ``baseline`` and the verdict counts that changed."""
    old_rows = {row["spec"]: row for row in baseline.get("specs", [])}
    result = {}
    for row in new.get("specs", []):
        old = old_rows.get(row["spec"])
        if old is None:
            continue
        verdicts = {}
        for verdict in sorted(set(row.get("verdicts", {})) | set(old.get("verdicts", {}))):
            before, after = old.get("verdicts", {}).get(verdict, 0), row["verdicts"].get(verdict, 0)
            if before != after:
                verdicts[verdict] = [before, after]
        result[row["spec"]] = {
            **{key: _ratio(row.get(key), old.get(key)) for key in RATIOS},
            "verdict_changes": verdicts,
        }
    return result


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_rows(rows: list[dict]) -> None:
    header = f"{'spec':24} {'wall s':>8} {'cells':>5} {'cell s':>8} {'compile s':>9} {'cpu':>5}"
    print(f"{header}  verdicts")
    for row in rows:
        if "error" in row:
            print(f"{row['spec']:24} error (exit {row['exit_code']}): {row['error'][-300:]}")
            continue
        verdicts = " ".join(f"{k} {v}" for k, v in row["verdicts"].items())
        print(
            f"{row['spec']:24} {row['wall_s']:8.1f} {row['cells']:5d} {row['cell_seconds']:8.1f} "
            f"{_fmt(row['compile_seconds'], '9.1f')} {_fmt(row['cpu_use'], '5.2f')}  {verdicts}"
        )


def print_comparison(ratios: dict) -> None:
    print(f"\n{'spec':24} " + " ".join(f"{key + ' x':>17}" for key in RATIOS) + "  verdicts")
    for spec, row in ratios.items():
        changes = " ".join(f"{k} {a}->{b}" for k, (a, b) in row["verdict_changes"].items())
        cells = " ".join(f"{_fmt(row[key], '17.2f')}" for key in RATIOS)
        print(f"{spec:24} {cells}  {changes or 'unchanged'}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--specs", help="comma-separated spec names (in specs/) or paths")
    parser.add_argument("--profile", default="default", help="the profile to run")
    parser.add_argument("--out", type=Path, help="run directories go here (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="write the measurements here")
    parser.add_argument("--compare", type=Path, help="a baseline JSON of this script")
    parser.add_argument("--from", dest="from_json", type=Path, help="compare this file, no run")
    args = parser.parse_args(argv)

    if args.from_json is not None:
        result = json.loads(args.from_json.read_text())
    else:
        out = args.out or Path(tempfile.mkdtemp(prefix="pgdlab-suite-"))
        rows = []
        for spec in spec_paths(args.specs):
            print(f"{spec.stem}: runner run --profile {args.profile} ...", flush=True)
            rows.append(run_spec(spec, args.profile, out / spec.stem))
        result = {
            "benchmark": "suite",
            "date": datetime.now().isoformat(timespec="seconds"),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "profile": args.profile,
            "out": str(out),
            "specs": rows,
            "total": {
                key: sum(row.get(key) or 0.0 for row in rows)
                for key in ("wall_s", "cell_seconds", "compile_seconds", "cpu_s")
            },
        }
    print_rows(result["specs"])
    if args.compare is not None:
        result["comparison"] = compare(result, json.loads(args.compare.read_text()))
        result["compared_with"] = str(args.compare)
        print_comparison(result["comparison"])
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if all("error" not in row for row in result["specs"]) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
