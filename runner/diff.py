"""Two runs compared, or two judgements of one run: what a researcher asks after changing a
claim, a profile, a commit or a machine.

* :func:`claim_changes`: per claim (matched by id) the verdict and margin before and after and
  what changed (``FAIL -> PASS``, the margin moved, added, removed, same). ``runner judge``
  prints these against the ``claims.json`` it replaced (kept as :data:`PREVIOUS_CLAIMS`), and
  each report shows them against the previous run of its spec (:mod:`runner.report.index`).
* :func:`diff_runs`: ``runner diff RUN_A RUN_B``: the claims as above; the cells matched by
  optimizer, sweep point and seed (not by cell id or hash, so that two profiles or two commits
  compare) with, per metric array of ``metrics.npz``, whether it is identical and otherwise the
  largest absolute and relative difference over the steps and groups both runs have; the
  resolved specs key path by key path (``train.steps: 120 -> 500``); and where the runs ran
  (profile, commit, machine, packages).

A verdict *changed* when the verdict or whether the claim holds differs, or when the claim
exists in one run only; ``runner diff`` exits 1 then (0 otherwise), so it can gate a CI job.
The relative difference of two numbers is ``|a - b| / max(|a|, |b|)`` (symmetric, at most 2,
0 when both are 0); a value finite in one run and not in the other is counted apart.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from runner import store
from runner.report.common import as_float
from runner.results import CellResult, ClaimResult, jsonable, same_value
from runner.text import count, number, value

#: ``runner judge`` keeps the ``claims.json`` it replaces under this name, beside it.
PREVIOUS_CLAIMS = "claims.previous.json"

ClaimChangeKind = Literal["verdict", "margin", "added", "removed", "same"]

#: env.json entries compared under "run" (machine and packages; threads and paths are not).
ENV_KEYS = ("git", "python", "platform", "machine", "jax_devices", "packages")

TEXT_CELLS = 20  # differing cells listed by the text form (the JSON lists every one)


class _Absent:
    """A key that one side does not have (distinct from a ``null`` value)."""

    def __repr__(self) -> str:
        return "(absent)"


ABSENT = _Absent()


# --- claims ------------------------------------------------------------------------------------


@dataclass
class ClaimChange:
    """One claim in two judgements: ``a`` before (or run A), ``b`` after (or run B)."""

    id: str
    change: ClaimChangeKind
    verdict_a: str | None = None
    verdict_b: str | None = None
    margin_a: float | None = None
    margin_b: float | None = None
    holds_a: bool | None = None
    holds_b: bool | None = None

    @property
    def changed(self) -> bool:
        """The verdict changed (or the claim exists on one side only): what fails a gate."""
        return self.change in ("verdict", "added", "removed")

    def side(self, which: Literal["a", "b"]) -> str:
        """``PASS 0.445`` (verdict and margin), ``-`` when the claim is not on that side."""
        verdict = self.verdict_a if which == "a" else self.verdict_b
        margin = self.margin_a if which == "a" else self.margin_b
        if verdict is None:
            return "-"
        return verdict if margin is None else f"{verdict} {number(margin)}"

    def text(self) -> str:
        """What changed: ``FAIL -> PASS (margin -0.432 -> 0.12)``, ``margin 0.445 -> 0.46``,
        ``added (PASS, margin 0.1)``, ``removed (was FAIL)``, ``same``."""
        if self.change == "added":
            return f"added ({self.side('b').replace(' ', ', margin ', 1)})"
        if self.change == "removed":
            return f"removed (was {self.side('a').replace(' ', ', margin ', 1)})"
        margins = f"margin {number(self.margin_a)} -> {number(self.margin_b)}"
        if self.change == "margin":
            return margins
        if self.change == "same":
            return "same"
        if self.verdict_a == self.verdict_b:  # same verdict, but whether it holds changed
            words = {True: "holds", False: "does not hold", None: "n/a"}
            text = f"{self.verdict_a}: {words[self.holds_a]} -> {words[self.holds_b]}"
        else:
            text = f"{self.verdict_a} -> {self.verdict_b}"
        return text + (f" ({margins})" if _margin_moved(self.margin_a, self.margin_b) else "")

    def to_json(self) -> dict[str, Any]:
        return jsonable({**self.__dict__, "changed": self.changed, "text": self.text()})


def _margin(claim: ClaimResult) -> float | None:
    return None if claim.margin is None else as_float(claim.margin)


def _margin_moved(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return (a is None) != (b is None)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) != math.isnan(b)
    return not (a == b or same_value(a, b))


def claim_changes(before: list[ClaimResult], after: list[ClaimResult]) -> list[ClaimChange]:
    """Each claim of ``before`` and ``after`` matched by id, in ``before``'s order and then the
    claims only ``after`` has."""
    old = {claim.id: claim for claim in before}
    new = {claim.id: claim for claim in after}
    changes = []
    for claim_id in [*old, *(i for i in new if i not in old)]:
        a, b = old.get(claim_id), new.get(claim_id)
        change = ClaimChange(id=claim_id, change="same")
        if a is not None:
            change.verdict_a, change.margin_a, change.holds_a = a.verdict, _margin(a), a.holds
        if b is not None:
            change.verdict_b, change.margin_b, change.holds_b = b.verdict, _margin(b), b.holds
        if a is None:
            change.change = "added"
        elif b is None:
            change.change = "removed"
        elif a.verdict != b.verdict or a.holds != b.holds:
            change.change = "verdict"
        elif _margin_moved(change.margin_a, change.margin_b):
            change.change = "margin"
        changes.append(change)
    return changes


def changes_line(changes: list[ClaimChange]) -> str:
    """The verdict changes on one line (``gd_bias: PASS -> FAIL (margin ...); x: added ...``),
    or ``no verdict changed`` (with the number of margins that moved, if any)."""
    changed = [c for c in changes if c.changed]
    moved = sum(c.change == "margin" for c in changes)
    if not changed:
        return "no verdict changed" + (f" ({count(moved, 'margin')} moved)" if moved else "")
    return "; ".join(f"{c.id}: {c.text()}" for c in changed)


def judged_again_lines(previous: list[ClaimResult] | None, claims: list[ClaimResult]) -> list[str]:
    """What ``runner judge`` prints after judging: each verdict that changed against the
    ``claims.json`` it replaced (``  gd_bias: PASS -> FAIL (margin 1.81 -> -0.5)``), or one line
    saying that none did (or that there was nothing to compare with)."""
    if previous is None:
        return ["verdict changes: none to show (the run had no claims.json before)"]
    changes = claim_changes(previous, claims)
    changed = [c for c in changes if c.changed]
    since = f"since the previous judgement ({PREVIOUS_CLAIMS})"
    if not changed:
        return [f"{changes_line(changes)} {since}"]
    head = f"{count(len(changed), 'verdict')} changed {since}:"
    return [head, *(f"  {c.id}: {c.text()}" for c in changed)]


def read_previous_claims(run_dir: Path) -> list[ClaimResult] | None:
    """The claims ``runner judge`` replaced (:data:`PREVIOUS_CLAIMS`); None if it never did."""
    path = Path(run_dir) / PREVIOUS_CLAIMS
    if not path.exists():
        return None
    return [ClaimResult.from_dict(c) for c in store.read_json(path)["claims"]]


def keep_previous_claims(run_dir: Path) -> bool:
    """Copy ``claims.json`` to :data:`PREVIOUS_CLAIMS` before a new judgement replaces it (one
    generation: the judgement before the latest); False when the run had none yet."""
    current = Path(run_dir) / "claims.json"
    if not current.exists():
        return False
    store.atomic_write_bytes(Path(run_dir) / PREVIOUS_CLAIMS, current.read_bytes())
    return True


# --- cells -------------------------------------------------------------------------------------


@dataclass
class MetricDiff:
    """One array of ``metrics.npz`` (``eval/<metric>``, ``train/<record>``) in two cells.

    ``state``: ``identical`` (same steps, same groups, the same values bit for bit), ``differs``
    (``max_abs`` / ``max_rel`` over the steps and groups both have, ``notes`` say what else
    differs: the step grid, the groups, values finite on one side only), ``no common steps``,
    ``only in A`` or ``only in B``."""

    name: str
    state: Literal["identical", "differs", "no common steps", "only in A", "only in B"]
    max_abs: float | None = None
    max_rel: float | None = None
    compared: int = 0  # values compared (common steps x common groups)
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        if self.state != "differs":
            return f"{self.name}: {self.state}" + "".join(f"; {n}" for n in self.notes)
        size = f"max abs {number(self.max_abs)}, max rel {number(self.max_rel)}"
        return f"{self.name}: {size}" + "".join(f"; {n}" for n in self.notes)


@dataclass
class CellDiff:
    """A cell matched across the runs by optimizer, sweep point and seed."""

    optimizer: str
    seed: int
    point: dict[str, Any]
    cell_a: str | None = None
    cell_b: str | None = None
    status_a: str | None = None
    status_b: str | None = None
    same_parameters: bool | None = None  # the cells' content hashes agree
    metrics: list[MetricDiff] = field(default_factory=list)

    @property
    def label(self) -> str:
        point = " ".join(f"{k}={value(v, None)}" for k, v in self.point.items())
        return f"{self.optimizer} seed {self.seed}" + (f" {point}" if point else "")

    @property
    def state(self) -> str:
        if self.cell_b is None:
            return "only in A"
        if self.cell_a is None:
            return "only in B"
        same = self.status_a == self.status_b
        return (
            "identical" if same and all(m.state == "identical" for m in self.metrics) else "differs"
        )

    def text(self) -> list[str]:
        if self.state in ("only in A", "only in B"):
            return [f"{self.label}: {self.state} ({self.cell_a or self.cell_b})"]
        parameters = {True: " (same parameters)", False: " (parameters differ)", None: ""}
        head = f"{self.label}{parameters[self.same_parameters]}"
        if self.status_a != self.status_b:
            head += f": status {self.status_a} -> {self.status_b}"
        return [head] + [f"    {m.text()}" for m in self.metrics if m.state != "identical"]

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "metrics"}
        data.update(label=self.label, state=self.state)
        data["metrics"] = [m.__dict__ for m in self.metrics]
        return jsonable(data)


def _point_key(point: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """A sweep point as a hashable key that reads ``2`` and ``2.0`` alike (as ``where`` does)."""

    def canonical(v: Any) -> str:
        if isinstance(v, (dict, list)):
            return json.dumps(jsonable(v), sort_keys=True)
        return value(v, None)

    return tuple(sorted((str(k), canonical(v)) for k, v in point.items()))


def _cell_key(cell: CellResult) -> tuple[Any, ...]:
    return (cell.optimizer, _point_key(cell.point), cell.seed)


def _arrays(cell: CellResult) -> dict[str, str]:
    """``metrics.npz`` names -> the :meth:`CellResult.series` name that reads them."""
    names = {f"eval/{name}": name for name in cell.metrics}
    names.update({f"train/{name}": f"train/{name}" for name in cell.records if name != "loss"})
    if "loss" in cell.records:
        names["train/loss"] = "loss"
    return names


def _grid(steps: Any) -> str:
    steps = list(steps)
    return f"{len(steps)} ({number(steps[0])}..{number(steps[-1])})" if steps else "0"


def compare_metric(name: str, series: str, a: CellResult, b: CellResult) -> MetricDiff:
    """One array of two cells: identical, or by how much it differs where both have values."""
    import numpy as np

    sa, sb = a.series(series), b.series(series)
    same_grid = np.array_equal(sa.steps, sb.steps) and sa.labels == sb.labels
    if same_grid and np.array_equal(sa.values, sb.values, equal_nan=True):
        return MetricDiff(name, "identical", max_abs=0.0, max_rel=0.0, compared=sa.values.size)
    notes = []
    if not np.array_equal(sa.steps, sb.steps):
        notes.append(f"steps differ: A {_grid(sa.steps)}, B {_grid(sb.steps)}")
    if sa.labels != sb.labels:
        notes.append(f"groups differ: A {len(sa.labels)}, B {len(sb.labels)}")
    _, rows_a, rows_b = np.intersect1d(sa.steps, sb.steps, return_indices=True)
    labels = [label for label in sa.labels if label in sb.labels]
    cols_a = [sa.labels.index(label) for label in labels]
    cols_b = [sb.labels.index(label) for label in labels]
    va = sa.values[np.ix_(rows_a, cols_a)]
    vb = sb.values[np.ix_(rows_b, cols_b)]
    if va.size == 0:
        return MetricDiff(name, "no common steps", compared=0, notes=notes)
    finite = np.isfinite(va) & np.isfinite(vb)
    unlike = ~finite & ~((va == vb) | (np.isnan(va) & np.isnan(vb)))
    if unlike.any():
        notes.append(f"{count(int(unlike.sum()), 'value')} finite in one run only")
    diff = np.abs(va[finite] - vb[finite])
    scale = np.maximum(np.abs(va[finite]), np.abs(vb[finite]))
    rel = np.divide(diff, scale, out=np.zeros_like(diff), where=scale > 0)
    return MetricDiff(
        name,
        "differs",
        max_abs=float(diff.max()) if diff.size else None,
        max_rel=float(rel.max()) if rel.size else None,
        compared=int(va.size),
        notes=notes,
    )


def compare_cells(
    cells_a: list[CellResult],
    cells_b: list[CellResult],
    hashes: tuple[dict[str, str], dict[str, str]] = ({}, {}),
) -> list[CellDiff]:
    """The cells of two runs matched by optimizer, sweep point and seed (A's order, then the
    cells only B has); ``hashes``: each run's cell id -> content hash (from its manifest)."""
    by_key_b = {_cell_key(cell): cell for cell in cells_b}
    keys_a = {_cell_key(cell) for cell in cells_a}
    pairs = [(cell, by_key_b.get(_cell_key(cell))) for cell in cells_a]
    pairs += [(None, cell) for cell in cells_b if _cell_key(cell) not in keys_a]
    out = []
    for a, b in pairs:
        either = a or b
        assert either is not None
        diff = CellDiff(optimizer=either.optimizer, seed=either.seed, point=dict(either.point))
        if a is not None:
            diff.cell_a, diff.status_a = a.cell_id, a.status
        if b is not None:
            diff.cell_b, diff.status_b = b.cell_id, b.status
        if a is not None and b is not None:
            hash_a, hash_b = hashes[0].get(a.cell_id), hashes[1].get(b.cell_id)
            if hash_a and hash_b:
                diff.same_parameters = hash_a == hash_b
            names_a, names_b = _arrays(a), _arrays(b)
            if not names_a or not names_b:  # a cell that never finished: its status says it
                out.append(diff)
                continue
            for name in [*names_a, *(n for n in names_b if n not in names_a)]:
                if name not in names_b:
                    diff.metrics.append(MetricDiff(name, "only in A"))
                elif name not in names_a:
                    diff.metrics.append(MetricDiff(name, "only in B"))
                else:
                    diff.metrics.append(compare_metric(name, names_a[name], a, b))
        out.append(diff)
    return out


