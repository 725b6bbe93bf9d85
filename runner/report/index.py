"""The runs of an out folder: ``<out>/index.html`` and the previous run of a run.

:func:`write_index` writes ``<out>/index.html``: one self-contained page (the report's look, no
scripts, every string escaped) listing every run directory under the folder, newest first, with
its spec, profile, date, commit, status, verdict counts, its verdict changes since the previous
run of its spec and a relative link to its ``report.html``. :func:`runner.run.write_report`
rewrites it whenever a report is written (``runner run``, ``runner judge``, ``runner report``).

The *previous run* of a run (:func:`previous_run`) is the latest earlier run in the same folder
with the same spec name and the same profile that has been judged (has a ``claims.json``):
"earlier" by the manifest's ``created`` time, then by directory name. Overrides are not part of
the match (``--set train.steps=500`` is a step in the same line of work, and the diff shows it).
A report shows its verdict changes against that run (:func:`since_previous`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from runner import store
from runner.diff import ClaimChange, changes_line, claim_changes
from runner.report.common import claim_counts
from runner.report.html import jinja_environment
from runner.results import ClaimResult

INDEX = "index.html"


@dataclass
class RunEntry:
    """One run directory as the index lists it (``problem``: why it could not be read)."""

    run_dir: Path
    run_id: str
    spec_name: str = "?"
    profile: str | None = None
    created: str = ""
    status: str = "?"
    commit: str | None = None
    dirty: bool | None = None
    claims: list[ClaimResult] | None = None  # None: not judged (no claims.json)
    has_report: bool = False
    problem: str | None = None

    @property
    def order(self) -> tuple[str, str]:
        return (self.created, self.run_dir.name)

    def same_line(self, other: RunEntry) -> bool:
        """Same spec and profile: runs whose verdicts are compared with each other."""
        return (self.spec_name, self.profile) == (other.spec_name, other.profile)


def read_entry(run_dir: Path) -> RunEntry:
    """A run's manifest, env.json and claims.json as a :class:`RunEntry` (never raises: a
    damaged file is the entry's ``problem``)."""
    entry = RunEntry(run_dir=run_dir, run_id=run_dir.name)
    try:
        manifest = store.read_json(run_dir / "manifest.json")
        entry.spec_name = str(manifest.get("spec_name") or "?")
        entry.profile = manifest.get("profile")
        entry.created = str(manifest.get("created") or "")
        entry.status = str(manifest.get("status") or "?")
        env_path = run_dir / "env.json"
        git = (store.read_json(env_path).get("git") or {}) if env_path.exists() else {}
        entry.commit, entry.dirty = git.get("commit"), git.get("dirty")
        if (run_dir / "claims.json").exists():
            entry.claims = store.read_claims(run_dir)
        entry.has_report = (run_dir / "report.html").exists()
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        entry.problem = f"unreadable: {type(error).__name__}: {error}"
    return entry


def run_entries(out_root: Path) -> list[RunEntry]:
    """Every run directory under ``out_root`` (:func:`runner.store.run_dirs`), oldest first."""
    return sorted((read_entry(d) for d in store.run_dirs(out_root)), key=lambda e: e.order)


def previous_run(run_dir: Path, entries: list[RunEntry] | None = None) -> RunEntry | None:
    """The previous run of ``run_dir`` (see the module docstring); None when there is none."""
    run_dir = Path(run_dir)
    entries = run_entries(run_dir.parent) if entries is None else entries
    mine = next((e for e in entries if e.run_dir.name == run_dir.name), None) or read_entry(run_dir)
    earlier = [
        e
        for e in entries
        if e.run_dir.name != run_dir.name
        and e.problem is None
        and e.claims is not None
        and e.same_line(mine)
        and e.order < mine.order
    ]
    return max(earlier, key=lambda e: e.order) if earlier else None


@dataclass
class Since:
    """A report's verdict changes against its previous run (``previous`` None: the first run
    of its spec and profile in the folder)."""

    spec_name: str
    profile: str | None
    previous: str | None = None  # the previous run's id
    link: str | None = None  # its report.html, relative to this run's report
    changes: list[ClaimChange] = field(default_factory=list)
    index_link: str = f"../{INDEX}"

    @property
    def changed(self) -> list[ClaimChange]:
        return [c for c in self.changes if c.changed]

    @property
    def summary(self) -> str:
        """``no verdict changed`` or the changes on one line (:func:`runner.diff.changes_line`)."""
        return changes_line(self.changes)


def since_previous(run_dir: Path, claims: list[ClaimResult]) -> Since:
    """This run's ``claims`` against those of its :func:`previous_run`."""
    run_dir = Path(run_dir)
    mine = read_entry(run_dir)
    previous = previous_run(run_dir)
    since = Since(spec_name=mine.spec_name, profile=mine.profile)
    if previous is not None:
        since.previous = previous.run_id
        if previous.has_report:
            since.link = f"../{quote(previous.run_dir.name)}/report.html"
        since.changes = claim_changes(previous.claims or [], claims)
    return since


# --- the page ----------------------------------------------------------------------------------


def _row(entry: RunEntry, previous: RunEntry | None) -> dict[str, Any]:
    commit = (entry.commit or "unknown")[:12] + (" (dirty)" if entry.dirty else "")
    counts = claim_counts(entry.claims) if entry.claims is not None else None
    since = None
    if previous is not None and entry.claims is not None:
        changes = claim_changes(previous.claims or [], entry.claims)
        since = {
            "run_id": previous.run_id,
            "date": _date(previous.created),
            "changed": [c for c in changes if c.changed],
            "text": changes_line(changes),
        }
    return {
        "run_id": entry.run_id,
        "link": f"{quote(entry.run_dir.name)}/report.html" if entry.has_report else None,
        "spec": entry.spec_name,
        "profile": entry.profile or "—",
        "date": _date(entry.created),
        "commit": commit,
        "status": entry.status,
        "counts": counts,
        "total": None if entry.claims is None else len(entry.claims),
        "since": since,
        "problem": entry.problem,
    }


def _date(created: str) -> str:
    """``2026-11-30T06:19:47Z`` as ``2026-11-30 06:19:47 UTC``."""
    return created.replace("T", " ").replace("Z", " UTC") or "—"


def render_index(out_root: Path) -> str:
    """The HTML of ``<out>/index.html``, newest run first (see the module docstring)."""
    entries = run_entries(out_root)
    rows = [_row(entry, previous_run(entry.run_dir, entries)) for entry in reversed(entries)]
    specs = sorted({e.spec_name for e in entries})
    # ``runner results`` writes the verdicts across scales beside this page (runner.scales)
    results = (Path(out_root) / "results.html").is_file()
    return (
        jinja_environment()
        .get_template("index.html.j2")
        .render(folder=Path(out_root).resolve().name, rows=rows, specs=specs, results=results)
    )


def write_index(out_root: Path) -> Path:
    """Write ``<out>/index.html`` (atomically) and return its path."""
    path = Path(out_root) / INDEX
    store.atomic_write_text(path, render_index(out_root))
    return path
