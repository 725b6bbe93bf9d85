"""The HTML report of a run: one self-contained page (:func:`render_report`).

The page opens offline: no external CSS, JavaScript, fonts or images, no required JavaScript at
all; figures are inline ``<svg>`` elements (:mod:`runner.report.figures`) and every
user-provided string is escaped by Jinja2's autoescape. A figure that cannot be drawn is shown
as its error and never costs the rest of the page.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
import yaml
from markupsafe import Markup

from runner.report import figures
from runner.report.common import (
    claim_counts,
    control_note,
    distinct_strings,
    fmt,
    holds_text,
    margin_text,
    spec_name,
    truncate,
)
from runner.report.export import claims_in_report_order, draw_overview
from runner.results import CellResult, ClaimResult, Evidence, RunView

if TYPE_CHECKING:
    from runner.report.index import Since

TEMPLATES = Path(__file__).parent.parent / "templates"  # runner/templates (package data)

ERROR_PREVIEW = 160  # characters of a cell's error shown in the sweep grid


def render_report(view: RunView, since: Since | None = None) -> str:
    """The HTML report of a run: one self-contained page (inline CSS and SVG, no scripts).
    ``since``: its verdict changes against the previous run of its spec
    (:func:`runner.report.index.since_previous`), shown under the verdict with links to that
    run's report and to the folder's ``index.html``; None (a report rendered outside an out
    folder) leaves both out, and every link of the page is then an anchor within it."""
    context = _context(view)
    context["since"] = _since(since)
    return jinja_environment().get_template("report.html.j2").render(**context)


@cache
def jinja_environment() -> jinja2.Environment:
    """The templates of ``runner/templates`` with autoescape on (the report and the index)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _context(view: RunView) -> dict[str, Any]:
    manifest, spec = view.manifest, view.spec
    claims = claims_in_report_order(
        [_claim_context(claim, view, i) for i, claim in enumerate(view.claims)], view.claims
    )
    overrides = manifest.get("overrides") or []
    if isinstance(overrides, str):
        overrides = [overrides]
    return {
        "name": spec_name(view),
        "description": getattr(spec, "description", "") or "",
        "paper": getattr(spec, "paper", "") or "",
        "run_id": str(manifest.get("run_id", "")),
        "profile": str(manifest.get("profile") or "—"),
        "overrides": [str(o) for o in overrides],
        "run_status": str(manifest.get("status") or ""),
        "verdict": _with_run_checks(_overall(view), view),
        "not_evidence": getattr(spec, "verdicts", "evidence") == "informational",
        "robustness": _robustness(view),
        "claims": claims,
        "overview": _overview_figures(view),
        "grid": _grid(view.cells),
        "command": _command(manifest.get("command")),
        "provenance": _provenance(view),
        "packages": sorted((str(k), fmt(v)) for k, v in (view.env.get("packages") or {}).items()),
        "resolved_text": view.resolved_text,
        "spec_text": view.spec_text,
    }


def _since(since: Since | None) -> dict[str, Any] | None:
    if since is None:
        return None
    return {
        "previous": since.previous,
        "link": since.link,
        "index_link": since.index_link,
        "spec": since.spec_name,
        "profile": since.profile or "—",
        "summary": since.summary,
        "changed": [
            {
                "id": c.id,
                "anchor": None if c.change == "removed" else f"claim-{c.id}",
                "text": c.text(),
            }
            for c in since.changed
        ],
    }


def _overall(view: RunView) -> dict[str, Any]:
    claims = view.claims
    counts = claim_counts(claims)
    total = len(claims)
    notes = []
    if total == 0:
        headline, css = "NO CLAIMS JUDGED", "inconclusive"
    elif counts["holds"] == total:
        headline, css = "ALL CLAIMS HOLD", "pass"
    else:
        parts = [
            f"{counts['failed']} of {total} claims failed" if counts["failed"] else "",
            f"{counts['inconclusive']} inconclusive" if counts["inconclusive"] else "",
            f"{counts['errored']} errored" if counts["errored"] else "",
        ]
        headline = ", ".join(p for p in parts if p)
        css = "fail" if counts["failed"] else ("error" if counts["errored"] else "inconclusive")
    if total:
        notes.append(f"{counts['holds']} of {total} claims hold")
    if counts["controls"]:
        n = counts["controls"]
        notes.append(f"{n} negative control{'s' if n != 1 else ''} (expected to fail)")
    if counts["fragile"]:
        n = counts["fragile"]
        notes.append(
            f"{n} fragile verdict{'s' if n != 1 else ''} (margin inside its noise: another seed "
            "may flip it)"
        )
    by_status: dict[str, list[str]] = {}
    for cell in view.cells:
        by_status.setdefault(cell.status, []).append(cell.cell_id)
    cell_errors = by_status.get("error", [])
    for status, word in (("diverged", "diverged"), ("missing", "missing")):
        if by_status.get(status):
            notes.append(f"{len(by_status[status])} of {len(view.cells)} cells {word}")
    status = str(view.manifest.get("status") or "")
    if status and status != "finished":
        notes.append(f"run status: {status}")
    return {"headline": headline, "css": css, "notes": notes, "cell_errors": cell_errors}