# --- specs and where the runs ran --------------------------------------------------------------


@dataclass
class ValueChange:
    """A key path whose value differs: ``train.steps: 120 -> 500``."""

    path: str
    a: Any
    b: Any

    def text(self) -> str:
        return f"{self.path}: {_show(self.a)} -> {_show(self.b)}"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path}
        if self.a is not ABSENT:
            data["a"] = jsonable(self.a)
        if self.b is not ABSENT:
            data["b"] = jsonable(self.b)
        return data


def _show(v: Any, limit: int = 80) -> str:
    if v is ABSENT:
        return "(absent)"
    if v is None:
        return "null"
    text = json.dumps(jsonable(v)) if isinstance(v, (dict, list)) else value(v, None)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _keyed_by_id(items: list[Any]) -> dict[str, Any] | None:
    """A list of mappings that each have a distinct ``id`` (the claims) keyed by it."""
    ids = [item.get("id") if isinstance(item, dict) else None for item in items]
    if items and all(isinstance(i, str) for i in ids) and len(set(ids)) == len(ids):
        return dict(zip(ids, items, strict=True))
    return None


def value_changes(a: Any, b: Any, path: str = "") -> list[ValueChange]:
    """Every key path whose value differs between two plain (JSON / YAML) trees. Mappings are
    compared key by key (``train.steps``), lists of mappings with ids (``claims``) id by id
    (``claims[gd_bias].value``), other lists of mappings of one length item by item
    (``claims[3].value``), any other value (lists of numbers or names included) as a whole."""
    if isinstance(a, dict) and isinstance(b, dict):
        return _keywise(a, b, lambda key: f"{path}.{key}" if path else str(key))
    if isinstance(a, list) and isinstance(b, list):
        by_id_a, by_id_b = _keyed_by_id(a), _keyed_by_id(b)
        if by_id_a is not None and by_id_b is not None:
            return _keywise(by_id_a, by_id_b, lambda key: f"{path}[{key}]")
        if len(a) == len(b) and all(isinstance(x, dict) for x in [*a, *b]):
            return _keywise(dict(enumerate(a)), dict(enumerate(b)), lambda i: f"{path}[{i}]")
    if a is ABSENT or b is ABSENT or not _same(a, b):
        return [ValueChange(path, a, b)]
    return []


