"""pgdlab from Python: run a spec, load a finished run, look at its claims, metrics and figures.

    from runner import api

    run = api.run("specs/regression_1d.yaml", profile="smoke", set={"train.steps": 60}, jobs=1)
    run                                   # in Jupyter: the claim table
    run.verdicts                          # {"gn_uniform_rate": "PASS", ...}
    table = run.metrics("fft_error", where={"optimizer": "gd"})   # tidy: a pandas DataFrame
    run.figure(run.figure_names()[0])     # a matplotlib Figure of the report
    api.load("reports/latest")            # a finished run, from its directory

:func:`run` runs what ``runner run`` runs (the same loader, engines and run directory: a run made
here is a run like any other, ``runner judge`` / ``runner report`` / ``runner export`` read it);
:func:`load` reads a run directory; :func:`judge` judges a stored run again, as ``runner judge``.
The user guide is ``docs/python-api.md``.

Mistakes raise, never print: a spec that does not validate raises
:class:`~runner.load.SpecError` (its message is the ``file:line:col  key  message`` lines
``runner`` prints), a path that is not a run directory :class:`FileNotFoundError` or
:class:`ValueError`, an unknown metric or ``where`` key :class:`~runner.tidy.TableError` (a
ValueError); each message names the thing and what would be valid.
"""

from __future__ import annotations

import html
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.load import SpecError
from runner.results import CellResult, ClaimResult, RunView
from runner.tidy import MetricTable, TableError, metric_names, metric_table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from runner.load import LoadedSpec

__all__ = ["Run", "SpecError", "TableError", "judge", "load", "run"]

#: the engines ``runner run --engine`` takes
ENGINES = ("inline", "local", "submitit", "ray")


