"""Every claim's verdict across scales: the ``results/`` summaries and the page built from them.

A finished run is *collected* by copying its three small summaries (``claims.json``,
``manifest.json``, ``env.json``; no metrics arrays) to ``results/<spec>/<profile>/<run id>/``.
Those folders are kept under version control, so that the page can be rebuilt from them and a
test can check that ``docs/results.md`` is in step. The page has one section per spec, one row per
claim (its id and the paper's statement) and one column per profile, newest run of each profile;
under it, the runs behind every column: run id, commit, date, machine, seeds, cells and wall time.

Profiles read from small to large: ``smoke``, ``default``, any other name (alphabetically), then
``paper``. A smoke verdict is shown but is not evidence (smoke profiles are informational).

``results/answers.yaml`` (optional) holds the answer to "is it the paper or the scale?" for
claims, written by whoever read the runs: ``{spec: {claim id: text}}``. The page shows each
under its spec's table; an answer for a spec or claim that no collected run has is an error
(:class:`AnswersError`), so an answer cannot outlive its claim unnoticed.

The last column says where a claim goes as the scale grows (:func:`trend`): between the
smallest and the largest *evidence* run (not smoke) that judged it with a margin, whether the
margin moved toward PASS, toward FAIL, or stayed within the runs' seed-to-seed noise.
"""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner import store
from runner.report.common import as_float
from runner.text import count, number

SUMMARY_FILES = ("claims.json", "manifest.json", "env.json")
PAGE_TITLE = "Verdicts across scales"


@dataclass(frozen=True)
class RunSummary:
    """One collected run: where its summaries are and what they say."""

    directory: Path
    manifest: dict[str, Any]
    env: dict[str, Any]
    claims: list[dict[str, Any]]

    @classmethod
    def read(cls, directory: Path) -> RunSummary:
        claims_file = store.read_json(directory / "claims.json")
        return cls(
            directory=directory,
            manifest=store.read_json(directory / "manifest.json"),
            env=store.read_json(directory / "env.json"),
            claims=list(claims_file.get("claims", [])),
        )

    @property
    def spec_name(self) -> str:
        return str(self.manifest["spec_name"])

    @property
    def profile(self) -> str:
        return str(self.manifest.get("profile") or "base")

    @property
    def run_id(self) -> str:
        return str(self.manifest["run_id"])

    @property
    def created(self) -> str:
        return str(self.manifest.get("created") or "")

    def seeds(self) -> list[int]:
        return sorted({c["seed"] for c in self.manifest.get("cells", []) if "seed" in c})

    def wall_seconds(self) -> float | None:
        return store.wall_seconds(self.manifest)

    def commit(self) -> str:
        git = self.env.get("git") or {}
        commit = (git.get("commit") or "unknown")[:7]
        return commit + (" (dirty)" if git.get("dirty") else "")

    def machine(self) -> str:
        machine = self.env.get("machine") or {}
        cpus = machine.get("cpus")
        processor = machine.get("processor")
        if cpus is None and processor is None:
            return "unknown"
        devices = [d for d in self.env.get("jax_devices", []) if not str(d).startswith("cpu")]
        parts = [f"{cpus} cores" if cpus else None, processor, *devices]
        return ", ".join(p for p in parts if p)


class NotARunError(ValueError):
    """The folder to collect is not a finished, judged run directory."""


def collect(run_dir: Path, results_root: Path) -> Path:
    """Copies ``run_dir``'s summaries to ``results_root/<spec>/<profile>/<run id>/`` and returns
    that folder. A run must have been judged (``claims.json``); one with ``--set`` overrides is
    refused, since its column would not be the profile the spec defines."""
    run_dir = Path(run_dir)
    missing = [name for name in SUMMARY_FILES if not (run_dir / name).is_file()]
    if missing:
        raise NotARunError(f"{run_dir}: not a judged run directory (no {', '.join(missing)})")
    summary = RunSummary.read(run_dir)
    if summary.manifest.get("overrides"):
        raise NotARunError(
            f"{run_dir}: ran with --set {' '.join(summary.manifest['overrides'])}; "
            "only runs of a profile as the spec defines it go on the results page"
        )
    if summary.manifest.get("status") != "finished":
        raise NotARunError(f"{run_dir}: status {summary.manifest.get('status')}, not finished")
    target = Path(results_root) / summary.spec_name / summary.profile / summary.run_id
    target.mkdir(parents=True, exist_ok=True)
    for name in SUMMARY_FILES:
        shutil.copyfile(run_dir / name, target / name)
    return target