def _keywise(a: dict, b: dict, path_of: Any) -> list[ValueChange]:
    changes = []
    for key in [*a, *(k for k in b if k not in a)]:
        changes += value_changes(a.get(key, ABSENT), b.get(key, ABSENT), path_of(key))
    return changes


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b or (math.isnan(a) and math.isnan(b))
    return bool(a == b)


def _read_yaml(path: Path) -> Any:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None


# --- two runs ----------------------------------------------------------------------------------


@dataclass
class RunInfo:
    """One side of a diff, as its header line names it."""

    path: str
    run_id: str
    spec_name: str | None
    profile: str | None
    created: str | None
    commit: str | None

    def text(self) -> str:
        commit = (self.commit or "unknown")[:12]
        return (
            f"{self.run_id}  ({self.spec_name}, profile {self.profile}, {self.created}, "
            f"commit {commit})"
        )


@dataclass
class RunDiff:
    """``runner diff RUN_A RUN_B``: see the module docstring. ``cells`` is None when the cells
    were not compared (``--claims-only``)."""

    a: RunInfo
    b: RunInfo
    claims: list[ClaimChange]
    cells: list[CellDiff] | None
    spec: list[ValueChange]
    run: list[ValueChange]

    @property
    def verdicts_changed(self) -> bool:
        return any(change.changed for change in self.claims)

    def to_json(self, claims_only: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "a": self.a.__dict__,
            "b": self.b.__dict__,
            "verdicts_changed": self.verdicts_changed,
            "claims": [c.to_json() for c in self.claims],
        }
        if not claims_only:
            data["cells"] = None if self.cells is None else [c.to_json() for c in self.cells]
            data["spec"] = [c.to_json() for c in self.spec]
            data["run"] = [c.to_json() for c in self.run]
        return data

    def text(self, claims_only: bool = False) -> str:
        lines = [f"A  {self.a.text()}", f"B  {self.b.text()}", ""]
        lines += _claims_table(self.claims)
        if claims_only:
            return "\n".join(lines) + "\n"
        if self.cells is not None:
            lines += ["", *_cells_text(self.cells)]
        lines += ["", f"spec (spec.resolved.yaml): {_differences(self.spec)}"]
        lines += [f"  {c.text()}" for c in self.spec]
        lines += [f"run: {_differences(self.run)}"]
        lines += [f"  {c.text()}" for c in self.run]
        return "\n".join(lines) + "\n"