class Run:
    """A run directory in memory: what ran (``manifest``, ``spec``), what it measured
    (``cells``) and what was judged (``claims``). Made by :func:`run`, :func:`load` and
    :func:`judge`; it reads the directory once and does not change it."""

    def __init__(self, run_dir: Path, loaded: LoadedSpec):
        from runner.run import load_view

        view = load_view(run_dir, loaded)
        self.dir: Path = run_dir
        #: ``manifest.json``: run id, spec, profile, overrides, the command that reproduces the
        #: run, engine, and one entry per cell with its status and timings
        self.manifest: dict[str, Any] = view.manifest
        #: the validated spec (:class:`runner.spec.Spec`) with the run's profile and overrides
        self.spec: Any = view.spec
        #: one :class:`~runner.results.CellResult` per cell of the manifest
        self.cells: list[CellResult] = view.cells
        #: one :class:`~runner.results.ClaimResult` per claim (empty before judging)
        self.claims: list[ClaimResult] = view.claims
        #: ``env.json``: git commit, package versions, devices, threads
        self.env: dict[str, Any] = view.env
        #: the ``robustness`` section of ``claims.json`` (None: not checked)
        self.robustness: dict[str, Any] | None = view.robustness
        self._view = view

    # --- claims ---------------------------------------------------------------------------------

    @property
    def verdicts(self) -> dict[str, str]:
        """Claim id -> verdict (``PASS``, ``FAIL``, ``INCONCLUSIVE``, ``ERROR``). A negative
        control (``expected: fail``) holds when its verdict is FAIL: see each claim's ``holds``."""
        return {claim.id: claim.verdict for claim in self.claims}

    def claim(self, claim_id: str) -> ClaimResult:
        """The judged claim ``claim_id`` (KeyError naming the claims there are)."""
        for claim in self.claims:
            if claim.id == claim_id:
                return claim
        raise KeyError(
            f"no claim {claim_id!r} in {self.dir.name}; claims: "
            f"{', '.join(c.id for c in self.claims) or 'none (not judged)'}"
        )

    # --- metrics --------------------------------------------------------------------------------

    def metric_names(self) -> list[str]:
        """The names :meth:`metrics` takes: the evaluation metrics (``fft_error``, ``mse``...),
        then the per-step training records (``loss``, ``train/lm/damping``...)."""
        return metric_names(self.cells)

    def metrics(
        self,
        names: str | Iterable[str] | None = None,
        where: Mapping[str, Any] | None = None,
    ) -> Any:
        """The metrics as a tidy table, one row per cell, metric, step and group.

        Columns: ``cell``, ``optimizer``, one per sweep key (``model.alpha``), ``seed``,
        ``step``, ``metric``, ``group`` (the group label, e.g. the FFT mode ``"3"``; ``""`` for
        an ungrouped metric), ``value`` (float). A ``pandas.DataFrame`` when pandas is
        installed, else a list of dicts with the same keys.

        ``names``: a metric name or several (:meth:`metric_names`); None: every evaluation
        metric (the per-step records are many more rows: name them, e.g. ``"loss"``).
        ``where``: the cells to keep, written as a claim's ``where``
        (``{"optimizer": "gd"}``, ``{"model.alpha": {"in": [2, 4]}}``). An unknown name or key
        raises :class:`~runner.tidy.TableError` listing the valid ones.
        """
        return _as_frame(metric_table(self.cells, names, where))

    # --- figures --------------------------------------------------------------------------------

    def figure_names(self) -> list[str]:
        """The names of the report's figures (the spec's overview figures and the claims'),
        for :meth:`figure`."""
        from runner.report.export import figure_names

        return figure_names(self.view())

    def figure(self, name: str, *, for_print: bool = False) -> Figure:
        """The report's figure ``name`` (:meth:`figure_names`) as a matplotlib Figure: shown
        in Jupyter, saved with ``fig.savefig("fig3.pdf")``. ``for_print``: sized and labelled
        for a paper, as ``runner report RUN --figures DIR`` writes them."""
        from runner.report.export import draw_figure

        return draw_figure(self.view(), name, for_print=for_print)

    def view(self) -> RunView:
        """What the report is made of (:class:`~runner.results.RunView`)."""
        return self._view

    # --- display --------------------------------------------------------------------------------

    def _headline(self) -> str:
        from runner.report.common import claim_counts

        counts = claim_counts(self.claims)
        profile = self.manifest.get("profile") or "no profile"
        judged = (
            f"{len(self.claims)} claims, {counts['holds']} hold"
            if self.claims
            else "claims not judged"
        )
        return (
            f"{self.manifest.get('spec_name', '?')} [{profile}] {self.manifest.get('status')}: "
            f"{len(self.cells)} cells, {judged}"
        )

    def __repr__(self) -> str:
        return f"<Run {self._headline()}; {self.dir}>"

    def _repr_html_(self) -> str:
        """The claim table for Jupyter: claim, verdict, whether it holds, margin, statement."""
        from runner.report.common import holds_text, margin_text

        escape = html.escape
        rows = []
        for claim in self.claims:
            verdict = claim.verdict + (" (fragile)" if claim.fragile else "")
            sentence = claim.statement or claim.expected_sentence
            if claim.expected == "fail":
                sentence = f"[negative control] {sentence}"
            rows.append(
                "<tr>"
                f"<td><code>{escape(claim.id)}</code></td>"
                f"<td>{escape(verdict)}</td>"
                f"<td>{escape(holds_text(claim))}</td>"
                f'<td style="text-align:right">{escape(margin_text(claim))}</td>'
                f'<td style="text-align:left">{escape(sentence)}</td>'
                "</tr>"
            )
        note = ""
        if getattr(self.spec, "verdicts", "evidence") == "informational":
            note = "<p><em>smoke: not evidence (verdicts: informational)</em></p>"
        head = (
            "<tr><th>claim</th><th>verdict</th><th>holds</th><th>margin</th><th>statement</th></tr>"
        )
        table = f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"
        return (
            f'<div class="pgdlab-run"><p><strong>{escape(self._headline())}</strong><br>'
            f"<code>{escape(str(self.dir))}</code></p>{note}{table if rows else ''}</div>"
        )


def _as_frame(table: MetricTable) -> Any:
    """A pandas DataFrame of ``table`` when pandas is installed, else its records."""
    try:
        import pandas
    except ImportError:
        return table.records()
    return pandas.DataFrame.from_records(table.rows, columns=table.columns)


# --- run, load, judge ---------------------------------------------------------------------------


