"""What a run produces, in memory: one :class:`CellResult` per cell, one :class:`ClaimResult` per
claim. The store (:mod:`runner.store`) writes and reads them; observables and claims
(:mod:`runner.kinds.observables`, :mod:`runner.kinds.claims`) read cells; the report renders
both.

Metric series
-------------
A cell records

* evaluation metrics at ``eval_steps`` (step 0 included): ``metrics[name]`` of shape ``(E,)`` or
  ``(E, G)`` with group labels ``groups[name]`` (e.g. FFT modes ``"0" .. "10"``);
* per-step training records ``records[name]`` of shape ``(S,)`` for steps ``0 .. S-1``:
  ``"loss"`` (the training loss before each step's update) and the optimizer info
  (``"lm/damping"``, ``"search/step_size"``, ...).

:meth:`CellResult.series` reads either kind by name: ``"loss"`` and ``"train/<record>"`` are
per-step records, every other name is an evaluation metric.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from runner.text import one_of

CellStatus = Literal["finished", "diverged", "error", "missing"]
Verdict = Literal["PASS", "FAIL", "INCONCLUSIVE", "ERROR"]


@dataclass
class Series:
    """A metric over steps: ``values[t, g]`` at ``steps[t]`` for group ``labels[g]``."""

    steps: np.ndarray  # (T,)
    values: np.ndarray  # (T, G)
    labels: list[str]

    def group(self, label: str) -> np.ndarray:
        return self.values[:, self.labels.index(label)]


@dataclass
class CellResult:
    """One trained cell: what it was (identity) and what it measured."""

    cell_id: str
    optimizer: str
    seed: int
    point: dict[str, Any]  # sweep values by dotted key, e.g. {"model.alpha": 2.0}
    status: CellStatus
    eval_steps: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    metrics: dict[str, np.ndarray] = field(default_factory=dict)
    groups: dict[str, list[str]] = field(default_factory=dict)
    records: dict[str, np.ndarray] = field(default_factory=dict)
    diverged_at: int | None = None
    error: str | None = None
    wall_seconds: float = 0.0
    steps_done: int = 0

    def selector(self) -> dict[str, Any]:
        """The values a claim's ``where`` can match: optimizer, seed and every sweep key."""
        return {"optimizer": self.optimizer, "seed": self.seed, **self.point}

    def matches(self, where: dict[str, Any]) -> bool:
        """Every key of ``where`` equals the cell's value, or is one of ``{in: [...]}``."""
        values = self.selector()
        return all(key in values and _selects(want, values[key]) for key, want in where.items())

    def has_series(self, name: str) -> bool:
        if name == "loss" or name.startswith("train/"):
            return _record_name(name) in self.records
        return name in self.metrics

    def series(self, name: str) -> Series:
        """The named metric as a :class:`Series` (KeyError if the cell did not record it)."""
        if name == "loss" or name.startswith("train/"):
            values = np.asarray(self.records[_record_name(name)], dtype=float)
            steps = np.arange(values.shape[0])
            labels = [""]
            return Series(steps, values.reshape(-1, 1), labels)
        values = np.asarray(self.metrics[name], dtype=float)
        if values.ndim == 1:
            values = values[:, None]
        labels = self.groups.get(name) or [str(i) for i in range(values.shape[1])]
        if values.shape[1] == 1 and name not in self.groups:
            labels = [""]
        return Series(np.asarray(self.eval_steps), values, list(labels))


def _record_name(name: str) -> str:
    return "loss" if name == "loss" else name.removeprefix("train/")


def _selects(want: Any, value: Any) -> bool:
    choices = one_of(want)
    if choices is not None:
        return any(same_value(value, choice) for choice in choices)
    return same_value(value, want)


def same_value(a: Any, b: Any) -> bool:
    """Equality as a ``where`` reads it: numbers to a relative 1e-9 (``2`` selects ``2.0``),
    anything else with ``==``."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=0.0)
    return bool(a == b)


@dataclass
class Evidence:
    """One row of a claim's evidence table: a cell (or an aggregate) and its numbers."""

    label: str  # e.g. "gn s0", "median over 3 seeds"
    values: dict[str, Any]
    cell_id: str | None = None
    passed: bool | None = None