def _differences(changes: list[ValueChange]) -> str:
    return count(len(changes), "difference") if changes else "no difference"


def _claims_table(changes: list[ClaimChange]) -> list[str]:
    changed = sum(c.changed for c in changes)
    moved = sum(c.change == "margin" for c in changes)
    head = f"claims: {changed} of {count(len(changes), 'claim')} changed verdict"
    head += f", {count(moved, 'margin')} moved" if moved else ""
    if not changes:
        return ["claims: none in either run"]
    width = max(len("claim"), *(len(c.id) for c in changes))
    sides = max(len("A"), *(len(c.side(w)) for c in changes for w in ("a", "b")))
    lines = [head, f"    {'claim':{width}}  {'A':{sides}}  {'B':{sides}}  change"]
    for c in changes:
        mark = "*" if c.changed else " "
        lines.append(
            f"  {mark} {c.id:{width}}  {c.side('a'):{sides}}  {c.side('b'):{sides}}  {c.text()}"
        )
    return lines


def _cells_text(cells: list[CellDiff]) -> list[str]:
    states = [cell.state for cell in cells]
    words = (
        ("identical", "identical"),
        ("differs", "differ"),
        ("only in A",) * 2,
        ("only in B",) * 2,
    )
    parts = [f"{states.count(s)} {word}" for s, word in words if states.count(s)]
    lines = [f"cells (matched by optimizer, sweep point, seed): {', '.join(parts) or 'none'}"]
    shown = [cell for cell in cells if cell.state != "identical"]
    for cell in shown[:TEXT_CELLS]:
        lines += [f"  {line}" for line in cell.text()]
    if len(shown) > TEXT_CELLS:
        lines.append(f"  (+{len(shown) - TEXT_CELLS} more; --json lists every cell)")
    return lines