def _overview_figures(view: RunView) -> list[dict[str, Any]]:
    """The spec's own ``figures`` (e.g. Fig. 4: loss per optimizer, a colour per frequency)."""
    out = []
    for number, figure in enumerate(getattr(view.spec, "figures", None) or []):
        try:
            fig = draw_overview(view, figure)  # as `runner report --figures` draws it
            try:
                svg = Markup(figures.figure_svg(fig, prefix=f"o{number}-"))
            finally:
                fig.clear()
            out.append({"title": figure.title, "svg": svg, "error": None})
        except Exception as error:  # a broken figure must not cost the whole report
            out.append(
                {"title": figure.title, "svg": None, "error": f"{type(error).__name__}: {error}"}
            )
    return out


def _claim_context(claim: ClaimResult, view: RunView, index: int) -> dict[str, Any]:
    if claim.holds:
        status = "holds"
    elif claim.verdict == "INCONCLUSIVE":
        status = "inconclusive"
    else:
        status = "failed"
    drawn: list[dict[str, Any]] = []
    try:
        built = figures.build_figures(claim, view.cells)
    except Exception as error:  # a broken figure must not cost the whole report
        drawn.append({"svg": None, "error": f"{type(error).__name__}: {error}"})
        built = []
    for number, fig in enumerate(built):
        try:
            svg = figures.figure_svg(fig, prefix=f"c{index}f{number}-")
            drawn.append({"svg": Markup(svg), "error": None})
        except Exception as error:
            drawn.append({"svg": None, "error": f"{type(error).__name__}: {error}"})
        finally:
            fig.clear()
    columns, rows = _evidence(claim.evidence)
    return {
        "id": claim.id,
        "anchor": f"claim-{claim.id}",
        "kind": claim.kind,
        "verdict": claim.verdict,
        "verdict_css": claim.verdict.lower(),
        "expected": claim.expected,
        "holds": claim.holds,
        "holds_text": holds_text(claim),
        "status": status,
        "fragile": bool(getattr(claim, "fragile", False)),
        "fragile_reason": getattr(claim, "fragile_reason", None) or "",
        "margin_noise": margin_text(claim),
        "has_margin": claim.margin is not None,
        "expected_sentence": claim.expected_sentence,
        "observed_sentence": claim.observed_sentence,
        "statement": claim.statement or "",
        "reason": claim.reason or "",
        "margin": fmt(claim.margin),
        "control_note": control_note(claim),
        "figures": drawn,
        "evidence_columns": columns,
        "evidence_rows": rows,
        "cells": list(claim.cells),
        "observed": [(str(k), fmt(v)) for k, v in (claim.observed or {}).items()],
        "definition": _claim_definition(view.spec, claim.id),
    }


def _evidence(rows: Sequence[Evidence]) -> tuple[list[str], list[dict[str, Any]]]:
    columns = distinct_strings(row.values for row in rows)
    out = []
    for row in rows:
        passed = {True: "pass", False: "fail", None: "—"}[row.passed]
        out.append(
            {
                "label": row.label,
                "cell_id": row.cell_id or "",
                "numbers": [fmt(row.values[c]) if c in row.values else "" for c in columns],
                "passed": passed,
            }
        )
    return columns, out


def _claim_definition(spec: Any, claim_id: str) -> str:
    for claim in getattr(spec, "claims", None) or []:
        if getattr(claim, "id", None) == claim_id:
            try:
                data = claim.model_dump(mode="json", exclude_defaults=True)
                return yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip()
            except Exception:  # pragma: no cover - a spec object without pydantic dumping
                return ""
    return ""


def _grid(cells: Sequence[CellResult]) -> dict[str, Any]:
    keys = distinct_strings(cell.point for cell in cells)
    rows = []
    for cell in cells:
        error = (cell.error or "").strip()
        rows.append(
            {
                "cell_id": cell.cell_id,
                "optimizer": cell.optimizer,
                "seed": cell.seed,
                "point": [fmt(cell.point[k]) if k in cell.point else "" for k in keys],
                "status": cell.status,
                "steps_done": cell.steps_done,
                "diverged_at": "" if cell.diverged_at is None else cell.diverged_at,
                "wall": f"{cell.wall_seconds:.1f}",
                "error": error,
                "error_preview": truncate(error.splitlines()[-1] if error else "", ERROR_PREVIEW),
            }
        )
    return {"columns": keys, "rows": rows}