def collected(results_root: Path) -> list[RunSummary]:
    """Every collected run under ``results_root``, oldest first within a spec and profile."""
    root = Path(results_root)
    if not root.is_dir():
        return []
    runs = [RunSummary.read(path.parent) for path in sorted(root.glob("*/*/*/manifest.json"))]
    return sorted(runs, key=lambda r: (r.spec_name, r.profile, r.created, r.run_id))


ANSWERS = "answers.yaml"


class AnswersError(ValueError):
    """``results/answers.yaml`` is malformed or answers a claim no collected run has."""


def read_answers(results_root: Path, runs: list[RunSummary]) -> dict[str, dict[str, str]]:
    """``results/answers.yaml`` as ``{spec: {claim id: text}}`` (empty when there is none),
    checked against the claims of ``runs``."""
    path = Path(results_root) / ANSWERS
    if not path.is_file():
        return {}
    import yaml

    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise AnswersError(f"{path}: expected a mapping of spec -> {{claim id: text}}")
    known: dict[str, set[str]] = {}
    for run in runs:
        known.setdefault(run.spec_name, set()).update(c["id"] for c in run.claims)
    for spec, answers in data.items():
        if spec not in known:
            raise AnswersError(f"{path}: {spec}: no collected run of this spec ({sorted(known)})")
        for claim_id, text in answers.items():
            if claim_id not in known[spec]:
                raise AnswersError(f"{path}: {spec}.{claim_id}: no such claim in its runs")
            if not isinstance(text, str) or not text.strip():
                raise AnswersError(f"{path}: {spec}.{claim_id}: the answer must be text")
    return {spec: {k: " ".join(v.split()) for k, v in a.items()} for spec, a in data.items()}


def profile_order(name: str) -> tuple[int, str]:
    """smoke, default, any other profile by name, paper."""
    rank = {"smoke": 0, "default": 1, "paper": 3}.get(name, 2)
    return rank, name


def newest_by_profile(runs: list[RunSummary]) -> dict[str, dict[str, RunSummary]]:
    """spec name -> profile -> its newest collected run, profiles in :func:`profile_order`."""
    table: dict[str, dict[str, RunSummary]] = {}
    for run in runs:  # oldest first: a newer run replaces an older one
        table.setdefault(run.spec_name, {})[run.profile] = run
    return {
        spec: dict(sorted(profiles.items(), key=lambda item: profile_order(item[0])))
        for spec, profiles in sorted(table.items())
    }


def verdict_text(claim: dict[str, Any]) -> str:
    """``PASS +0.45``, ``FAIL -0.12 fragile``, ``FAIL -0.3 control holds``, ``INCONCLUSIVE``."""
    parts = [str(claim.get("verdict"))]
    margin = claim.get("margin")
    if isinstance(margin, (int, float)):
        parts.append(("+" if margin > 0 else "") + number(margin, 2))
    elif isinstance(margin, str):  # "inf" / "-inf" after the JSON round trip
        parts.append(("+" if not margin.startswith("-") else "") + margin)
    if claim.get("expected") == "fail":
        parts.append("control holds" if claim.get("holds") else "control fails")
    if claim.get("fragile"):
        parts.append("fragile")
    return " ".join(parts)


def _margin(claim: dict[str, Any]) -> float | None:
    """The claim's margin as a number (``"inf"`` after the JSON round trip too); None if none."""
    margin = as_float(claim.get("margin"))
    return None if math.isnan(margin) else margin