def _info(run_dir: Path, manifest: dict[str, Any], env: dict[str, Any]) -> RunInfo:
    return RunInfo(
        path=str(run_dir),
        run_id=str(manifest.get("run_id") or run_dir.name),
        spec_name=manifest.get("spec_name"),
        profile=manifest.get("profile"),
        created=manifest.get("created"),
        commit=(env.get("git") or {}).get("commit"),
    )


def _run_facts(manifest: dict[str, Any], env: dict[str, Any]) -> dict[str, Any]:
    """What ``run`` compares: the manifest's profile, overrides and version, whether the claims
    came from an edited spec, and env.json's commit, machine and packages."""
    facts: dict[str, Any] = {
        "spec_name": manifest.get("spec_name"),
        "profile": manifest.get("profile"),
        "overrides": manifest.get("overrides") or [],
        "pgdlab_version": manifest.get("pgdlab_version"),
        "judged_with": manifest.get("judged_with"),
    }
    facts.update({key: env[key] for key in ENV_KEYS if key in env})
    return facts


def _load_side(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    manifest = store.read_json(run_dir / "manifest.json")
    env_path = run_dir / "env.json"
    env = store.read_json(env_path) if env_path.exists() else {}
    return manifest, env


def _hashes(manifest: dict[str, Any]) -> dict[str, str]:
    return {c["cell_id"]: c["hash"] for c in manifest.get("cells", []) if c.get("hash")}


def diff_runs(run_a: Path, run_b: Path, *, cells: bool = True) -> RunDiff:
    """Compare two run directories (see the module docstring); ``cells=False`` skips reading
    the cells' metrics (``--claims-only``)."""
    run_a, run_b = Path(run_a), Path(run_b)
    manifest_a, env_a = _load_side(run_a)
    manifest_b, env_b = _load_side(run_b)
    cell_diffs = None
    if cells:
        cell_diffs = compare_cells(
            store.load_cells(run_a, manifest_a),
            store.load_cells(run_b, manifest_b),
            (_hashes(manifest_a), _hashes(manifest_b)),
        )
    return RunDiff(
        a=_info(run_a, manifest_a, env_a),
        b=_info(run_b, manifest_b, env_b),
        claims=claim_changes(store.read_claims(run_a), store.read_claims(run_b)),
        cells=cell_diffs,
        spec=value_changes(
            _read_yaml(run_a / "spec.resolved.yaml"), _read_yaml(run_b / "spec.resolved.yaml")
        ),
        run=value_changes(_run_facts(manifest_a, env_a), _run_facts(manifest_b, env_b)),
    )


__all__ = [
    "PREVIOUS_CLAIMS",
    "CellDiff",
    "ClaimChange",
    "MetricDiff",
    "RunDiff",
    "ValueChange",
    "changes_line",
    "claim_changes",
    "compare_cells",
    "diff_runs",
    "judged_again_lines",
    "keep_previous_claims",
    "read_previous_claims",
    "value_changes",
]