def _command(command: Any) -> str:
    if command is None:
        return ""
    if isinstance(command, (list, tuple)):
        return shlex.join(str(part) for part in command)
    return str(command)


def _provenance(view: RunView) -> list[tuple[str, str]]:
    manifest, env = view.manifest, view.env
    git = env.get("git") or {}
    commit = str(git.get("commit") or "unknown")
    if git.get("dirty"):
        commit += " (dirty: uncommitted changes)"
    elif "dirty" in git:
        commit += " (clean)"
    rows = [
        ("run id", manifest.get("run_id")),
        ("run status", manifest.get("status")),
        ("spec path", manifest.get("spec_path")),
        ("spec hash", manifest.get("spec_hash")),
        ("profile", manifest.get("profile")),
        ("overrides", manifest.get("overrides") or "none"),
        ("created", manifest.get("created")),
        ("finished", manifest.get("finished")),
        ("git commit", commit),
        ("pgdlab version", manifest.get("pgdlab_version")),
        ("engine", manifest.get("engine")),
        ("jobs", manifest.get("jobs")),
        ("cell time", _cell_time(manifest.get("cells") or [])),
        ("python", env.get("python")),
        ("platform", env.get("platform")),
        ("JAX devices", env.get("jax_devices")),
        ("threads", env.get("threads")),
        ("data sources", env.get("data_sources") or "none (all data generated from seeds)"),
    ]
    return [(key, fmt(value, limit=None)) for key, value in rows if value is not None]


def _cell_time(cells: list[dict[str, Any]]) -> str | None:
    """The cells' seconds added up, with the share spent compiling and evaluating (the
    manifest's ``compile_seconds`` / ``eval_seconds``; cells that recorded none are left out of
    the shares and counted)."""
    total = sum(c.get("wall_seconds") or 0.0 for c in cells)
    if total <= 0:
        return None
    timed = [c for c in cells if "compile_seconds" in c and c.get("wall_seconds")]
    text = f"{total:.1f} s in {len(cells)} cells"
    if timed:
        timed_total = sum(c["wall_seconds"] for c in timed)
        compile_s = sum(c["compile_seconds"] for c in timed)
        eval_s = sum(c.get("eval_seconds") or 0.0 for c in timed)
        text += (
            f"; compiling {compile_s:.1f} s ({100 * compile_s / timed_total:.1f} %), "
            f"evaluating {eval_s:.1f} s ({100 * eval_s / timed_total:.1f} %)"
        )
        if len(timed) < len(cells):
            text += f" of the {len(timed)} cells that recorded timings"
    return text


def _with_run_checks(verdict: dict[str, Any], view: RunView) -> dict[str, Any]:
    """The overall verdict with what the run's checks add: ``verdicts: informational`` (a smoke
    run) is headed "smoke: not evidence" in grey; ``--check-robustness`` flips are a note."""
    if getattr(view.spec, "verdicts", "evidence") == "informational":
        verdict["headline"] = f"smoke: not evidence · {verdict['headline']}"
        verdict["css"] = "informational"
    flips = (view.robustness or {}).get("flips") or []
    if flips:
        verdict["notes"].append(
            f"{len(flips)} {'verdict flips' if len(flips) == 1 else 'verdicts flip'} when the "
            "initial parameters are perturbed at rounding level (see Robustness)"
        )
    return verdict


def _robustness(view: RunView) -> dict[str, Any] | None:
    """``--check-robustness`` (claims.json ``robustness``): what was re-run and, per claim, the
    verdict and margin with and without the perturbation; flips first."""
    section = view.robustness
    if not section:
        return None
    eps = (section.get("perturbation") or {}).get("eps") or {}
    rows = [
        {
            "id": entry["id"],
            "anchor": f"claim-{entry['id']}",
            "verdict": entry["verdict"],
            "margin": fmt(entry.get("margin")),
            "perturbed_verdict": entry["perturbed_verdict"],
            "perturbed_margin": fmt(entry.get("perturbed_margin")),
            "flipped": bool(entry.get("flipped")),
        }
        for entry in section.get("claims", [])
    ]
    rows.sort(key=lambda row: not row["flipped"])  # stable: spec order within each group
    return {
        "seed": section.get("seed"),
        "cells": list(section.get("cells", [])),
        "eps": ", ".join(f"{dtype}: {fmt(value)}" for dtype, value in eps.items()),
        "flips": len(section.get("flips") or []),
        "rows": rows,
    }
