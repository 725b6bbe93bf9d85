"""The metrics of a run as one tidy table: a row per (cell, metric, step, group) and its value.

This is the one code path behind :meth:`runner.api.Run.metrics` (a pandas DataFrame, or a list
of records) and ``runner export RUN_DIR --csv`` (:func:`write_csv`, the csv module only).

Columns, in this order: ``cell`` (the cell id), ``optimizer``, one column per sweep key (dotted
as in the spec, e.g. ``model.alpha``; the union over the cells, in the order first seen),
``seed``, ``step``, ``metric``, ``group``, ``value``.

* ``metric`` is named as a spec's figures name it (:meth:`runner.results.CellResult.series`):
  an evaluation metric by its key (``fft_error``, ``mse``), recorded at the evaluation steps;
  the per-step training records as ``loss`` and ``train/<record>`` (``train/lm/damping``),
  recorded at every step ``0 .. steps-1``. Without ``names`` the table holds every evaluation
  metric (the spec's ``metrics:``); the per-step records, ten times longer or more, only when
  named.
* ``group`` is the group label of a grouped metric (``"0" .. "10"`` for the FFT modes of
  ``fft_error``), and the empty string ``""`` for an ungrouped one: a string in every row, so
  that a pandas ``groupby`` keeps the ungrouped rows (it drops missing keys) and the CSV has no
  special value.
* ``value`` is a float (a bool or integer record as 1.0 / 0.0 / n); NaN stays NaN.

Cells without results (errored, never finished) have no rows. ``where`` selects cells as a
claim's ``where`` does (:meth:`runner.results.CellResult.matches`).
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from runner.results import CellResult

#: the columns before the sweep keys and after them
LEADING = ("cell", "optimizer")
TRAILING = ("seed", "step", "metric", "group", "value")


class TableError(ValueError):
    """A metric name or a ``where`` key that the run does not have (the message lists the valid
    ones); ``runner export`` exits 4 on it."""


@dataclass
class MetricTable:
    """The tidy table: ``columns`` and one tuple per row, in that order."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        """One dict per row, keyed by column."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def metric_names(cells: Iterable[CellResult]) -> list[str]:
    """Every name :func:`metric_table` accepts: the evaluation metrics, then ``loss`` and the
    other per-step records as ``train/<record>``, each once, in the order first seen."""
    evaluated: dict[str, None] = {}
    recorded: dict[str, None] = {}
    for cell in cells:
        evaluated.update(dict.fromkeys(cell.metrics))
        recorded.update(dict.fromkeys(_record_series_name(name) for name in cell.records))
    return [*evaluated, *recorded]


def _record_series_name(record: str) -> str:
    return "loss" if record == "loss" else f"train/{record}"


def sweep_keys(cells: Iterable[CellResult]) -> list[str]:
    """The sweep keys of the cells (dotted), each once, in the order first seen."""
    keys: dict[str, None] = {}
    for cell in cells:
        keys.update(dict.fromkeys(cell.point))
    return list(keys)


def select_cells(cells: Sequence[CellResult], where: Mapping[str, Any] | None) -> list[CellResult]:
    """The cells ``where`` selects; a key no cell has raises :class:`TableError`."""
    if not where:
        return list(cells)
    known = {"optimizer": None, "seed": None, **dict.fromkeys(sweep_keys(cells))}
    unknown = [key for key in where if key not in known]
    if unknown:
        raise TableError(
            f"where: unknown key(s) {', '.join(map(repr, unknown))}; "
            f"a cell is selected by {', '.join(known)}"
        )
    return [cell for cell in cells if cell.matches(dict(where))]


def metric_table(
    cells: Sequence[CellResult],
    names: str | Iterable[str] | None = None,
    where: Mapping[str, Any] | None = None,
) -> MetricTable:
    """The tidy table of ``cells`` (see the module docstring): the metrics ``names`` (a name or
    several; None: every evaluation metric) of the cells ``where`` selects. A name that no cell
    recorded raises :class:`TableError`."""
    available = metric_names(cells)
    if names is None:
        wanted = [name for name in available if not _is_record(name)]
    else:
        wanted = [names] if isinstance(names, str) else list(dict.fromkeys(names))
        unknown = [name for name in wanted if name not in available]
        if unknown:
            raise TableError(
                f"unknown metric(s) {', '.join(map(repr, unknown))}; this run has "
                f"{', '.join(available) or 'no metrics'}"
            )
    keys = sweep_keys(cells)
    rows: list[tuple[Any, ...]] = []
    for cell in select_cells(cells, where):
        identity = (cell.cell_id, cell.optimizer, *(cell.point.get(key) for key in keys))
        for name in wanted:
            if not cell.has_series(name):
                continue
            series = cell.series(name)
            for step, values in zip(series.steps.tolist(), series.values.tolist(), strict=True):
                for label, value in zip(series.labels, values, strict=True):
                    rows.append((*identity, cell.seed, int(step), name, label, float(value)))
    return MetricTable([*LEADING, *keys, *TRAILING], rows)


def _is_record(name: str) -> bool:
    return name == "loss" or name.startswith("train/")


def write_csv(table: MetricTable, handle: TextIO) -> None:
    """The table as CSV with a header line (``\\n`` line ends). Floats are written exactly
    (Python's shortest round-trip form, ``nan``, ``inf``); a swept mapping or list (a whole
    task swept, say) as JSON; None as an empty field."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_csv_field(value) for value in row])


def _csv_field(value: Any) -> Any:
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, sort_keys=True, default=str)
    return value  # the csv module writes a float as repr() does (exact), None as ""


def run_table(run_dir: Path, names: str | Iterable[str] | None = None) -> MetricTable:
    """The table of a run directory's stored cells (its spec is not read: an old run whose
    spec no longer validates exports all the same)."""
    from runner import store

    manifest = store.read_json(run_dir / "manifest.json")
    return metric_table(store.load_cells(run_dir, manifest), names)


def csv_text(table: MetricTable) -> str:
    """:func:`write_csv` into a string."""
    buffer = io.StringIO()
    write_csv(table, buffer)
    return buffer.getvalue()


def export_csv(table: MetricTable, target: str | Path) -> None:
    """``runner export --csv``: the CSV to ``target`` (atomically) or, for ``"-"``, to stdout
    (a reader that stops early, as ``| head`` does, ends the output quietly)."""
    from runner import store

    text = csv_text(table)
    if str(target) != "-":
        store.atomic_write_text(Path(target), text)
        return
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python would report the pipe again when it flushes stdout at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