def run(
    spec: str | Path,
    profile: str | None = "default",
    set: Mapping[str, Any] | None = None,  # named as --set (shadows the builtin in here only)
    jobs: int | None = None,
    out: str | Path = "reports",
    engine: str | None = None,
    only: Sequence[str] | None = None,
) -> Run:
    """Run a spec as ``runner run`` does and return the finished :class:`Run`.

    ``profile``: a profile of the spec (``smoke``, ``default``...; None: the base spec).
    ``set``: overrides by dotted key, ``{"train.steps": 50, "model.hidden": [16, 16]}``, as
    ``--set train.steps=50`` (a value is a Python value: a string stays a string).
    ``jobs``, ``engine``: as ``--jobs`` / ``--engine`` (default: engine ``local`` with one
    worker per core, ``inline`` with ``jobs=1``). ``out``: the run directory goes under it.
    ``only``: optimizer names to run (``--only``).

    The cells' progress is written to stderr as on the command line. Applies the runner's BLAS
    thread default first (:func:`runner.threads.apply_thread_defaults`), as ``runner`` does.
    Interrupted (Ctrl-C, or the kernel's stop button), the finished cells are kept and judged, a
    warning says how to resume, and the run is returned.
    """
    from runner.threads import apply_thread_defaults

    apply_thread_defaults()  # numpy is loaded: this caps OpenBLAS through threadpoolctl
    from runner.data import data_sources
    from runner.engines import check_options, resolve_engine
    from runner.load import load_spec
    from runner.plan import plan
    from runner.run import run_spec, select_cells

    if jobs is not None and (isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1):
        raise ValueError(f"jobs must be a whole number of at least 1, got {jobs!r}")
    if engine is not None and engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; engines: {', '.join(ENGINES)}")
    loaded = load_spec(Path(spec), profile=profile, overrides=overrides_of(set))
    wanted = [only] if isinstance(only, str) else list(only) if only else None
    if wanted:
        unknown = [name for name in wanted if name not in loaded.spec.optimizers]
        if unknown:
            raise ValueError(
                f"only: unknown optimizer(s) {unknown}; the spec has {list(loaded.spec.optimizers)}"
            )
    if not select_cells(plan(loaded.spec, loaded.resolved), wanted):
        raise ValueError(f"{spec}: nothing to run (no cell selected)")
    sources = data_sources(loaded)  # a missing data file: SpecError before any run directory
    engine, jobs = resolve_engine(engine, jobs)
    check_options(engine, {})  # EngineUnavailable: the engine's package is not installed
    outcome = run_spec(
        loaded,
        out_root=Path(out),
        engine=engine,
        jobs=jobs,
        only=wanted,
        data_sources=sources,
    )
    if outcome.interrupted:
        warnings.warn(
            f"interrupted ({outcome.interrupted_while}): finished cells are kept in "
            f"{outcome.run_dir}; continue with: runner run {spec} --resume {outcome.run_dir}",
            stacklevel=2,
        )
    return Run(outcome.run_dir, loaded)


def load(run_dir: str | Path) -> Run:
    """The run in ``run_dir`` (a directory ``runner run`` made, or ``reports/latest``)."""
    directory = _run_dir(run_dir)
    from runner.run import load_run_spec

    return Run(directory, load_run_spec(directory))


def judge(run: Run | str | Path, spec: str | Path | None = None) -> Run:
    """Judge a stored run again, as ``runner judge`` (rewrites ``claims.json`` and the report)
    and return it. ``spec``: judge with this spec's claims and observables (after editing a
    claim); the cells are those stored. A warning names the cells this spec would train
    differently (their stored results may not answer it)."""
    directory = run.dir if isinstance(run, Run) else _run_dir(run)
    from runner.run import load_run_spec, rejudge

    spec_path = None if spec is None else Path(spec)
    _, changed = rejudge(directory, spec_path)
    if changed:
        warnings.warn(
            f"{len(changed)} cell(s) would be different under this spec (e.g. {changed[0]}); "
            "judged with the stored results",
            stacklevel=2,
        )
    return Run(directory, load_run_spec(directory, spec_path))


def _run_dir(path: str | Path) -> Path:
    """``path`` as a run directory; ``reports/latest`` (a link, or a file naming the run where
    links fail: :func:`runner.store.point_latest`) as the run it points at."""
    directory = Path(path)
    if not directory.exists():
        raise FileNotFoundError(f"{directory}: no such run directory")
    if directory.is_symlink():
        directory = directory.resolve()
    elif directory.is_file() and directory.name == "latest":
        directory = directory.parent / directory.read_text(encoding="utf-8").strip()
    if not (directory / "manifest.json").is_file():
        raise ValueError(f"{directory}: not a run directory (no manifest.json)")
    return directory


def overrides_of(values: Mapping[str, Any] | None) -> list[str]:
    """``{"train.steps": 50}`` as the ``--set`` overrides ``["train.steps=50"]``: each value
    written as YAML on one line (so that the manifest's command reproduces the run)."""
    if values is None:
        return []
    if not isinstance(values, Mapping):
        raise TypeError(
            f"set: expected a mapping of dotted keys to values, e.g. {{'train.steps': 50}}, "
            f"got {type(values).__name__}"
        )
    return [f"{key}={_yaml_value(key, value)}" for key, value in values.items()]


def _yaml_value(key: Any, value: Any) -> str:
    import yaml

    if not isinstance(key, str) or not key or "=" in key:
        raise ValueError(f"set: {key!r} is not a dotted key (e.g. 'train.steps')")
    try:
        text = yaml.safe_dump(_plain(value), default_flow_style=True, width=math.inf)
    except yaml.YAMLError:
        raise TypeError(
            f"set: {key}: {type(value).__name__} is not a YAML value (use numbers, strings, "
            "booleans, None, lists and dicts of them)"
        ) from None
    return text.removesuffix("\n...\n").strip()


def _plain(value: Any) -> Any:
    """numpy scalars and arrays, tuples and Paths as plain Python values."""
    if hasattr(value, "tolist") and callable(value.tolist):
        return value.tolist()
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