def trend(claims: list[tuple[str, dict[str, Any]]]) -> str:
    """Where a claim goes from the smallest to the largest evidence run that judged it with a
    margin, ``claims`` being ``(profile, claim)`` small to large: ``toward PASS`` or ``toward
    FAIL`` (the margin moved by more than the larger of the two runs' noise), ``stays``, with
    the verdicts when they differ (``toward PASS (FAIL -> PASS)``); ``-`` with fewer than two
    such runs."""
    judged = [
        (claim, margin)
        for profile, claim in claims
        if profile != "smoke" and (margin := _margin(claim)) is not None
    ]
    if len(judged) < 2:
        return "-"
    (first, a), (last, b) = judged[0], judged[-1]
    noise = max(float(first.get("noise") or 0.0), float(last.get("noise") or 0.0))
    if a == b or (abs(b - a) <= noise if abs(b - a) != float("inf") else False):
        words = "stays"
    else:
        words = "toward PASS" if b > a else "toward FAIL"
    if first.get("verdict") != last.get("verdict"):
        words += f" ({first.get('verdict')} -> {last.get('verdict')})"
    return words


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _cell(text: str) -> str:
    """Text for a markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _claim_rows(profiles: dict[str, RunSummary]) -> list[tuple[str, str, list[str]]]:
    """(claim id, statement, [verdict per profile..., trend]) in the order the largest run lists
    them."""
    order: list[str] = []
    statements: dict[str, str] = {}
    for run in reversed(list(profiles.values())):  # the largest profile's order first
        for claim in run.claims:
            if claim["id"] not in statements:
                order.append(claim["id"])
                statements[claim["id"]] = claim.get("statement") or claim.get(
                    "expected_sentence", ""
                )
    by_profile = {
        name: {claim["id"]: claim for claim in run.claims} for name, run in profiles.items()
    }
    rows = []
    for claim_id in order:
        verdicts = [
            verdict_text(by_profile[name][claim_id]) if claim_id in by_profile[name] else "-"
            for name in profiles
        ]
        judged = [(n, by_profile[n][claim_id]) for n in profiles if claim_id in by_profile[n]]
        rows.append((claim_id, statements[claim_id], [*verdicts, trend(judged)]))
    return rows


RESULTS_HTML = "results.html"  # the page's HTML twin, beside a reports folder's index.html


def render_html(markdown: str) -> str:
    """The page as one self-contained HTML file in the reports' look: the Markdown rendered by
    markdown-it (CommonMark and tables; raw HTML in it is escaped, not passed through)."""
    from markdown_it import MarkdownIt

    from runner.report.html import jinja_environment

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    template = jinja_environment().get_template("results.html.j2")
    return template.render(title=PAGE_TITLE, body=body)


def write_html_twin(markdown: str, reports: Path) -> Path | None:
    """``reports/results.html`` when ``reports`` holds an ``index.html`` (the folder's runs list
    then links to it), else nothing; its path or None."""
    from runner import store
    from runner.report.index import INDEX

    if not (Path(reports) / INDEX).is_file():
        return None
    path = Path(reports) / RESULTS_HTML
    store.atomic_write_text(path, render_html(markdown))
    return path


def render_markdown(results_root: Path, *, source: str = "results/") -> str:
    """The page, from the summaries under ``results_root`` alone."""
    results_root = Path(results_root)
    runs = collected(results_root)
    table = newest_by_profile(runs)
    answers = read_answers(results_root, runs)
    lines = [
        f"# {PAGE_TITLE}",
        "",
        f"Generated by `runner results` from the run summaries in `{source}`; do not edit by hand",
        "(a test fails when this page and those summaries disagree). One section per spec, one row",
        "per claim, one column per profile (its newest collected run). A verdict reads",
        "`VERDICT margin`: the margin is signed, positive when the claim's condition is met with",
        "room to spare, in the unit of docs/claims.md; `fragile` means the margin is inside the",
        "seed-to-seed noise; `control holds` marks a negative control that fails as expected.",
        "Smoke profiles are informational: they show the run works, not whether a claim holds.",
        "*As the scale grows* compares the smallest and the largest evidence run (not smoke) that",
        "judged the claim: its margin moved toward PASS, toward FAIL, or stayed within their",
        "noise.",
        "",
    ]
    if not table:
        lines += ["No runs collected yet: `runner results --collect RUN_DIR`.", ""]
    for spec, profiles in table.items():
        names = list(profiles)
        lines += [f"## {spec}", ""]
        lines.append(
            "| claim | the paper's statement | " + " | ".join(names) + " | as the scale grows |"
        )
        lines.append("|---|---|" + "---|" * (len(names) + 1))
        for claim_id, statement, verdicts in _claim_rows(profiles):
            cells = [f"`{claim_id}`", _cell(statement), *map(_cell, verdicts)]
            lines.append("| " + " | ".join(cells) + " |")
        if answers.get(spec):
            lines += ["", f"Is it the paper or the scale? (`{source}{ANSWERS}`)", ""]
            lines += [f"- `{claim_id}`: {text}" for claim_id, text in answers[spec].items()]
        lines += ["", "| profile | run | commit | date | machine | seeds | cells | wall |"]
        lines.append("|---|---|---|---|---|---|---|---|")
        for name, run in profiles.items():
            wall = run.wall_seconds()
            seeds = run.seeds()
            row = [
                name,
                f"`{source}{run.directory.relative_to(results_root).as_posix()}`",
                run.commit(),
                run.created[:10],
                run.machine(),
                ", ".join(map(str, seeds)) or "-",
                count(len(run.manifest.get("cells", [])), "cell"),
                _duration(wall),
            ]
            lines.append("| " + " | ".join(map(_cell, row)) + " |")
        lines.append("")
    return "\n".join(lines)


__all__ = [
    "AnswersError",
    "NotARunError",
    "RunSummary",
    "collect",
    "collected",
    "newest_by_profile",
    "profile_order",
    "render_markdown",
    "trend",
    "verdict_text",
]
