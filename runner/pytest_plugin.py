"""The claims of a spec as pytest items: ``pytest specs/regression_1d.yaml --pgdlab-profile smoke``.

Registered as the ``pgdlab`` pytest plugin (``pytest11`` entry point in ``pyproject.toml``), so it
is loaded by every pytest run of an environment where pgdlab is installed; importing it costs
nothing (no numpy, no JAX) and it leaves every file it does not claim to pytest.

Collection. A YAML file is a spec collector (:class:`SpecFile`) when it was named on the command
line, or lies in a folder named there and looks like a spec (a top-level ``claims:`` key), is not
the copy inside a stored run directory (a ``manifest.json`` beside it) and is not under one of
the configured ``testpaths`` (a project's tests may hold deliberately malformed specs; name such
a file itself to collect it). A plain ``pytest`` that runs its configured ``testpaths`` collects
no YAML at all. Each claim is an item named by its id. A spec that does not load is a collection
error whose text is the loader's ``file:line:col  key  message`` lines.

Running. The first item of a spec to run finds a stored run under ``--pgdlab-out`` with the same
spec hash (the resolved spec, the manifest's ``spec_hash``) and the same code version
(:func:`runner.store.code_version`, recorded as the manifest's ``code_version``): finished, it is
re-judged from its stored cells and nothing trains; interrupted, it is resumed; otherwise the
spec runs as ``runner run`` would (:func:`runner.run.run_spec`). The other items of the spec only
read that judgement. A file lock per spec hash under the out dir (``.pgdlab-<hash>.lock``)
makes concurrent sessions (``pytest -n 2``) train a spec once: the others wait, then reuse it.

Outcomes. A claim that holds (a negative control that fails holds) passes; one that does not
fails with its sentences, margin and evidence rows; INCONCLUSIVE is skipped with its reason;
ERROR fails with the error. Under ``verdicts: informational`` (the smoke profiles) a claim that
does not hold is skipped (``smoke: not evidence``), as in the run's ``junit.xml``; ERROR still
fails. Each item records ``verdict``, ``margin``, ``run_dir``, ... as user properties (JUnit
``<properties>``); the terminal summary says per spec whether its run was trained or reused.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from runner.many import SPEC_SUFFIXES

if TYPE_CHECKING:
    from runner.load import LoadedSpec
    from runner.results import ClaimResult

#: a top-level ``claims:`` key (quoted or not) at the start of a line: what makes a YAML file in
#: a named folder a spec. Read as text, so a spec with a YAML mistake is still collected (and
#: reported), and no YAML is parsed for files that are not specs.
_CLAIMS_KEY = re.compile(r"""^["']?claims["']?\s*:""", re.MULTILINE)
#: how many evidence rows a failure shows
MAX_EVIDENCE_ROWS = 20

_RUNS = pytest.StashKey[dict[tuple[str, str], "SpecRun"]]()
_TESTPATHS = pytest.StashKey[set[Path]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pgdlab", "pgdlab: the claims of a spec as tests")
    group.addoption(
        "--pgdlab-profile",
        default="default",
        metavar="NAME",
        help="the profile of the specs to run (default: default; any profile a spec defines)",
    )
    group.addoption(
        "--pgdlab-set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a spec value, as runner run --set (repeatable)",
    )
    group.addoption(
        "--pgdlab-out",
        default="reports",
        metavar="DIR",
        help="where runs are stored and looked up for reuse (default: reports, under rootdir)",
    )
    group.addoption(
        "--pgdlab-jobs",
        type=int,
        default=None,
        metavar="N",
        help="workers that train a spec's cells (default: as runner run, one per core; 1: inline)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "pgdlab: a claim of a pgdlab spec (runner.pytest_plugin)")
    config.stash[_RUNS] = {}
    config.pluginmanager.register(RunSummary(), "pgdlab-run-summary")


# --- collection --------------------------------------------------------------------------------


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in SPEC_SUFFIXES or not is_spec_to_collect(file_path, parent.session):
        return None
    return SpecFile.from_parent(parent, path=file_path)


def is_spec_to_collect(path: Path, session: pytest.Session) -> bool:
    """Whether pytest should collect this YAML file as a spec (the rules in the module text)."""
    config = session.config
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return False  # pytest runs its testpaths (or the current folder): never YAML
    if session.isinitpath(path):
        return True  # named itself: collected, so a malformed spec is reported, not ignored
    if not any(session.isinitpath(folder) for folder in path.parents):
        return False
    if (path.parent / "manifest.json").exists():
        return False  # spec.yaml / spec.resolved.yaml of a stored run
    if _testpaths(config) and not _testpaths(config).isdisjoint(path.resolve().parents):
        return False
    return looks_like_spec(path)


def looks_like_spec(path: Path) -> bool:
    """A top-level ``claims:`` key (read as text: see :data:`_CLAIMS_KEY`)."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return False
    return _CLAIMS_KEY.search(text) is not None


def _testpaths(config: pytest.Config) -> set[Path]:
    """The configured ``testpaths`` folders (globs expanded, under the rootdir), resolved."""
    if _TESTPATHS not in config.stash:
        folders: set[Path] = set()
        for pattern in config.getini("testpaths") or []:
            try:
                matches = list(config.rootpath.glob(pattern)) if pattern else []
            except (NotImplementedError, ValueError):  # an absolute pattern
                matches = [Path(pattern)]
            folders |= {match.resolve() for match in matches if match.is_dir()}
        config.stash[_TESTPATHS] = folders
    return config.stash[_TESTPATHS]


class SpecFile(pytest.File):
    """A spec: loads it with the session's profile and overrides, yields one item per claim, and
    runs (or reuses) its cells once, for the first of its items that runs (:meth:`spec_run`)."""

    loaded: LoadedSpec

    def collect(self) -> Iterator[ClaimItem]:
        from runner.load import SpecError, load_spec

        options = self.config.option
        try:
            self.loaded = load_spec(
                _shown_path(self.path, self.config),
                profile=options.pgdlab_profile,
                overrides=list(options.pgdlab_set),
            )
        except SpecError as error:
            raise self.CollectError(error.format()) from None
        claims: list[Any] = list(self.loaded.spec.claims)
        for index, claim in enumerate(claims):
            line = self.loaded.origins.get(("claims", index), (None, None, None))[1]
            item = ClaimItem.from_parent(self, name=claim.id, line=line)
            item.add_marker("pgdlab")
            yield item

    def spec_run(self) -> SpecRun:
        """The spec's run and verdicts, made (or found) once per session and spec hash."""
        from runner.plan import content_hash

        spec_hash = content_hash({"resolved": self.loaded.resolved})
        out_root = Path(self.config.rootpath, self.config.option.pgdlab_out)
        key = (str(out_root.absolute()), spec_hash)
        runs = self.config.stash[_RUNS]
        if key not in runs:
            runs[key] = run_or_reuse(
                self.loaded, out_root, jobs=self.config.option.pgdlab_jobs, note=self._note
            )
        return runs[key]

    def _note(self, text: str) -> None:
        """A line on the terminal now, through pytest's output capture (training takes long)."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        if reporter is None:
            return  # an xdist worker: the controller prints the summary
        with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
            reporter.write_line(f"pgdlab: {text}")


def _shown_path(path: Path, config: pytest.Config) -> str:
    """The spec's path as the user would type it (relative to where pytest started, when it
    lies under it): what error messages and the run's ``command`` show."""
    try:
        return str(path.relative_to(config.invocation_params.dir))
    except ValueError:
        return str(path)


# --- running -----------------------------------------------------------------------------------


@dataclass
class SpecRun:
    """A spec's run for this session: where it is, how it came about and its verdicts."""

    label: str  # "regression_1d [smoke]"
    run_dir: Path | None = None
    action: str = "trained"  # "trained", "resumed" or "reused" (judged from stored cells)
    informational: bool = False
    claims: dict[str, ClaimResult] = field(default_factory=dict)
    error: BaseException | None = None  # the run raised: the first item re-raises it
    raised: bool = False


def run_or_reuse(
    loaded: LoadedSpec, out_root: Path, *, jobs: int | None = None, note: Any = None
) -> SpecRun:
    """Judge a stored run of this spec and code (:func:`find_stored_run`) or run the spec into
    ``out_root``, under the spec's lock. An exception is kept in the result, for the items."""
    from runner.threads import apply_thread_defaults

    apply_thread_defaults()  # the runner's BLAS default (runner/threads.py), as runner run does
    informational = getattr(loaded.spec, "verdicts", "evidence") == "informational"
    result = SpecRun(label=f"{loaded.spec.name} [{loaded.profile}]", informational=informational)
    try:
        _run_or_reuse(loaded, out_root, jobs, note or (lambda text: None), result)
    except pytest.exit.Exception:
        raise  # interrupted (Ctrl-C while training): the session ends
    except Exception as error:  # noqa: BLE001 - every item of the spec reports it
        result.error = error
    return result


def _run_or_reuse(
    loaded: LoadedSpec, out_root: Path, jobs: int | None, note: Any, result: SpecRun
) -> None:
    from runner import store
    from runner.plan import content_hash

    spec_hash = content_hash({"resolved": loaded.resolved})
    version = store.code_version()
    out_root.mkdir(parents=True, exist_ok=True)
    with spec_lock(out_root, spec_hash):
        stored = find_stored_run(out_root, spec_hash, version)
        if stored is not None and is_complete(stored):
            result.run_dir, result.action = stored, "reused"
            result.claims = {claim.id: claim for claim in judge_stored(stored, loaded)}
            return
        from runner.data import data_sources
        from runner.engines import resolve_engine
        from runner.run import run_spec

        engine, workers = resolve_engine(None, jobs)
        if stored is not None:
            note(f"{result.label}: resuming the interrupted run {stored}")
        else:
            note(f"{result.label}: no stored run of this spec and code; training into {out_root}")
        outcome = run_spec(
            loaded,
            out_root=out_root,
            engine=engine,
            jobs=workers,
            resume=stored,
            data_sources=data_sources(loaded),
        )
    result.run_dir = outcome.run_dir
    result.action = "resumed" if stored is not None else "trained"
    result.claims = {claim.id: claim for claim in outcome.claims}
    if outcome.interrupted:
        pytest.exit(
            f"pgdlab: {result.label} interrupted while {outcome.interrupted_while}; the finished "
            f"cells are stored in {outcome.run_dir}, and the next pytest resumes it",
            returncode=pytest.ExitCode.INTERRUPTED,
        )


@contextlib.contextmanager
def spec_lock(out_root: Path, spec_hash: str) -> Iterator[None]:
    """An exclusive lock on ``OUT/.pgdlab-<hash16>.lock`` (``flock``): one process at a time
    looks for, trains or resumes a run of this spec; another waits, then finds it stored. Where
    ``fcntl`` is missing (Windows) there is no lock."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(out_root / f".pgdlab-{spec_hash[:16]}.lock", "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def find_stored_run(out_root: Path, spec_hash: str, version: str) -> Path | None:
    """The newest run under ``out_root`` of this spec hash and code version that is complete
    (:func:`is_complete`), else the newest interrupted one (to resume), else None. A run made
    by other code (another ``code_version``, or none: made before pgdlab recorded it) is never
    reused: its cells may differ from what this code would train."""
    from runner import store

    resumable = None
    for run_dir in reversed(store.run_dirs(out_root)):  # newest first
        try:
            manifest = store.read_json(run_dir / "manifest.json")
        except (OSError, ValueError):
            continue
        if manifest.get("spec_hash") != spec_hash or manifest.get("code_version") != version:
            continue
        if is_complete(run_dir, manifest):
            return run_dir
        if resumable is None and manifest.get("status") == "interrupted":
            resumable = run_dir
    return resumable


def is_complete(run_dir: Path, manifest: dict[str, Any] | None = None) -> bool:
    """The run finished and every cell has an outcome (finished, diverged or error)."""
    from runner import store

    manifest = manifest or store.read_json(run_dir / "manifest.json")
    cells = manifest.get("cells") or []
    return manifest.get("status") == "finished" and all(c.get("status") != "missing" for c in cells)


def judge_stored(run_dir: Path, loaded: LoadedSpec) -> list[ClaimResult]:
    """Judge the spec's claims on the stored cells, in memory: the run directory is not
    written (its ``claims.json`` came from the same spec and code)."""
    from runner import store
    from runner.kinds.claims import judge

    manifest = store.read_json(run_dir / "manifest.json")
    return judge(loaded.spec, store.load_cells(run_dir, manifest))


# --- items -------------------------------------------------------------------------------------


class ClaimDidNotHold(Exception):
    """A claim that does not hold; its text is the failure pytest shows."""


class ClaimErrored(Exception):
    """A claim judged ERROR, or a spec whose run failed."""


class ClaimItem(pytest.Item):
    """One claim of a spec: passes when it holds (:func:`check_claim`)."""

    def __init__(self, *, line: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.line = line

    @property
    def spec_file(self) -> SpecFile:
        assert isinstance(self.parent, SpecFile)
        return self.parent

    def runtest(self) -> None:
        run = self.spec_file.spec_run()
        if run.error is not None:
            if not run.raised:
                run.raised = True
                raise run.error  # the first item shows the traceback
            raise ClaimErrored(f"the run of {run.label} failed: {run.error}")
        claim = run.claims.get(self.name)
        self.user_properties += [
            ("spec", run.label),
            ("run", run.action),
            ("run_dir", str(run.run_dir)),
        ]
        if claim is None:
            raise ClaimErrored(f"{self.name}: not in the verdicts of {run.run_dir}")
        self.user_properties += claim_properties(claim)
        check_claim(claim, informational=run.informational, run_dir=run.run_dir)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        from runner.load import SpecError

        if isinstance(excinfo.value, ClaimDidNotHold | ClaimErrored):
            return str(excinfo.value)
        if isinstance(excinfo.value, SpecError):  # e.g. missing MNIST data, found at run time
            return excinfo.value.format()
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None if self.line is None else self.line - 1, f"claim {self.name}"


def claim_properties(claim: ClaimResult) -> list[tuple[str, str]]:
    """What JUnit's ``<properties>`` of the item carry, as in the run's own ``junit.xml``."""
    from runner.report.common import fmt

    properties = [("verdict", claim.verdict), ("holds", "true" if claim.holds else "false")]
    if claim.expected == "fail":
        properties.append(("expected", "fail"))
    if claim.margin is not None:
        properties.append(("margin", fmt(claim.margin)))
    if claim.noise is not None:
        properties.append(("noise", fmt(claim.noise)))
    properties.append(("fragile", "true" if claim.fragile else "false"))
    return properties


def check_claim(claim: ClaimResult, *, informational: bool, run_dir: Path | None = None) -> None:
    """Turn a verdict into a test outcome: return (passed), :func:`pytest.skip` or raise
    :class:`ClaimDidNotHold` / :class:`ClaimErrored` (failed)."""
    if claim.verdict == "ERROR":
        raise ClaimErrored(failure_text(claim, run_dir))
    if claim.verdict == "INCONCLUSIVE":
        _skip(f"INCONCLUSIVE: {claim.reason or claim.observed_sentence}")
    if claim.holds:
        return
    if informational:
        _skip(
            f"smoke: not evidence (verdicts: informational): {claim.verdict}: "
            f"{claim.observed_sentence}"
        )
    raise ClaimDidNotHold(failure_text(claim, run_dir))


def _skip(reason: str) -> None:
    """:func:`pytest.skip`, reported at the claim's line in the spec rather than at this
    module's (``-rs`` shows ``spec.yaml:12: INCONCLUSIVE: ...``), as a skip mark is."""
    try:
        raise pytest.skip.Exception(reason, _use_item_location=True)
    except TypeError:  # pragma: no cover - a pytest without the (private) keyword
        pytest.skip(reason)


def failure_text(claim: ClaimResult, run_dir: Path | None = None) -> str:
    """The claim as a failure reads: headline, the paper's statement, the expected and observed
    sentences, the margin and the evidence rows, and where the report is."""
    from runner.report.common import control_note, fmt, margin_text

    if claim.verdict == "ERROR":
        headline = f"{claim.id} ({claim.kind}) errored: {claim.reason or claim.observed_sentence}"
    elif claim.expected == "fail":
        headline = f"{claim.id} ({claim.kind}): negative control expected to FAIL, but it PASSED"
    else:
        headline = f"{claim.id} ({claim.kind}): {claim.verdict}, expected PASS"
    lines = [headline]
    for label, text in (
        ("paper", claim.statement),
        ("expected", claim.expected_sentence),
        ("observed", claim.observed_sentence),
        ("margin", margin_text(claim) if claim.margin is not None else None),
        ("fragile", claim.fragile_reason if claim.fragile else None),
        ("control", control_note(claim) or None),
    ):
        if text:
            lines.append(f"{label + ':':10}{text}")
    if claim.evidence:
        lines += ["evidence:", *_evidence_table(claim, fmt)]
    if run_dir is not None:
        lines.append(f"report:   {run_dir / 'report.html'}")
    return "\n".join(lines)


def _evidence_table(claim: ClaimResult, fmt: Any) -> list[str]:
    """The evidence rows as aligned text: label, the values, whether the row passes, its cell."""
    rows = claim.evidence[:MAX_EVIDENCE_ROWS]
    keys = list(dict.fromkeys(key for row in rows for key in row.values))
    header = ["row", *keys, "passes", "cell"]
    table = [header]
    for row in rows:
        passes = "" if row.passed is None else ("yes" if row.passed else "no")
        values = [fmt(row.values.get(key), 40) for key in keys]
        table.append([row.label, *values, passes, row.cell_id or ""])
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    text = [
        "  " + "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
        for line in table
    ]
    if len(claim.evidence) > MAX_EVIDENCE_ROWS:
        text.append(f"  … {len(claim.evidence)} rows in all (report.html has every one)")
    return text


# --- the terminal summary ----------------------------------------------------------------------


class RunSummary:
    """Per spec, whether its run was trained, resumed or reused, from the items' user properties
    (so also from xdist workers, whose reports carry them to the controller); printed as the
    ``pgdlab`` section of the terminal summary."""

    WORDS = {
        "reused": "reused {} (judged from its stored cells; nothing trained)",
        "trained": "trained {}",
        "resumed": "resumed {}",
    }

    def __init__(self) -> None:
        self.runs: dict[tuple[str, str, str], None] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        properties = dict(report.user_properties)
        if report.when == "call" and "run_dir" in properties:
            key = (str(properties["spec"]), str(properties["run"]), str(properties["run_dir"]))
            self.runs[key] = None

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.runs:
            return
        terminalreporter.section("pgdlab")
        for spec, action, run_dir in sorted(self.runs):
            text = self.WORDS.get(action, action + " {}").format(run_dir)
            terminalreporter.write_line(f"{spec}: {text}")