@dataclass
class ClaimResult:
    """The judgement of one claim.

    ``verdict`` is what the data say about the claim as stated; ``holds`` says whether that is
    what the spec expected (a negative control, ``expected: fail``, holds when its verdict is
    FAIL). ``margin`` is signed, positive when the claim's condition is met with room to spare,
    in one unit for every kind: the relative distance of the claim's decisive number to its bound
    (:mod:`runner.kinds.claims.margins`). ``noise`` is how far that margin moves between seeds
    (plus the observable's numerical error), in the same unit; None when unknown (one seed).
    ``fragile``: the verdict is PASS or FAIL and ``|margin| <= noise`` (another seed may flip
    it); ``fragile_reason`` says so in words (``margin 0.004 inside noise 0.012``). A
    ``claims.json`` written before these three fields loads with ``None``, ``False``, ``None``.
    ``figure`` tells the report what to
    draw: ``{"series": {...}, "groups": {...}}`` (either may be absent; the contract is written
    at the top of :mod:`runner.kinds.claims`). After a JSON round trip non-finite numbers are the
    strings ``"nan"``, ``"inf"``, ``"-inf"``.
    """

    id: str
    kind: str
    verdict: Verdict
    expected: Literal["pass", "fail"]
    expected_sentence: str
    observed_sentence: str
    statement: str | None = None
    observed: dict[str, Any] = field(default_factory=dict)
    margin: float | None = None
    evidence: list[Evidence] = field(default_factory=list)
    cells: list[str] = field(default_factory=list)
    figure: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None  # for INCONCLUSIVE / ERROR
    noise: float | None = None
    fragile: bool = False
    fragile_reason: str | None = None

    @property
    def holds(self) -> bool:
        if self.verdict in ("INCONCLUSIVE", "ERROR"):
            return False
        return (self.verdict == "PASS") == (self.expected == "pass")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["holds"] = self.holds
        return _jsonable(data)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClaimResult:
        data = dict(data)
        data.pop("holds", None)
        data["evidence"] = [Evidence(**row) for row in data.get("evidence", [])]
        return cls(**data)


def _jsonable(value: Any) -> Any:
    """Plain JSON types: numpy scalars and arrays become Python numbers and lists; NaN/inf become
    the strings "nan", "inf", "-inf" (JSON has no literal for them)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


jsonable = _jsonable


@dataclass
class RunView:
    """Everything the report needs about one run directory.

    ``manifest`` (``manifest.json``): ``run_id``, ``spec_name``, ``spec_path``, ``spec_hash``,
    ``profile``, ``overrides`` (list of ``key=value``), ``command`` (the exact command line that
    reproduces the run), ``created`` / ``finished`` (ISO UTC), ``status`` (``finished`` |
    ``interrupted`` | ``error``), ``engine``, ``jobs``, ``pgdlab_version`` and ``cells``: one dict
    per cell with ``cell_id``, ``optimizer``, ``seed``, ``point``, ``hash``, ``status``,
    ``wall_seconds``, ``compile_seconds`` and ``eval_seconds`` (where the cell recorded
    timings), ``steps_done``, ``diverged_at``, ``error``.

    ``env`` (``env.json``): ``git`` (``commit``, ``dirty``), ``packages`` (name -> version),
    ``python``, ``platform``, ``machine`` (``processor``, ``cpus``; runs before 2026-11-30
    lack it), ``jax_devices`` (list of str), ``threads`` (dict), ``data_sources``.
    """

    spec: Any  # runner.spec.Spec, validated with the run's profile and overrides applied
    spec_text: str  # the spec file verbatim
    resolved_text: str  # the resolved spec as YAML
    manifest: dict[str, Any]
    env: dict[str, Any]
    cells: list[CellResult]
    claims: list[ClaimResult]
    robustness: dict[str, Any] | None = None  # claims.json "robustness" (--check-robustness)

    @classmethod
    def of(cls, loaded: Any, **parts: Any) -> RunView:
        """The view of a run whose spec was loaded as ``loaded`` (a
        :class:`runner.load.LoadedSpec`: the spec, its text and the resolved mapping); ``parts``
        are the other fields."""
        from runner.store import dump_yaml

        return cls(
            spec=loaded.spec,
            spec_text=loaded.text,
            resolved_text=dump_yaml(loaded.resolved),
            **parts,
        )
